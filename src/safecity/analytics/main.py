"""Command line of the analytics worker process (see ``analytics.worker``)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from safecity.analytics.plates import FuseReads, PlateReaderLike
from safecity.analytics.worker import AnalyticsWorker, WorkerOptions
from safecity.bus.errors import BusError
from safecity.contracts.analytics_config import AnalyticsConfigChanged
from safecity.core.logging import configure_logging, scrub_credentials

logger = logging.getLogger(__name__)

STREAM_URL_ENV = "SAFECITY_STREAM_URL"
BUS_URL_ENV = "SAFECITY_BUS_URL"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m safecity.analytics",
        description=f"Analyse one camera: motion, detection, tracking, rules, plates. The "
        f"stream URL is read from ${STREAM_URL_ENV} (the command line is public).",
    )
    parser.add_argument("--media-root", required=True, type=Path)
    parser.add_argument(
        "--config-file",
        required=True,
        type=Path,
        help="AnalyticsConfigChanged as JSON: camera id, version and configuration",
    )
    parser.add_argument("--bus-url", default=os.environ.get(BUS_URL_ENV), help=f"or ${BUS_URL_ENV}")
    parser.add_argument("--models-dir", type=Path, help="folder of detector manifests")
    parser.add_argument("--stats-interval", type=float, default=5.0)
    parser.add_argument("--log-level", default="INFO")
    return parser


def plate_reader() -> tuple[PlateReaderLike | None, FuseReads | None]:
    """The ANPR reader when ``safecity.vision.plates`` is installed, else (None, None)."""
    try:
        from safecity.vision import plates  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return None, None
    # One ONNX Runtime thread: there is one worker process per camera, and each one's
    # default pool (a thread per core) oversubscribes the cores many times over.
    reader = plates.PlateReader(rules=plates.FormatRules.default(), threads=1)
    return reader, plates.fuse_reads


async def _serve(initial: AnalyticsConfigChanged, args: argparse.Namespace, url: str) -> None:
    from safecity.bus.nats import NatsBus

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    bus = await NatsBus.connect(args.bus_url, name=f"analytics-{initial.camera_id}")
    reader, fuse = plate_reader() if initial.config.plates else (None, None)
    try:
        worker = AnalyticsWorker(
            initial,
            args.media_root,
            bus,
            WorkerOptions(
                stream_url=url,
                models_dir=args.models_dir,
                stats_interval_seconds=args.stats_interval,
            ),
            plate_reader=reader,
            fuse=fuse,
        )
        await worker.run(stop)
    finally:
        await bus.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(args.log_level)
    url = os.environ.get(STREAM_URL_ENV, "")
    if not url:
        logger.error("no stream URL: set %s", STREAM_URL_ENV)
        return 2
    if not args.bus_url:
        logger.error("no bus URL: pass --bus-url or set %s", BUS_URL_ENV)
        return 2
    try:
        initial = AnalyticsConfigChanged.model_validate_json(args.config_file.read_bytes())
    except (OSError, ValidationError) as exc:
        logger.error("invalid configuration file %s: %s", args.config_file, exc)
        return 2
    try:
        asyncio.run(_serve(initial, args, url))
    except BusError as exc:
        logger.error("camera %s: %s", initial.camera_id, scrub_credentials(str(exc)))
        return 1
    return 0
