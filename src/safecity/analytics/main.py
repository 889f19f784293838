"""Command line of an analytics worker process: a group of cameras (see ``analytics.worker``).

The process starts with no camera; its supervisor sends ``add``/``remove``
commands on stdin (``analytics.control``), one JSON object per line. The end
of stdin, SIGTERM or SIGINT stop it with status 0. A configuration it refuses (a bad
option, or a plate-rules file missing or broken) ends it with status 2 before it connects
(``ingest.supervisor.CONFIG_REFUSED``: the supervisor then logs why and waits long before
trying again); a lost bus ends it with 1.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal

from pydantic import ValidationError

from safecity.analytics import control
from safecity.analytics.plate_reading import FuseReads, PlateReaderLike
from safecity.analytics.worker import AnalyticsGroup, GroupOptions, StreamOptions
from safecity.bus.errors import BusError
from safecity.core.errors import ConfigError
from safecity.core.logging import configure_logging, scrub_credentials
from safecity.ingest.control import command_lines

if TYPE_CHECKING:
    from safecity.vision.plates.rules import FormatRules

logger = logging.getLogger(__name__)

BUS_URL_ENV = "SAFECITY_BUS_URL"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m safecity.analytics",
        description="Analyse a group of cameras: motion, detection, tracking, rules, plates. "
        "Cameras are added and removed by commands on stdin, one JSON object a line "
        '({"op": "add", "config": ..., "stream_url": ...} or {"op": "remove", "camera_id": ...}); '
        "the end of stdin stops the process.",
    )
    parser.add_argument("--group", default="analytics", help="name of this group (logs, bus)")
    parser.add_argument("--media-root", required=True, type=Path)
    parser.add_argument("--bus-url", default=os.environ.get(BUS_URL_ENV), help=f"or ${BUS_URL_ENV}")
    parser.add_argument("--models-dir", type=Path, help="folder of detector manifests")
    parser.add_argument("--stats-interval", type=float, default=5.0)
    parser.add_argument(
        "--plate-queue",
        type=int,
        default=8,
        help="plate jobs waiting for the group's one reader; beyond it the oldest is dropped",
    )
    parser.add_argument("--plate-threads", type=int, default=1, help="ONNX Runtime threads")
    parser.add_argument(
        "--plate-locator",
        choices=("off", "first", "only"),
        default="first",
        help="vehicle regions through the own plate locator and plate model first (first), "
        "or through nothing else (only); see safecity.vision.plates.located",
    )
    parser.add_argument(
        "--plate-rules",
        default="pk",
        help="plate format rule set: built in (pk, us, br) or, with --plate-rules-file, "
        "a set of that file",
    )
    parser.add_argument(
        "--plate-rules-file", type=Path, help="YAML catalogue of plate format rule sets"
    )
    parser.add_argument(
        "--plate-unsmear",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="where located plates read as nothing, undo a motion smear and read again "
        "(vision/plates/unsmear.py; with --plate-locator first or only, ignored with off)",
    )
    parser.add_argument("--log-level", default="INFO")
    return parser


def plate_rules(name: str, path: Path | None = None) -> FormatRules | None:
    """The plate format rules ``name`` (built in, or from the catalogue at ``path``) when
    ``safecity.vision.plates`` is installed, else None; raises ConfigError for an unknown
    name or a bad file."""
    try:
        from safecity.vision.plates.rules import FormatRules
    except ImportError:
        return None
    return FormatRules.load(name, path)


def plate_reader(
    threads: int = 1,
    locator: Literal["off", "first", "only"] = "first",
    rules: FormatRules | None = None,
    *,
    unsmear: bool = True,
) -> tuple[PlateReaderLike | None, FuseReads | None]:
    """The ANPR reader when ``safecity.vision.plates`` is installed, else (None, None).

    ``locator`` ("off", "first" or "only"): how vehicle regions use the own plate locator
    (``PlateReader(locator=...)``); the own plate model reads what it locates. ``rules``:
    the format rules reads are validated against (:func:`plate_rules`); None: Pakistan's.
    ``unsmear``: located plates that read as nothing are unsmeared and read again
    (``PlateReader(unsmear=...)``; there is nothing to unsmear with the locator off)."""
    try:
        from safecity.vision import plates  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return None, None
    # Few ONNX Runtime threads: several worker processes share the cores, and each one's
    # default pool (a thread per core) would oversubscribe them many times over.
    if locator not in ("off", "first", "only"):
        raise ValueError(f"locator must be off, first or only, got {locator!r}")
    reader = plates.PlateReader(
        rules=rules if rules is not None else plates.FormatRules.default(),
        threads=threads,
        locator=locator,
        unsmear=unsmear and locator != "off",
    )
    return reader, plates.fuse_reads


def worker_plate_reader(
    args: argparse.Namespace, rules: FormatRules | None
) -> tuple[PlateReaderLike | None, FuseReads | None]:
    """The plate reader of a worker started with the command line ``args`` (its
    ``--plate-*`` options) and the format rules checked at its start."""
    return plate_reader(args.plate_threads, args.plate_locator, rules, unsmear=args.plate_unsmear)


def _follow_commands(
    source: BinaryIO, group: AnalyticsGroup, loop: asyncio.AbstractEventLoop, stop: asyncio.Event
) -> None:
    """Apply the supervisor's commands as they come; the end of the input stops the group."""
    for line in command_lines(source):
        if not line.strip():
            continue
        try:
            command = control.decode(line)
        except ValidationError as exc:
            # The line may hold a stream URL: name only what was wrong, never the input.
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            logger.error("group %s: command refused: %s", group_name(group), problems[:300])
            continue
        try:
            if isinstance(command, control.AddCamera):
                group.add(command.config, StreamOptions(command.stream_url.get_secret_value()))
            else:
                group.remove(command.camera_id)
        except Exception as exc:  # one camera that cannot start must not end the group
            logger.error("group %s: %s", group_name(group), scrub_credentials(str(exc))[:300])
    loop.call_soon_threadsafe(stop.set)


def group_name(group: AnalyticsGroup) -> str:
    return ",".join(group.camera_ids()) or "(empty)"


async def _serve(args: argparse.Namespace, source: BinaryIO, rules: FormatRules | None) -> None:
    from safecity.bus.nats import NatsBus

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    bus = await NatsBus.connect(args.bus_url, name=f"analytics-{args.group}")
    group = AnalyticsGroup(
        args.media_root,
        bus,
        GroupOptions(
            models_dir=args.models_dir,
            stats_interval_seconds=args.stats_interval,
            plate_queue_size=args.plate_queue,
        ),
        plate_reader=lambda: worker_plate_reader(args, rules),
    )
    commands = threading.Thread(
        target=_follow_commands, args=(source, group, loop, stop), name="commands", daemon=True
    )
    try:
        running = asyncio.create_task(group.run(stop))
        await asyncio.sleep(0)  # the group holds the loop before the first command arrives
        commands.start()
        await running
    finally:
        await bus.close()


def main(argv: Sequence[str] | None = None, source: BinaryIO | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(args.log_level)
    if not args.bus_url:
        logger.error("no bus URL: pass --bus-url or set %s", BUS_URL_ENV)
        return 2
    if args.plate_queue < 1:
        logger.error("--plate-queue must be at least 1")
        return 2
    try:
        # Checked before the first camera arrives: a bad rule set refuses the start.
        rules = plate_rules(args.plate_rules, args.plate_rules_file)
    except ConfigError as exc:
        logger.error("plate format rules: %s", exc.message)
        return 2
    try:
        asyncio.run(_serve(args, source or sys.stdin.buffer, rules))
    except BusError as exc:
        logger.error("group %s: %s", args.group, scrub_credentials(str(exc)))
        return 1
    except KeyboardInterrupt:
        # SIGINT before the event loop took the signal over (still connecting to the bus).
        logger.info("group %s: stopped before it started", args.group)
    return 0
