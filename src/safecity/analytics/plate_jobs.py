"""Plate reading as jobs: one OCR model per worker process, shared by its cameras.

The cameras of a worker process hand their plate reads to one
``SharedPlateReader``: a bounded queue of jobs and one thread that runs the
reader on them, oldest first. The OCR models (hundreds of megabytes) are then
in memory once per process, not once per camera, and a camera's analysis
thread never waits for OCR: it submits a job and collects the answer on a
later frame.

Drop rule: when the queue is full, the *oldest* job is dropped to make room,
and its camera is told (``deliver(None)``) and counted. The oldest job holds
the stalest frame, and its track is tried again on later frames (a track has
several tries), so dropping it loses the least. A busy OCR therefore costs
plate reads, counted per camera, never motion or tracking time of any camera.

``InlinePlateJobs`` runs the same job at once in the caller's thread: a
pipeline analysed on its own (tests, the ``anpr`` command) reads exactly as
it did before jobs existed.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from safecity.ingest.frames import DropOldestQueue

logger = logging.getLogger(__name__)

_WAIT_SECONDS = 0.5


class ReaderLike(Protocol):
    def read(
        self, image_bgr: npt.NDArray[np.uint8], region: tuple[int, int, int, int] | None = None
    ) -> Sequence[Any]: ...


Delivery = Callable[[Sequence[Any] | None], None]
"""Receives a job's readings, or None when the job was dropped before it ran."""


@dataclass(frozen=True, slots=True)
class PlateJob:
    """Read the plates in ``region`` of ``image``; the answer goes to ``deliver``.

    The image is held by reference: the pipeline never writes into a frame it analysed.
    ``deliver`` runs in the reader's thread (or, for a dropped job, in the submitter's)
    and must only hand the answer over, never block.
    """

    camera_id: str
    image: npt.NDArray[np.uint8]
    region: tuple[int, int, int, int]
    deliver: Delivery


class PlateJobSink(Protocol):
    def submit(self, job: PlateJob) -> None: ...


class InlinePlateJobs:
    """Runs each job at once in the caller's thread (one camera on its own)."""

    def __init__(self, reader: ReaderLike) -> None:
        self._reader = reader

    def submit(self, job: PlateJob) -> None:
        job.deliver(self._reader.read(job.image, region=job.region))


class SharedPlateReader:
    """One plate reader and one thread serving every camera of a process, behind a bounded
    drop-oldest queue of jobs. ``dropped(camera)`` counts a camera's jobs that were dropped."""

    def __init__(self, reader: ReaderLike, *, capacity: int = 8) -> None:
        self._reader = reader
        self._jobs: DropOldestQueue[PlateJob] = DropOldestQueue(capacity)
        self._dropped: Counter[str] = Counter()
        self._done: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.failures = 0
        """Jobs on which the reader raised (answered with no readings)."""

    @property
    def capacity(self) -> int:
        return self._jobs.capacity

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the shared plate reader was already started")
        self._thread = threading.Thread(target=self._run, name="plate-reader", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._jobs.close()
        if self._thread is not None:
            self._thread.join(timeout)

    def submit(self, job: PlateJob) -> None:
        evicted = self._jobs.put(job)
        if evicted is not None:
            with self._lock:
                self._dropped[evicted.camera_id] += 1
            evicted.deliver(None)

    def dropped(self, camera_id: str) -> int:
        with self._lock:
            return self._dropped[camera_id]

    def done(self, camera_id: str) -> int:
        """Jobs of this camera the reader has answered."""
        with self._lock:
            return self._done[camera_id]

    def waiting(self) -> int:
        return len(self._jobs)

    def _run(self) -> None:
        while not self._stopping.is_set():
            job = self._jobs.get(_WAIT_SECONDS)
            if job is None:
                continue
            try:
                readings: Sequence[Any] = self._reader.read(job.image, region=job.region)
            except Exception as exc:  # one bad crop must not end plate reading for every camera
                self.failures += 1
                logger.warning("camera %s: plate reader failed: %s", job.camera_id, exc)
                readings = []
            with self._lock:
                self._done[job.camera_id] += 1
            job.deliver(readings)
