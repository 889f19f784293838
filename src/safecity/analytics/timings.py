"""Per-stage timings of a pipeline, as a recent-window mean in milliseconds."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

STAGES = ("decode", "motion", "detect", "track", "rules", "plates", "publish")


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
