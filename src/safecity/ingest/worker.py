"""The ingest worker of one camera: read the stream, record it, report its health on the bus.

A supervisor runs one per camera, as a process::

    SAFECITY_STREAM_URL='rtsp://user:pw@10.0.0.7/stream1' \\
    python -m safecity.ingest --camera-id PSH-0001 --media-root /srv/media \\
        --bus-url nats://127.0.0.1:4223

``--recording-mode events`` records only around events: motion seen in the
sampled frames, or a ``RuleEvent`` of this camera on the bus (see
``recorder.py`` for the pre-roll and post-roll). The flag is only the mode to
start with: a change in the registry arrives as ``RecordingModeChanged`` and the
running worker follows it. Both messages travel on this camera's own subject
(``subscribe(key=camera_id)``), so a worker never sees other cameras' traffic.

The stream URL comes from the environment (readable only by the process's
owner), never from the command line, which every local user can list. The
worker speaks only bus contracts (``SegmentClosed``, ``CameraHealth``) and
never opens the database.

In-process (tests, an embedded supervisor) build ``IngestWorker(config, bus)``
and ``await worker.run(stop_event)``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from safecity.bus.errors import BusError
from safecity.bus.interface import Bus, M, Subscription
from safecity.contracts.analytics import RuleEvent
from safecity.contracts.ingest import (
    CAMERA_ID_PATTERN,
    CameraHealth,
    RecordingMode,
    RecordingModeChanged,
    SegmentClosed,
)
from safecity.core.logging import configure_logging, scrub_credentials
from safecity.ingest.backoff import Backoff
from safecity.ingest.health import FrameCheck, HealthMonitor
from safecity.ingest.motion import MotionDetector
from safecity.ingest.reader import CameraReader, DecodeMode, ReaderOptions
from safecity.ingest.recorder import SegmentRecorder
from safecity.ingest.salvage import salvage_partial_segments
from safecity.ingest.source import SourceKind, source_kind

logger = logging.getLogger(__name__)

STREAM_URL_ENV = "SAFECITY_STREAM_URL"
BUS_URL_ENV = "SAFECITY_BUS_URL"
_FRAME_WAIT_SECONDS = 0.5
_DRAIN_SECONDS = 10.0


class IngestWorkerConfig(BaseModel):
    """What one camera's ingest worker needs; the stream URL is a secret."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    camera_id: str = Field(
        pattern=CAMERA_ID_PATTERN, description="Camera code; also its recording folder's name."
    )
    stream_url: SecretStr = Field(
        description="rtsp(s)://, http(s):// or a file; may hold credentials, never shown."
    )
    media_root: Path = Field(description="Folder under which every camera's recordings live.")
    record: bool = Field(default=True, description="Record the stream into segments.")
    recording_mode: RecordingMode = Field(
        default="continuous",
        description="continuous, events (around motion and rule events) or off.",
    )
    pre_roll_seconds: float = Field(
        default=5.0, ge=0, le=60, description="Events mode: footage kept from before an event."
    )
    post_roll_seconds: float = Field(
        default=10.0, ge=0, le=600, description="Events mode: footage kept after an event."
    )
    segment_seconds: float = Field(
        default=10.0, gt=0, le=3600, description="Target length of a recording segment."
    )
    health_interval_seconds: float = Field(
        default=5.0, gt=0, le=3600, description="How often a CameraHealth report is published."
    )
    check_decode: DecodeMode = Field(
        default=DecodeMode.KEY_FRAMES,
        description="Frames decoded for image checks, when any are given (key frames are cheap).",
    )
    check_fps: float | None = Field(
        default=1.0,
        gt=0,
        description="Events mode: at most this many frames a second go to motion and image "
        "checks (motion starts a recording).",
    )
    health_check_fps: float | None = Field(
        default=0.25,
        gt=0,
        description="Other modes: frames a second for image checks alone. Problems are "
        "raised after 10-30 s of bad samples, and a 720p key frame costs tens of ms to decode.",
    )
    open_timeout_seconds: float = Field(default=5.0, gt=0, description="Limit for opening.")
    read_timeout_seconds: float = Field(
        default=5.0, gt=0, description="No packet for this long counts as a lost stream."
    )
    backoff_cap_seconds: float = Field(
        default=3.0, gt=0, description="Longest wait between reconnection attempts."
    )

    @field_validator("stream_url")
    @classmethod
    def _supported_source(cls, value: SecretStr) -> SecretStr:
        source_kind(value.get_secret_value())  # raises naming only the scheme
        return value


class IngestWorker:
    """Records and health-checks one camera until the stop event is set."""

    def __init__(
        self,
        config: IngestWorkerConfig,
        bus: Bus,
        *,
        frame_checks: Mapping[str, FrameCheck] | None = None,
    ) -> None:
        self._config = config
        self._bus = bus
        self._closed: asyncio.Queue[SegmentClosed] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        url = config.stream_url.get_secret_value()
        # A file plays at its own frame rate, in a loop, as a camera would.
        is_file = source_kind(url) is SourceKind.FILE
        self._recorder = (
            SegmentRecorder(
                config.camera_id,
                config.media_root,
                segment_seconds=config.segment_seconds,
                on_closed=self._segment_closed,
                mode=config.recording_mode,
                pre_roll_seconds=config.pre_roll_seconds,
                post_roll_seconds=config.post_roll_seconds,
            )
            if config.record
            else None
        )
        self._monitor = HealthMonitor(config.camera_id, checks=frame_checks)
        # Kept even when not in events mode: the mode may change while running.
        self._motion = MotionDetector() if self._recorder is not None else None
        self._subscriptions: list[Subscription] = []
        self._mode_version = 0
        self._reading = False
        self._reader = CameraReader(
            config.camera_id,
            url,
            ReaderOptions(
                decode=self._decode_for(config.recording_mode),
                target_fps=self._check_fps_for(config.recording_mode),
                queue_size=2,
                open_timeout_seconds=config.open_timeout_seconds,
                read_timeout_seconds=config.read_timeout_seconds,
                backoff_cap_seconds=config.backoff_cap_seconds,
                pace_files=is_file,
                reconnect_at_end=True,
            ),
            sinks=[self._recorder] if self._recorder is not None else [],
        )

    def _decode_for(self, mode: RecordingMode) -> DecodeMode:
        # Frames are decoded only for image checks or for motion in events mode.
        wants_frames = self._monitor.has_checks or (self._motion is not None and mode == "events")
        return self._config.check_decode if wants_frames else DecodeMode.NONE

    def _check_fps_for(self, mode: RecordingMode) -> float | None:
        return self._config.check_fps if mode == "events" else self._config.health_check_fps

    @property
    def reader(self) -> CameraReader:
        return self._reader

    @property
    def recorder(self) -> SegmentRecorder | None:
        return self._recorder

    @property
    def reader_died(self) -> bool:
        """The reader's thread ended though nobody stopped it (an error it did not expect)."""
        return self._reading and not self._reader.is_alive()

    def health(self) -> CameraHealth:
        recorder = self._recorder.stats() if self._recorder is not None else None
        return self._monitor.report(self._reader.stats(), recorder)

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        if self._recorder is not None:
            # What a crash of the previous run left open is announced first.
            salvaged = await asyncio.to_thread(
                salvage_partial_segments, self._config.camera_id, self._config.media_root
            )
            for message in salvaged:
                self._closed.put_nowait(message)
        self._reader.start()
        self._reading = True
        tasks = [
            asyncio.create_task(self._publish_segments(), name="publish-segments"),
            asyncio.create_task(self._report_health(stop), name="report-health"),
        ]
        if self._monitor.has_checks or self._motion is not None:
            tasks.append(asyncio.create_task(self._check_frames(stop), name="check-frames"))
        if self._recorder is not None:
            await self._follow_bus()
        try:
            await stop.wait()
        finally:
            for subscription in self._subscriptions:
                await subscription.stop()
            # The reader closes the open segment as it stops; its message is queued.
            self._reading = False
            await asyncio.to_thread(self._reader.stop)
            for task in tasks[1:]:
                task.cancel()
            await asyncio.gather(*tasks[1:], return_exceptions=True)
            await self._drain(tasks[0])
            await self._publish_health()

    # -- segments ---------------------------------------------------------------------------

    def _segment_closed(self, message: SegmentClosed) -> None:
        # Called in the reader's thread: hand the message to the event loop.
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._closed.put_nowait, message)

    async def _publish_segments(self) -> None:
        backoff = Backoff(0.5, 10.0)
        while True:
            message = await self._closed.get()
            while True:
                try:
                    await self._bus.publish(message)
                except BusError as exc:
                    # Never dropped: the segment index depends on it. The message id
                    # is the file's hash, so a retry that did get through is stored once.
                    delay = backoff.next_delay()
                    logger.warning(
                        "camera %s: cannot publish segment %s (%s); retrying in %.1f s",
                        self._config.camera_id,
                        message.path,
                        scrub_credentials(str(exc)),
                        delay,
                    )
                    await asyncio.sleep(delay)
                else:
                    backoff.reset()
                    self._closed.task_done()
                    break

    async def _drain(self, publisher: asyncio.Task[None]) -> None:
        try:
            await asyncio.wait_for(self._closed.join(), timeout=_DRAIN_SECONDS)
        except TimeoutError:
            logger.error(
                "camera %s: %d closed segment(s) not announced on the bus before stopping; "
                "their files are on disk",
                self._config.camera_id,
                self._closed.qsize(),
            )
        publisher.cancel()
        await asyncio.gather(publisher, return_exceptions=True)

    # -- events -----------------------------------------------------------------------------

    async def _follow_bus(self) -> None:
        # Both on this camera's own subjects: other cameras' messages never arrive here.
        await self._follow(RuleEvent, "ingest-events-", self._rule_event)
        await self._follow(RecordingModeChanged, "ingest-mode-", self._mode_changed)

    async def _follow(
        self, model: type[M], prefix: str, handler: Callable[[M], Awaitable[None]]
    ) -> None:
        token = re.sub(r"[^A-Za-z0-9_-]", "_", self._config.camera_id)
        try:
            subscription = await self._bus.subscribe(
                model, durable=(prefix + token)[:64], handler=handler, key=self._config.camera_id
            )
        except BusError as exc:
            # Recording goes on (by motion, in the mode it has) without this subscription.
            logger.warning(
                "camera %s: not following %s (%s)",
                self._config.camera_id,
                model.__name__,
                scrub_credentials(str(exc)),
            )
        else:
            self._subscriptions.append(subscription)

    async def _rule_event(self, event: RuleEvent) -> None:
        recorder = self._recorder
        if event.camera_id != self._config.camera_id or recorder is None:
            return  # a camera code sharing this subject token (see routing_token)
        if recorder.mode == "events":
            recorder.note_event(event.at)

    async def _mode_changed(self, message: RecordingModeChanged) -> None:
        recorder = self._recorder
        if message.camera_id != self._config.camera_id or recorder is None:
            return
        if message.version <= self._mode_version:
            return  # older than a change already applied (a redelivery)
        self._mode_version = message.version
        logger.info(
            "camera %s: recording mode is now %s (registry version %d)",
            self._config.camera_id,
            message.mode,
            message.version,
        )
        self.set_recording_mode(message.mode)

    def set_recording_mode(self, mode: RecordingMode) -> None:
        """Record as ``mode`` says from now on (a worker built to record at all)."""
        if self._recorder is None or self._recorder.mode == mode:
            return
        self._recorder.set_mode(mode)
        self._reader.set_decode(self._decode_for(mode))
        self._reader.set_target_fps(self._check_fps_for(mode))

    # -- health -----------------------------------------------------------------------------

    async def _report_health(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._publish_health()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._config.health_interval_seconds)

    async def _publish_health(self) -> None:
        try:
            await self._bus.publish(self.health())
        except BusError as exc:
            # A report is soon superseded by the next one: log and carry on.
            logger.warning(
                "camera %s: cannot publish health (%s)",
                self._config.camera_id,
                scrub_credentials(str(exc)),
            )

    async def _check_frames(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.to_thread(self._check_next_frame)

    def _check_next_frame(self) -> None:
        frame = self._reader.frames.get(_FRAME_WAIT_SECONDS)
        if frame is None:
            return
        if self._monitor.has_checks:
            self._monitor.check_frame(frame)
        recorder = self._recorder
        if self._motion is None or recorder is None or recorder.mode != "events":
            return
        if self._motion.moved(frame):
            recorder.note_event(frame.received_at)


# -- process entry point ----------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m safecity.ingest",
        description=f"Record one camera and report its health. The stream URL is read from "
        f"${STREAM_URL_ENV} (it may hold a password; the command line is public).",
    )
    parser.add_argument("--camera-id", required=True)
    parser.add_argument("--media-root", required=True, type=Path)
    parser.add_argument("--bus-url", default=os.environ.get(BUS_URL_ENV), help=f"or ${BUS_URL_ENV}")
    parser.add_argument("--segment-seconds", type=float, default=10.0)
    parser.add_argument("--health-interval", type=float, default=5.0)
    parser.add_argument("--no-record", action="store_true", help="health only")
    parser.add_argument(
        "--recording-mode",
        choices=["continuous", "events", "off"],
        default="continuous",
        help="events: only around motion and rule events; off: health only",
    )
    parser.add_argument("--pre-roll", type=float, default=5.0, help="seconds (events mode)")
    parser.add_argument("--post-roll", type=float, default=10.0, help="seconds (events mode)")
    parser.add_argument(
        "--no-image-checks", action="store_true", help="skip frozen/black/covered/... checks"
    )
    parser.add_argument("--log-level", default="INFO")
    return parser


async def _serve(config: IngestWorkerConfig, bus_url: str, *, image_checks: bool) -> None:
    from safecity.bus.nats import NatsBus

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    bus = await NatsBus.connect(bus_url, name=f"ingest-{config.camera_id}")
    try:
        checks = None
        if image_checks:
            from safecity.ingest.image_checks import image_health_check

            checks = {"image": image_health_check(config.camera_id)}
        await IngestWorker(config, bus, frame_checks=checks).run(stop)
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
        config = IngestWorkerConfig(
            camera_id=args.camera_id,
            stream_url=SecretStr(url),
            media_root=args.media_root,
            record=not args.no_record,
            recording_mode=args.recording_mode,
            pre_roll_seconds=args.pre_roll,
            post_roll_seconds=args.post_roll,
            segment_seconds=args.segment_seconds,
            health_interval_seconds=args.health_interval,
        )
    except ValueError as exc:
        logger.error("invalid worker configuration: %s", scrub_credentials(str(exc)))
        return 2
    try:
        asyncio.run(_serve(config, args.bus_url, image_checks=not args.no_image_checks))
    except BusError as exc:
        logger.error("camera %s: %s", config.camera_id, scrub_credentials(str(exc)))
        return 1
    return 0
