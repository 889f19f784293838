"""The ingest of several cameras in one process, each camera isolated from the others.

One ingest process per camera cost most of a camera's memory (an interpreter,
PyAV and FFmpeg, NumPy, a bus connection: docs/BENCHMARKS.md); a group shares
those. What stays each camera's own is its ``IngestWorker``: its reader thread,
recorder, health monitor, bus subscriptions (its recording mode, its rule
events) and its recording folder. A bad stream only makes its own reader
reconnect; a worker that fails outright (its reader's thread ends on an error
nobody expected, or its run raises) is stopped, reported (``CameraHealth`` with
the ``ingest_crashed`` problem, state ``reconnecting``) and started again after
a growing delay, while the other cameras go on recording.

The supervisor (``ingest.groups``) runs each group as ``python -m
safecity.ingest --group NAME`` and tells it its cameras over stdin
(``ingest.control``, ``ingest.group_main``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from safecity.bus.errors import BusError
from safecity.bus.interface import Bus
from safecity.contracts.ingest import CameraHealth, HealthProblem
from safecity.core.clock import utcnow
from safecity.core.logging import scrub_credentials
from safecity.ingest.backoff import Backoff
from safecity.ingest.control import AddCamera, RemoveCamera
from safecity.ingest.health import INGEST_CRASHED
from safecity.ingest.worker import IngestWorker, IngestWorkerConfig

logger = logging.getLogger(__name__)

_WATCH_SECONDS = 1.0

WorkerFactory = Callable[[IngestWorkerConfig, Bus], IngestWorker]


@dataclass(frozen=True)
class GroupOptions:
    """What every camera of the group shares."""

    media_root: Path
    segment_seconds: float = 10.0
    health_interval_seconds: float = 5.0
    first_backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    healthy_after_seconds: float = 60.0
    """A camera that ran this long before failing is restarted after the shortest delay."""


@dataclass
class _Camera:
    config: IngestWorkerConfig
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    worker: IngestWorker | None = None
    crashes: int = 0
    crashed_since: datetime | None = None


class IngestGroup:
    """The cameras of one process; ``apply`` the supervisor's commands, ``run`` until stopped.

    Every method runs on the process's event loop."""

    def __init__(self, bus: Bus, options: GroupOptions, build_worker: WorkerFactory) -> None:
        self._bus = bus
        self._options = options
        self._build = build_worker
        self._cameras: dict[str, _Camera] = {}

    def camera_ids(self) -> list[str]:
        return sorted(self._cameras)

    def crashes(self, camera_id: str) -> int:
        return self._cameras[camera_id].crashes

    async def apply(self, command: AddCamera | RemoveCamera) -> None:
        if isinstance(command, RemoveCamera):
            await self.remove(command.camera_id)
        else:
            await self.add(command)

    async def add(self, command: AddCamera) -> None:
        """Start the camera; one already here gets its new recording mode in place, or
        reconnects to its new stream."""
        camera = self._cameras.get(command.camera_id)
        if camera is not None:
            same_stream = (
                camera.config.stream_url.get_secret_value() == command.stream_url.get_secret_value()
            )
            if same_stream:
                camera.config = camera.config.model_copy(
                    update={"recording_mode": command.recording_mode}
                )
                if camera.worker is not None:
                    camera.worker.set_recording_mode(command.recording_mode)
                return
            logger.info("camera %s: new stream; reconnecting", command.camera_id)
            await self.remove(command.camera_id)
        # Raises ValueError (naming the scheme only) on a source it cannot read.
        config = IngestWorkerConfig(
            camera_id=command.camera_id,
            stream_url=command.stream_url,
            media_root=self._options.media_root,
            recording_mode=command.recording_mode,
            segment_seconds=self._options.segment_seconds,
            health_interval_seconds=self._options.health_interval_seconds,
        )
        camera = _Camera(config)
        self._cameras[command.camera_id] = camera
        camera.task = asyncio.create_task(self._keep(camera), name=f"camera-{command.camera_id}")
        logger.info("camera %s joined the group", command.camera_id)

    async def remove(self, camera_id: str) -> None:
        """Stop the camera (its open segment is closed and announced)."""
        camera = self._cameras.pop(camera_id, None)
        if camera is None:
            return
        await _stop(camera)
        logger.info("camera %s left the group", camera_id)

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``; then every camera stops at once, each closing its segment."""
        await stop.wait()
        cameras, self._cameras = list(self._cameras.values()), {}
        await asyncio.gather(*(_stop(camera) for camera in cameras))
        for camera in cameras:
            logger.info("camera %s left the group", camera.config.camera_id)

    # -- one camera, restarted when it fails -------------------------------------------------

    async def _keep(self, camera: _Camera) -> None:
        options = self._options
        backoff = Backoff(options.first_backoff_seconds, options.max_backoff_seconds, jitter=0.2)
        while not camera.stop.is_set():
            started = time.monotonic()
            failure = await self._run_once(camera)
            if failure is None:
                return  # asked to stop
            if time.monotonic() - started >= options.healthy_after_seconds:
                backoff.reset()
            camera.crashes += 1
            camera.crashed_since = camera.crashed_since or utcnow()
            delay = backoff.next_delay()
            logger.error(
                "camera %s: ingest failed (%s); starting it again in %.1f s (failure %d)",
                camera.config.camera_id,
                failure,
                delay,
                camera.crashes,
            )
            await self._wait_reporting(camera, failure, delay)

    async def _run_once(self, camera: _Camera) -> str | None:
        """One life of the camera's worker: None when asked to stop, else why it failed."""
        try:
            worker = self._build(camera.config, self._bus)
        except Exception as exc:
            return _describe(exc)
        camera.worker = worker
        worker_stop = asyncio.Event()
        running = asyncio.create_task(worker.run(worker_stop))
        failure = await _watch(worker, running, camera.stop)
        worker_stop.set()
        try:
            await running
        except Exception as exc:
            failure = failure or _describe(exc)
        finally:
            camera.worker = None
        if failure is None and not camera.stop.is_set():
            failure = "its worker ended on its own"
        if failure is None:
            camera.crashed_since = None
        return failure

    async def _wait_reporting(self, camera: _Camera, failure: str, delay: float) -> None:
        """Wait ``delay`` (or until stopped), reporting the failure at every health interval."""
        deadline = time.monotonic() + delay
        while not camera.stop.is_set():
            await self._publish_failure(camera, failure, max(0.0, deadline - time.monotonic()))
            left = deadline - time.monotonic()
            if left <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    camera.stop.wait(), min(left, self._options.health_interval_seconds)
                )

    async def _publish_failure(self, camera: _Camera, failure: str, restart_in: float) -> None:
        since = camera.crashed_since or utcnow()
        detail = f"{failure}; started again in {restart_in:.0f} s (failure {camera.crashes})"
        report = CameraHealth(
            camera_id=camera.config.camera_id,
            state="reconnecting",
            state_since=since,
            fps=0,
            bitrate_bps=0,
            reconnects=camera.crashes,
            recording=False,
            segments_closed=0,
            frames_dropped=0,
            problems=(HealthProblem(code=INGEST_CRASHED, detail=detail[:300], since=since),),
        )
        try:
            await self._bus.publish(report)
        except BusError as exc:
            logger.warning(
                "camera %s: cannot publish health (%s)",
                camera.config.camera_id,
                scrub_credentials(str(exc)),
            )


async def _watch(
    worker: IngestWorker, running: asyncio.Task[None], stop: asyncio.Event
) -> str | None:
    """Until the camera is told to stop (None) or its worker fails (why)."""
    stopping = asyncio.create_task(stop.wait())
    try:
        while True:
            done, _ = await asyncio.wait(
                {running, stopping}, timeout=_WATCH_SECONDS, return_when=asyncio.FIRST_COMPLETED
            )
            if stopping in done:
                return None
            if running in done:
                error = None if running.cancelled() else running.exception()
                return "its worker ended on its own" if error is None else _describe(error)
            if worker.reader_died:
                return "its reader stopped on an unexpected error"
    finally:
        stopping.cancel()
        await asyncio.gather(stopping, return_exceptions=True)


async def _stop(camera: _Camera) -> None:
    camera.stop.set()
    if camera.task is not None:
        await camera.task


def _describe(error: BaseException) -> str:
    # An exception may quote the stream URL: scrubbed, and cut short for a health report.
    return f"{type(error).__name__}: {scrub_credentials(str(error))}"[:200]
