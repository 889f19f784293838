"""Frame rate and bit rate measured over a sliding window of recent packets."""

from __future__ import annotations

from collections import deque

DEFAULT_WINDOW_SECONDS = 5.0


class RateMeter:
    """Counts events and bytes in the last ``window_seconds`` (monotonic time, not thread-safe)."""

    def __init__(self, window_seconds: float = DEFAULT_WINDOW_SECONDS) -> None:
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        self._window = window_seconds
        self._events: deque[tuple[float, int]] = deque()
        self._bytes = 0
        self._started: float | None = None

    def add(self, now: float, size: int) -> None:
        if self._started is None:
            self._started = now
        self._events.append((now, size))
        self._bytes += size
        self._expire(now)

    def reset(self) -> None:
        """Forget everything, e.g. when the stream is lost: its rate is then 0."""
        self._events.clear()
        self._bytes = 0
        self._started = None

    def rates(self, now: float) -> tuple[float, float]:
        """(events per second, bits per second) over the window ending at ``now``."""
        self._expire(now)
        if self._started is None or not self._events:
            return 0.0, 0.0
        observed = now - self._started
        if observed >= self._window:
            return len(self._events) / self._window, self._bytes * 8 / self._window
        # A fresh stream: n events since the first one span n - 1 intervals.
        if len(self._events) < 2 or observed <= 0:
            return 0.0, 0.0
        intervals = len(self._events) - 1
        return intervals / observed, self._bytes * 8 * intervals / len(self._events) / observed

    def _expire(self, now: float) -> None:
        horizon = now - self._window
        while self._events and self._events[0][0] < horizon:
            _, size = self._events.popleft()
            self._bytes -= size
