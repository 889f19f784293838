"""The analytics worker of one camera: decode at the analysed rate, run the pipeline, publish.

A supervisor runs one per camera, as a process::

    SAFECITY_STREAM_URL='rtsp://...' python -m safecity.analytics --camera-id PSH-0001 \\
        --media-root /srv/media --bus-url nats://127.0.0.1:4223 --config-file cam.json

The launcher hands over the whole configuration at start (``--config-file``,
an ``AnalyticsConfigChanged`` as JSON); later changes arrive on the bus as
``AnalyticsConfigChanged`` and the newest version wins. The worker never
opens the database. Every ``stats_interval`` it publishes
``AnalyticsWorkerStats`` (per-stage timings, drops), the analytics
counterpart of ingest's ``CameraHealth``.

Decoded frames reach the analysis thread through the reader's bounded
drop-oldest queue (two frames): a camera whose analysis falls behind loses
its oldest frames, counted in ``frames_dropped``, and never holds up others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from safecity.analytics.pipeline import CameraPipeline, PipelineCamera, build_pipeline
from safecity.analytics.plates import FuseReads, PlateReaderLike
from safecity.analytics.timings import StageTimings
from safecity.bus.errors import BusError
from safecity.bus.interface import Bus, Subscription
from safecity.contracts.analytics_config import AnalyticsConfigChanged, AnalyticsWorkerStats
from safecity.contracts.base import Message
from safecity.core.logging import scrub_credentials
from safecity.ingest.reader import CameraReader, DecodeMode, ReaderOptions
from safecity.ingest.source import SourceKind, source_kind
from safecity.vision.detectors import Detector, DetectorUnavailable, ModelError, load_detector

logger = logging.getLogger(__name__)

_FRAME_WAIT_SECONDS = 0.5
_OUTBOX_SIZE = 1000
_PUBLISH_ATTEMPTS = 5


@dataclass(frozen=True)
class WorkerOptions:
    stream_url: str
    models_dir: Path | None = None
    """Folder of detector manifests, ``<name>.yaml``; a config's ``detector`` names one."""
    stats_interval_seconds: float = 5.0
    queue_size: int = 2
    pace_files: bool | None = None
    """Deliver a file at its own frame rate; None: yes for files (a simulated camera)."""
    loop_files: bool = True


def load_named_detector(
    models_dir: Path | None, name: str | None
) -> tuple[Detector | None, str | None]:
    """The detector a configuration names, or None with the reason it is not available."""
    if name is None:
        return None, None
    if models_dir is None:
        return None, f"detector {name!r} configured but no models folder is set"
    try:
        return load_detector(models_dir / f"{name}.yaml"), None
    except (ModelError, DetectorUnavailable) as exc:
        return None, str(exc)[:300]


class AnalyticsWorker:
    """Analyses one camera until the stop event is set."""

    def __init__(
        self,
        initial: AnalyticsConfigChanged,
        media_root: Path,
        bus: Bus,
        options: WorkerOptions,
        *,
        plate_reader: PlateReaderLike | None = None,
        fuse: FuseReads | None = None,
        detector_loader: Callable[[str | None], tuple[Detector | None, str | None]] | None = None,
    ) -> None:
        self._camera_id = initial.camera_id
        self._bus = bus
        self._options = options
        self._plate_reader = plate_reader
        self._fuse = fuse
        self._load = detector_loader or (lambda name: load_named_detector(options.models_dir, name))
        self._timings = StageTimings()
        self._outbox: asyncio.Queue[Message] = asyncio.Queue(_OUTBOX_SIZE)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lost_messages = 0
        self._pending: AnalyticsConfigChanged | None = None
        self._pending_lock = threading.Lock()
        self._stopping = threading.Event()
        self._started = time.monotonic()
        detector, self._detector_error = self._load(initial.config.detector)
        self._pipeline = self._build(initial, media_root, detector)
        url = options.stream_url
        is_file = source_kind(url) is SourceKind.FILE
        self._reader = CameraReader(
            self._camera_id,
            url,
            ReaderOptions(
                decode=DecodeMode.ALL,
                target_fps=initial.config.analysed_fps,
                queue_size=options.queue_size,
                pace_files=is_file if options.pace_files is None else options.pace_files,
                reconnect_at_end=options.loop_files if is_file else None,
            ),
        )

    def _build(
        self, message: AnalyticsConfigChanged, media_root: Path, detector: Detector | None
    ) -> CameraPipeline:
        return build_pipeline(
            PipelineCamera(message.camera_id, media_root, message.config, message.version),
            detector,
            self._plate_reader,
            self._enqueue,
            fuse=self._fuse,
            timings=self._timings,
        )

    @property
    def pipeline(self) -> CameraPipeline:
        return self._pipeline

    @property
    def reader(self) -> CameraReader:
        return self._reader

    def stats(self) -> AnalyticsWorkerStats:
        counters = self._pipeline.counters
        detector = self._pipeline.detector
        return AnalyticsWorkerStats(
            camera_id=self._camera_id,
            config_version=self._pipeline.config_version,
            frames_analysed=counters.frames,
            frames_dropped=self._reader.frames.dropped,
            analysed_fps=round(counters.frames / max(1e-6, time.monotonic() - self._started), 3),
            stage_ms=self._timings.means(),
            events=counters.events,
            plate_reads=counters.plate_reads,
            detector=None if detector is None else detector.name[:120],
            detector_error=self._detector_error,
        )

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._started = time.monotonic()
        subscription = await self._subscribe()
        self._reader.start()
        analysis = threading.Thread(
            target=self._analyse, name=f"analytics-{self._camera_id}", daemon=True
        )
        analysis.start()
        tasks = [
            asyncio.create_task(self._publish_messages(), name="publish"),
            asyncio.create_task(self._report(stop), name="report-stats"),
        ]
        try:
            await stop.wait()
        finally:
            self._stopping.set()
            await asyncio.to_thread(self._reader.stop)
            self._reader.frames.close()
            await asyncio.to_thread(analysis.join, 10)
            self._pipeline.flush()
            if subscription is not None:
                await subscription.stop()
            tasks[1].cancel()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox.join(), 10)
            tasks[0].cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._publish_stats()

    # -- configuration -----------------------------------------------------------------------

    async def _subscribe(self) -> Subscription | None:
        durable = "analytics-" + "".join(
            c if c.isalnum() or c in "-_" else "_" for c in self._camera_id
        )
        try:
            return await self._bus.subscribe(
                AnalyticsConfigChanged, durable=durable[:64], handler=self._config_changed
            )
        except BusError as exc:
            logger.warning("camera %s: no configuration updates: %s", self._camera_id, exc)
            return None

    async def _config_changed(self, message: AnalyticsConfigChanged) -> None:
        if message.camera_id != self._camera_id:
            return
        with self._pending_lock:
            if self._pending is None or message.version > self._pending.version:
                self._pending = message

    def _apply_pending(self) -> None:
        with self._pending_lock:
            message, self._pending = self._pending, None
        if message is None or message.version <= self._pipeline.config_version:
            return
        current = self._pipeline.camera.config
        if message.config.detector != current.detector:
            detector, self._detector_error = self._load(message.config.detector)
            flushed = self._pipeline
            flushed.flush()
            counters = flushed.counters
            self._pipeline = self._build(message, flushed.camera.media_root, detector)
            self._pipeline.counters = counters
        else:
            self._pipeline.reconfigure(message.config, message.version)
        logger.info(
            "camera %s: analytics configuration version %d", self._camera_id, message.version
        )

    # -- analysis thread ---------------------------------------------------------------------

    def _analyse(self) -> None:
        while not self._stopping.is_set():
            frame = self._reader.frames.get(_FRAME_WAIT_SECONDS)
            if frame is None:
                continue
            self._apply_pending()
            try:
                with self._timings.measure("decode"):
                    image = np.asarray(frame.image.to_ndarray(format="bgr24"), dtype=np.uint8)
                self._pipeline.process(image, frame.received_at)
            except Exception:  # one bad frame must not end the camera's analysis
                logger.exception("camera %s: frame %d failed", self._camera_id, frame.sequence)
                self._pipeline.counters.rejected_frames += 1

    # -- publishing --------------------------------------------------------------------------

    def _enqueue(self, message: Message) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            self._lost_messages += 1
            return
        loop.call_soon_threadsafe(self._put, message)

    def _put(self, message: Message) -> None:
        try:
            self._outbox.put_nowait(message)
        except asyncio.QueueFull:
            self._lost_messages += 1
            logger.error("camera %s: outgoing queue full, message lost", self._camera_id)

    async def _publish_messages(self) -> None:
        while True:
            message = await self._outbox.get()
            for attempt in range(_PUBLISH_ATTEMPTS):
                try:
                    await self._bus.publish(message)
                    break
                except BusError as exc:
                    logger.warning(
                        "camera %s: publish failed (%s), attempt %d",
                        self._camera_id,
                        scrub_credentials(str(exc)),
                        attempt + 1,
                    )
                    await asyncio.sleep(0.5 * (attempt + 1))
            else:
                self._lost_messages += 1
            self._outbox.task_done()

    async def _report(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._options.stats_interval_seconds)
            await self._publish_stats()

    async def _publish_stats(self) -> None:
        try:
            await self._bus.publish(self.stats())
        except BusError as exc:
            logger.warning("camera %s: cannot publish stats (%s)", self._camera_id, exc)
