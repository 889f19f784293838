"""Command line of an ingest group process: several cameras in one process (``ingest.group``).

The process starts with no camera; its supervisor (``ingest.groups``) sends
``add``/``remove`` commands on stdin (``ingest.control``), one JSON object a
line, so stream URLs are on no command line and in no environment. The end of
stdin, SIGTERM or SIGINT stop it with status 0, every open segment closed; a refused
configuration (no bus URL, bad options) ends it with status 2
(``ingest.supervisor.CONFIG_REFUSED``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

from pydantic import ValidationError

from safecity.bus.errors import BusError
from safecity.bus.interface import Bus
from safecity.core.logging import configure_logging, scrub_credentials
from safecity.ingest import control
from safecity.ingest.group import GroupOptions, IngestGroup, WorkerFactory
from safecity.ingest.worker import BUS_URL_ENV, IngestWorker, IngestWorkerConfig

logger = logging.getLogger(__name__)

# Each camera keeps a thread of the default pool waiting for its next sampled frame (image
# checks); the default pool (cores + 4) would make cameras wait for each other.
_THREADS = 64


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m safecity.ingest --group NAME",
        description="Record a group of cameras and report their health. Cameras are added and "
        "removed by commands on stdin, one JSON object a line "
        '({"op": "add", "camera_id": ..., "stream_url": ..., "recording_mode": ...} or '
        '{"op": "remove", "camera_id": ...}); the end of stdin stops the process.',
    )
    parser.add_argument("--group", required=True, help="name of this group (logs, bus)")
    parser.add_argument("--media-root", required=True, type=Path)
    parser.add_argument("--bus-url", default=os.environ.get(BUS_URL_ENV), help=f"or ${BUS_URL_ENV}")
    parser.add_argument("--segment-seconds", type=float, default=10.0)
    parser.add_argument("--health-interval", type=float, default=5.0)
    parser.add_argument(
        "--no-image-checks", action="store_true", help="skip frozen/black/covered/... checks"
    )
    parser.add_argument("--log-level", default="INFO")
    return parser


def worker_factory(*, image_checks: bool) -> WorkerFactory:
    """Builds each camera's worker, with the image checks unless told otherwise."""

    def build(config: IngestWorkerConfig, bus: Bus) -> IngestWorker:
        checks = None
        if image_checks:
            from safecity.ingest.image_checks import image_health_check

            checks = {"image": image_health_check(config.camera_id)}
        return IngestWorker(config, bus, frame_checks=checks)

    return build


def follow_commands(
    source: BinaryIO, group: IngestGroup, loop: asyncio.AbstractEventLoop, stop: asyncio.Event
) -> None:
    """Apply the supervisor's commands as they come; the end of the input stops the group."""
    for line in control.command_lines(source):
        if not line.strip():
            continue
        try:
            command = control.decode(line)
        except ValidationError as exc:
            logger.error("command refused: %s", control.refusal(exc))
            continue
        try:
            asyncio.run_coroutine_threadsafe(group.apply(command), loop).result()
        except RuntimeError:
            return  # the loop is gone: the process is stopping
        except Exception as exc:  # one camera that cannot start must not end the group
            logger.error("camera %s: %s", command.camera_id, scrub_credentials(str(exc))[:300])
    with contextlib.suppress(RuntimeError):  # the loop already ended
        loop.call_soon_threadsafe(stop.set)


async def _serve(args: argparse.Namespace, source: BinaryIO) -> None:
    from safecity.bus.nats import NatsBus

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(_THREADS, thread_name_prefix="ingest"))
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    bus = await NatsBus.connect(args.bus_url, name=f"ingest-{args.group}")
    group = IngestGroup(
        bus,
        GroupOptions(
            media_root=args.media_root,
            segment_seconds=args.segment_seconds,
            health_interval_seconds=args.health_interval,
        ),
        worker_factory(image_checks=not args.no_image_checks),
    )
    commands = threading.Thread(
        target=follow_commands, args=(source, group, loop, stop), name="commands", daemon=True
    )
    try:
        commands.start()
        await group.run(stop)
    finally:
        await bus.close()


def main(argv: Sequence[str] | None = None, source: BinaryIO | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(args.log_level)
    if not args.bus_url:
        logger.error("no bus URL: pass --bus-url or set %s", BUS_URL_ENV)
        return 2
    try:
        asyncio.run(_serve(args, source or sys.stdin.buffer))
    except BusError as exc:
        logger.error("group %s: %s", args.group, scrub_credentials(str(exc)))
        return 1
    except KeyboardInterrupt:
        # SIGINT before the event loop took the signal over (still connecting to the bus).
        logger.info("group %s: stopped before it started", args.group)
    return 0
