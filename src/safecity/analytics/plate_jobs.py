"""Plate reading as jobs: one OCR model per worker process, shared by its cameras.

The cameras of a worker process hand their plate reads to one
``SharedPlateReader``: a bounded queue of jobs and one thread that runs the
reader on them, best first (below). The OCR models (hundreds of megabytes) are then
in memory once per process, not once per camera, and a camera's analysis
thread never waits for OCR: it submits a job and collects the answer on a
later frame.

Order and drop rule: the reader takes the waiting job whose track has been read
least often (``PlateJob.tries``), the best frame (``PlateJob.quality``) among
those, the oldest among equals: a vehicle not read yet goes before another
reading of one already read. A waiting job may be replaced by a better frame of
the same track (``replace``): a camera holds one job per track in the queue and
upgrades it while the vehicle comes closer, so the frame read is the best one
seen when the reader got to it, not the first one offered. When the queue is
full, the job with the most tries is dropped to make room (the worst frame, then
the oldest, among those), its camera is told (``deliver(None)``) and it is
counted. A busy OCR therefore costs plate reads, counted per camera, never
motion or tracking time of any camera.

The reader's thread runs at a lower CPU priority (``niceness``, Linux lets a
thread have its own): when the cores are short, analysis threads of every
camera go first and plate reading takes what is left.

``InlinePlateJobs`` runs the same job at once in the caller's thread: a
pipeline analysed on its own (tests, the ``anpr`` command) reads exactly as
it did before jobs existed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from safecity.analytics.timings import StageTimings

logger = logging.getLogger(__name__)

_WAIT_SECONDS = 0.5


class ReaderLike(Protocol):
    def read(
        self, image_bgr: npt.NDArray[np.uint8], region: tuple[int, int, int, int] | None = None
    ) -> Sequence[Any]: ...


Delivery = Callable[[Sequence[Any] | None], None]
"""Receives a job's readings, or None when the job was dropped before it ran."""


@dataclass(frozen=True, slots=True, eq=False)
class PlateJob:
    """Read the plates in ``region`` of ``image``; the answer goes to ``deliver``.

    Compared by identity (``eq=False``): two jobs are never "equal" because their fields
    are, and comparing them field by field would compare their frames, numpy arrays
    whose ``==`` has no truth value (``list.remove`` on a full queue raised ValueError
    in the camera's analysis thread when it did).

    The image is held by reference: the pipeline never writes into a frame it analysed.
    ``deliver`` runs in the reader's thread (or, for a dropped job, in the submitter's)
    and must only hand the answer over, never block.
    """

    camera_id: str
    image: npt.NDArray[np.uint8]
    region: tuple[int, int, int, int]
    deliver: Delivery
    tries: int = 0
    """Readings of the same track asked for before this one (the order's first key)."""
    quality: float = 0.0
    """How good the frame is for reading (``plate_frames``); the better goes first."""
    track: int | None = None
    """The camera's track the job reads: a waiting job of the same track can be replaced."""

    def same_track(self, other: PlateJob) -> bool:
        return self.track is not None and (self.camera_id, self.track) == (
            other.camera_id,
            other.track,
        )


class _JobQueue:
    """Thread-safe, bounded; ``put`` on a full queue evicts the job with the most tries
    (the worst frame, then the oldest, of those) and returns it; ``get`` takes the job
    with the fewest tries (the best frame, then the oldest, of those)."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._items: list[tuple[int, PlateJob]] = []  # (arrival, job)
        self._arrivals = 0
        self._ready = threading.Condition()
        self._closed = False

    def __len__(self) -> int:
        with self._ready:
            return len(self._items)

    def put(self, job: PlateJob) -> PlateJob | None:
        with self._ready:
            self._arrivals += 1
            entry = (self._arrivals, job)
            evicted = None
            if len(self._items) >= self.capacity:
                # Most tries first, then the lowest quality, then the oldest arrival.
                evicted = max(
                    [*self._items, entry],
                    key=lambda e: (e[1].tries, -e[1].quality, -e[0]),
                )
                if evicted is not entry:
                    self._items.remove(evicted)
            if evicted is not entry:
                self._items.append(entry)
            self._ready.notify()
            return None if evicted is None else evicted[1]

    def replace(self, job: PlateJob) -> bool:
        """Put ``job`` in the place of the waiting job of its track; False if none waits."""
        with self._ready:
            for index, (arrival, waiting) in enumerate(self._items):
                if waiting.same_track(job):
                    self._items[index] = (arrival, job)
                    return True
            return False

    def get(self, timeout: float) -> PlateJob | None:
        with self._ready:
            if not self._items and not self._closed:
                self._ready.wait(timeout)
            if not self._items:
                return None
            chosen = min(self._items, key=lambda e: (e[1].tries, -e[1].quality, e[0]))
            self._items.remove(chosen)
            return chosen[1]

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()


class PlateJobSink(Protocol):
    def submit(self, job: PlateJob) -> None: ...

    def replace(self, job: PlateJob) -> bool:
        """Swap a waiting job of the same track for ``job``; False if none is waiting."""
        ...


class InlinePlateJobs:
    """Runs each job at once in the caller's thread (one camera on its own)."""

    def __init__(self, reader: ReaderLike) -> None:
        self._reader = reader

    def submit(self, job: PlateJob) -> None:
        job.deliver(self._reader.read(job.image, region=job.region))

    def replace(self, job: PlateJob) -> bool:
        return False  # nothing ever waits: each job was read when it was submitted


class SharedPlateReader:
    """One plate reader and one thread serving every camera of a process, behind a bounded
    queue of jobs (drop rule above). ``dropped(camera)`` counts a camera's dropped jobs."""

    def __init__(self, reader: ReaderLike, *, capacity: int = 8, niceness: int = 10) -> None:
        self._reader = reader
        self._niceness = niceness
        self._jobs = _JobQueue(capacity)
        self._dropped: Counter[str] = Counter()
        self._done: Counter[str] = Counter()
        self._read_ms = StageTimings()  # keyed by camera: its jobs' OCR time, recent window
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

    def replace(self, job: PlateJob) -> bool:
        return self._jobs.replace(job)

    def dropped(self, camera_id: str) -> int:
        with self._lock:
            return self._dropped[camera_id]

    def done(self, camera_id: str) -> int:
        """Jobs of this camera the reader has answered."""
        with self._lock:
            return self._done[camera_id]

    def read_ms(self, camera_id: str) -> float | None:
        """Mean milliseconds the reader spent on this camera's recent jobs (the OCR itself,
        not the wait in the queue); None before its first job."""
        return self._read_ms.means().get(camera_id)

    def waiting(self) -> int:
        return len(self._jobs)

    def _run(self) -> None:
        if self._niceness:
            # Per-thread on Linux (a thread id is a process id to setpriority); elsewhere
            # or without the right to change it, the reader keeps the process's priority.
            with contextlib.suppress(OSError, AttributeError):
                tid = threading.get_native_id()
                os.setpriority(
                    os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + self._niceness
                )
        while not self._stopping.is_set():
            job = self._jobs.get(_WAIT_SECONDS)
            if job is None:
                continue
            started = time.perf_counter()
            try:
                readings: Sequence[Any] = self._reader.read(job.image, region=job.region)
            except Exception as exc:  # one bad crop must not end plate reading for every camera
                self.failures += 1
                logger.warning("camera %s: plate reader failed: %s", job.camera_id, exc)
                readings = []
            self._read_ms.record(job.camera_id, (time.perf_counter() - started) * 1000.0)
            with self._lock:
                self._done[job.camera_id] += 1
            job.deliver(readings)
