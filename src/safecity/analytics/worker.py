"""Analytics of a group of cameras in one process: decode, run each pipeline, publish.

A supervisor runs each group as a process (``python -m safecity.analytics``,
see ``analytics.main``) and tells it over its stdin which cameras it analyses
(``analytics.control``). Several cameras share one process: the interpreter,
OpenCV, ONNX Runtime and above all the plate reader's OCR models are in
memory once per group instead of once per camera.

Each camera keeps what is its own: a ``CameraReader`` that decodes at the
analysed rate into its bounded drop-oldest queue (two frames; the drop
counter is ``frames_dropped``), an analysis thread that runs its pipeline,
its configuration version and its ``AnalyticsWorkerStats``. A camera whose
stream fails or whose frames are bad costs only its own thread. The cameras
share the process's event loop (publishing) and one ``SharedPlateReader``
(ANPR jobs, bounded, oldest dropped first and counted per camera). Messages wait
for the bus in one bounded outbox; one lost (outbox full, or refused by the bus
after retries) is counted against its camera (``messages_lost``).

The worker never opens the database. Every ``stats_interval`` it publishes one
``AnalyticsWorkerStats`` per camera, the analytics counterpart of ingest's
``CameraHealth``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from safecity.analytics.pipeline import (
    CameraPipeline,
    PipelineCamera,
    build_pipeline,
    track_id_offset,
)
from safecity.analytics.plate_jobs import SharedPlateReader
from safecity.analytics.plate_reading import FuseReads, PlateReaderLike
from safecity.analytics.timings import RecentRate, StageTimings
from safecity.bus.errors import BusError
from safecity.bus.interface import Bus
from safecity.contracts.analytics_config import AnalyticsConfigChanged, AnalyticsWorkerStats
from safecity.contracts.base import Message
from safecity.core.logging import scrub_credentials, without_urls
from safecity.ingest.frames import ColourConverter
from safecity.ingest.reader import CameraReader, DecodeMode, ReaderOptions
from safecity.ingest.source import SourceKind, source_kind
from safecity.vision.detectors import Detector, DetectorUnavailable, ModelError, load_detector

logger = logging.getLogger(__name__)

_FRAME_WAIT_SECONDS = 0.5
_PUBLISH_ATTEMPTS = 5
_LAST_ERROR_CHARS = 200

DetectorLoader = Callable[[str | None], tuple[Detector | None, str | None]]
PlateReaderFactory = Callable[[], tuple[PlateReaderLike | None, FuseReads | None]]


@dataclass(frozen=True)
class StreamOptions:
    """How one camera's stream is read."""

    stream_url: str
    queue_size: int = 2
    pace_files: bool | None = None
    """Deliver a file at its own frame rate; None: yes for files (a simulated camera)."""
    loop_files: bool = True
    skip_deblocking: bool = True
    """Decode without the deblocking filter (``ReaderOptions.skip_deblocking``): decoding
    every frame of a 15 fps stream to analyse 5 is most of a camera's cost."""


@dataclass(frozen=True)
class GroupOptions:
    """What the cameras of a group share."""

    models_dir: Path | None = None
    """Folder of detector manifests, ``<name>.yaml``; a config's ``detector`` names one."""
    stats_interval_seconds: float = 5.0
    plate_queue_size: int = 8
    """Plate jobs waiting for the group's one reader; beyond it the oldest is dropped."""
    outbox_size: int = 1000
    """Messages waiting for the bus; beyond it a new one is lost and counted
    (``AnalyticsWorkerStats.messages_lost``)."""

    def __post_init__(self) -> None:
        if self.outbox_size < 1:  # an asyncio queue of size 0 would never be full
            raise ValueError(f"outbox_size must be at least 1, got {self.outbox_size}")


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


class CameraWorker:
    """One camera of a group: its reader, analysis thread, pipeline and stats."""

    def __init__(
        self,
        initial: AnalyticsConfigChanged,
        media_root: Path,
        stream: StreamOptions,
        publish: Callable[[Message], None],
        load: DetectorLoader,
        shared_plates: Callable[[], tuple[SharedPlateReader | None, FuseReads | None]],
        *,
        messages_lost: Callable[[], int] = lambda: 0,
    ) -> None:
        self.camera_id = initial.camera_id
        self._messages_lost = messages_lost
        self.stream_url = stream.stream_url
        self._publish = publish
        self._load = load
        self._shared_plates = shared_plates
        self._media_root = media_root
        self._timings = StageTimings()
        self._rate = RecentRate()
        self._decoded_until = 0.0  # the reader's decode_seconds at the last analysed frame
        self._plate_reader: SharedPlateReader | None = None
        self._pictures = ColourConverter()
        self._pending: AnalyticsConfigChanged | None = None
        self._pending_lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        detector, self._detector_error = self._load(initial.config.detector)
        self._pipeline = self._build(initial, detector)
        is_file = source_kind(stream.stream_url) is SourceKind.FILE
        self._reader = CameraReader(
            self.camera_id,
            stream.stream_url,
            ReaderOptions(
                decode=DecodeMode.ALL,
                target_fps=initial.config.analysed_fps,
                queue_size=stream.queue_size,
                pace_files=is_file if stream.pace_files is None else stream.pace_files,
                reconnect_at_end=stream.loop_files if is_file else None,
                skip_deblocking=stream.skip_deblocking,
            ),
        )

    def _build(self, message: AnalyticsConfigChanged, detector: Detector | None) -> CameraPipeline:
        # The group's plate reader loads when the first camera that reads plates needs it.
        plates, fuse = self._shared_plates() if message.config.plates else (None, None)
        self._plate_reader = plates
        return build_pipeline(
            PipelineCamera(message.camera_id, self._media_root, message.config, message.version),
            detector,
            None,
            self._publish,
            fuse=fuse,
            timings=self._timings,
            plate_jobs=plates,
            # A new tracker counts from 1 again: its ids must not repeat earlier ones.
            track_id_offset=track_id_offset(time.time()),
        )

    @property
    def pipeline(self) -> CameraPipeline:
        return self._pipeline

    @property
    def reader(self) -> CameraReader:
        return self._reader

    @property
    def config_version(self) -> int:
        with self._pending_lock:
            pending = self._pending
        current = self._pipeline.config_version
        return current if pending is None else max(current, pending.version)

    def start(self) -> None:
        self._rate.restart()
        self._reader.start()
        self._thread = threading.Thread(
            target=self._analyse, name=f"analytics-{self.camera_id}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop reading and analysing; publish what open plate tracks have read."""
        self._stopping.set()
        self._reader.stop()
        self._reader.frames.close()
        if self._thread is not None:
            self._thread.join(10)
        self._pipeline.flush()

    def configure(self, message: AnalyticsConfigChanged) -> None:
        """Take a newer configuration; the analysis thread applies it before its next frame."""
        with self._pending_lock:
            if self._pending is None or message.version > self._pending.version:
                self._pending = message

    def stats(self) -> AnalyticsWorkerStats:
        counters = self._pipeline.counters
        detector = self._pipeline.detector
        stage = self._pipeline.plates
        return AnalyticsWorkerStats(
            camera_id=self.camera_id,
            config_version=self._pipeline.config_version,
            frames_analysed=counters.frames,
            frames_dropped=self._reader.frames.dropped,
            analysed_fps=round(self._rate.per_second(), 3),
            stage_ms=self._stage_ms(),
            events=counters.events,
            plate_reads=counters.plate_reads,
            plate_jobs_dropped=0 if stage is None else stage.jobs_dropped,
            plate_jobs_answered=0 if stage is None else stage.jobs_answered,
            plate_frames_skipped={}
            if stage is None
            else {**stage.skipped, "superseded": stage.superseded},
            detector_runs=dict(counters.detector_runs),
            detector_frames_skipped=counters.detector_skipped,
            detector=None if detector is None else detector.name[:120],
            detector_error=self._detector_error,
            frames_rejected=counters.rejected_frames,
            plate_reads_rejected=0 if stage is None else stage.rejected,
            last_error=self._short(counters.last_error),
            messages_lost=self._messages_lost(),
        )

    def _stage_ms(self) -> dict[str, float]:
        """The pipeline's stages, and the group's plate reader's OCR time on this camera's
        jobs (it runs in the reader's thread, not in any stage of the pipeline)."""
        stages = self._timings.means()
        plates = self._plate_reader
        ocr = None if plates is None else plates.read_ms(self.camera_id)
        if ocr is not None:
            stages["plate_ocr"] = round(ocr, 3)
        return stages

    def _short(self, error: str | None) -> str | None:
        """``error`` fit for a report on the bus: no stream URL (nor any URL), shortened."""
        if not error:
            return None
        if self.stream_url:
            error = error.replace(self.stream_url, "<stream>")
        return without_urls(error)[:_LAST_ERROR_CHARS]

    def _apply_pending(self) -> None:
        with self._pending_lock:
            message, self._pending = self._pending, None
        if message is None or message.version <= self._pipeline.config_version:
            return
        current = self._pipeline.camera.config
        if message.config.detector != current.detector or message.config.plates != current.plates:
            detector, self._detector_error = self._load(message.config.detector)
            flushed = self._pipeline
            flushed.flush()
            counters = flushed.counters
            self._pipeline = self._build(message, detector)
            self._pipeline.counters = counters
        else:
            self._pipeline.reconfigure(message.config, message.version)
        # The reader thins the decoded frames to the analysed rate: without this a camera
        # set to 1 fps went on being analysed at its old 5.
        self._reader.set_target_fps(message.config.analysed_fps)
        logger.info(
            "camera %s: analytics configuration version %d", self.camera_id, message.version
        )

    def _analyse(self) -> None:
        while not self._stopping.is_set():
            frame = self._reader.frames.get(_FRAME_WAIT_SECONDS)
            if frame is None:
                continue
            try:
                self._apply_pending()
                wrapping = time.perf_counter()
                picture = self._pictures.picture(frame.image)
                # Decoding happened in the reader's thread: every frame it decoded since the
                # last analysed one (those thinned out too) is what this frame cost.
                decoded = self._reader.decode_seconds
                spent = decoded - self._decoded_until + time.perf_counter() - wrapping
                self._decoded_until = decoded
                self._timings.record("decode", spent * 1000.0)
                analysed = self._pipeline.counters.frames
                self._pipeline.process(picture, frame.received_at)
                if self._pipeline.counters.frames > analysed:  # not a rejected frame
                    self._rate.tick()
            except Exception as exc:  # one bad frame must not end the camera's analysis
                logger.exception("camera %s: frame %d failed", self.camera_id, frame.sequence)
                counters = self._pipeline.counters
                counters.rejected_frames += 1
                counters.last_error = f"frame failed: {type(exc).__name__}: {exc}"


class AnalyticsGroup:
    """Analyses the cameras it is given until the stop event is set.

    ``add`` (a new camera, or a newer configuration of one it has), ``remove`` and
    ``stats`` may be called from any thread once ``run`` has started.
    """

    def __init__(
        self,
        media_root: Path,
        bus: Bus,
        options: GroupOptions,
        *,
        plate_reader: PlateReaderFactory | None = None,
        detector_loader: DetectorLoader | None = None,
    ) -> None:
        self._media_root = media_root
        self._bus = bus
        self._options = options
        self._plate_factory = plate_reader
        self._load = detector_loader or (lambda name: load_named_detector(options.models_dir, name))
        self._cameras: dict[str, CameraWorker] = {}
        self._lock = threading.Lock()
        self._plates: SharedPlateReader | None = None
        self._fuse: FuseReads | None = None
        self._plates_tried = False
        self._outbox: asyncio.Queue[Message] = asyncio.Queue(options.outbox_size)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running = threading.Event()
        self._lost_lock = threading.Lock()
        self._lost: Counter[str] = Counter()
        self.lost_messages = 0
        """Messages lost, of every camera (each camera's share is in its stats)."""

    # -- membership (any thread) -------------------------------------------------------------

    def add(self, message: AnalyticsConfigChanged, stream: StreamOptions) -> None:
        """Start analysing a camera, or hand a camera already here its newer configuration.
        A camera whose stream URL changed is started afresh on the new one."""
        with self._lock:
            current = self._cameras.get(message.camera_id)
        if current is not None:
            if current.stream_url == stream.stream_url:
                current.configure(message)
                return
            self.remove(message.camera_id)
        camera_id = message.camera_id
        camera = CameraWorker(
            message,
            self._media_root,
            stream,
            self._enqueue,
            self._load,
            self._shared_plates,
            messages_lost=lambda: self.messages_lost(camera_id),
        )
        with self._lock:
            self._cameras[message.camera_id] = camera
        camera.start()
        logger.info("camera %s joined the group", message.camera_id)

    def remove(self, camera_id: str) -> bool:
        """Stop analysing a camera (its last stats are published); False if it was not here."""
        with self._lock:
            camera = self._cameras.pop(camera_id, None)
        if camera is None:
            return False
        camera.stop()
        self._enqueue(camera.stats())
        logger.info("camera %s left the group", camera_id)
        return True

    def camera(self, camera_id: str) -> CameraWorker:
        with self._lock:
            return self._cameras[camera_id]

    def camera_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._cameras)

    def stats(self) -> list[AnalyticsWorkerStats]:
        with self._lock:
            cameras = list(self._cameras.values())
        return [camera.stats() for camera in cameras]

    def messages_lost(self, camera_id: str) -> int:
        """Messages of ``camera_id`` lost so far (outgoing queue full, or refused by the bus)."""
        with self._lost_lock:
            return self._lost[camera_id]

    def _lose(self, message: Message) -> None:
        camera_id = getattr(message, "camera_id", None)
        with self._lost_lock:
            self.lost_messages += 1
            if isinstance(camera_id, str):
                self._lost[camera_id] += 1

    @property
    def plate_reader(self) -> SharedPlateReader | None:
        return self._plates

    def _shared_plates(self) -> tuple[SharedPlateReader | None, FuseReads | None]:
        """The group's one plate reader, created when the first camera asks for plates."""
        with self._lock:
            if not self._plates_tried and self._plate_factory is not None:
                self._plates_tried = True
                reader, self._fuse = self._plate_factory()
                if reader is not None and self._fuse is not None:
                    self._plates = SharedPlateReader(
                        reader, capacity=self._options.plate_queue_size
                    )
                    self._plates.start()
            return self._plates, self._fuse

    # -- the event loop ----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._running.set()
        tasks = [
            asyncio.create_task(self._publish_messages(), name="publish"),
            asyncio.create_task(self._report(stop), name="report-stats"),
        ]
        try:
            await stop.wait()
        finally:
            for camera_id in self.camera_ids():
                await asyncio.to_thread(self.remove, camera_id)
            if self._plates is not None:
                await asyncio.to_thread(self._plates.stop)
            tasks[1].cancel()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox.join(), 10)
            tasks[0].cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _enqueue(self, message: Message) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            self._lose(message)
            return
        try:
            loop.call_soon_threadsafe(self._put, message)
        except RuntimeError:  # the loop closed between the check and the call
            self._lose(message)

    def _put(self, message: Message) -> None:
        try:
            self._outbox.put_nowait(message)
        except asyncio.QueueFull:
            self._lose(message)
            logger.error("outgoing queue full, a %s was lost", type(message).__name__)

    async def _publish_messages(self) -> None:
        while True:
            message = await self._outbox.get()
            for attempt in range(_PUBLISH_ATTEMPTS):
                try:
                    await self._bus.publish(message)
                    break
                except BusError as exc:
                    logger.warning(
                        "publish failed (%s), attempt %d",
                        scrub_credentials(str(exc)),
                        attempt + 1,
                    )
                    await asyncio.sleep(0.5 * (attempt + 1))
            else:
                self._lose(message)
            self._outbox.task_done()

    async def _report(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._options.stats_interval_seconds)
            for stats in self.stats():
                self._put(stats)
