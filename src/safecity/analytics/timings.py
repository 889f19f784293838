"""Per-stage timings of a pipeline, as a recent-window mean in milliseconds; a recent rate.

The "decode" stage is the reader thread's decoding (every frame decoded to pick the
analysed one, ``CameraReader.decode_seconds``) plus the picture's wrapping, per analysed
frame; "plates" is the hand-off to the group's plate reader, whose OCR time is
"plate_ocr" (per job of the camera).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

STAGES = ("decode", "motion", "detect", "track", "rules", "plates", "publish", "plate_ocr")
RATE_WINDOW_SECONDS = 10.0


class StageTimings:
    """Thread-safe: the analysis thread records, the reporting task reads."""

    def __init__(self, window: int = 100) -> None:
        self._window = window
        self._samples: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @contextmanager
    def measure(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.record(stage, (time.perf_counter() - started) * 1000.0)

    def record(self, stage: str, milliseconds: float) -> None:
        with self._lock:
            self._samples.setdefault(stage, deque(maxlen=self._window)).append(milliseconds)

    def means(self) -> dict[str, float]:
        with self._lock:
            return {
                stage: round(sum(values) / len(values), 3)
                for stage, values in self._samples.items()
                if values
            }


class RecentRate:
    """Events per second over the last ``window`` seconds (or since the start, if shorter):
    a camera slowed down now shows it now, not diluted by hours of good running."""

    def __init__(
        self, window: float = RATE_WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if window <= 0:
            raise ValueError(f"window must be positive, got {window}")
        self._window = window
        self._clock = clock
        self._started = clock()
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def restart(self) -> None:
        with self._lock:
            self._started = self._clock()
            self._times.clear()

    def tick(self) -> None:
        with self._lock:
            now = self._clock()
            self._times.append(now)
            self._forget(now)

    def per_second(self) -> float:
        with self._lock:
            now = self._clock()
            self._forget(now)
            span = min(self._window, now - self._started)
            return len(self._times) / span if span > 0 else 0.0

    def _forget(self, now: float) -> None:
        while self._times and self._times[0] <= now - self._window:
            self._times.popleft()
