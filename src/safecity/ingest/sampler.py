"""Thin a stream to a target frame rate by dropping decoded frames by their timestamps."""

from __future__ import annotations

# A timestamp jump larger than this (a camera reboot, a clip looping) restarts the schedule.
_MAX_JUMP_SECONDS = 2.0


class FrameSampler:
    """Keeps one frame per 1/``fps`` seconds of stream time; ``fps=None`` keeps every frame.

    The kept frame is the one nearest each scheduled time (a frame up to half
    the source's frame spacing early counts as on time: live timestamps
    jitter). The schedule advances by whole intervals rather than from the
    last kept frame, so 25 fps thinned to 10 fps keeps 10 frames per second
    on average instead of drifting to 8.3.
    """

    def __init__(self, fps: float | None) -> None:
        if fps is not None and fps <= 0:
            raise ValueError("fps must be positive (or None for every frame)")
        self._interval = None if fps is None else 1.0 / fps
        self._due: float | None = None
        self._last: float | None = None
        self._spacing = 0.0

    def reset(self) -> None:
        self._due = None
        self._last = None
        self._spacing = 0.0

    def wants(self, seconds: float) -> bool:
        """Whether ``keep(seconds)`` would keep the frame, without changing the schedule:
        a reader asks before it pays for decoding a frame that would be thrown away."""
        interval, due = self._interval, self._due
        if interval is None or due is None:
            return True
        if not due - interval - _MAX_JUMP_SECONDS <= seconds <= due + _MAX_JUMP_SECONDS:
            return True
        spacing = self._spacing
        if self._last is not None and 0 < seconds - self._last < _MAX_JUMP_SECONDS:
            spacing = seconds - self._last
        return seconds >= due - min(spacing, interval) / 2

    def keep(self, seconds: float) -> bool:
        """Whether the frame at ``seconds`` (stream or monotonic time) is handed on."""
        interval = self._interval
        if interval is None:
            return True
        if self._last is not None and 0 < seconds - self._last < _MAX_JUMP_SECONDS:
            self._spacing = seconds - self._last
        self._last = seconds
        due = self._due
        if (
            due is None
            or not due - interval - _MAX_JUMP_SECONDS <= seconds <= due + _MAX_JUMP_SECONDS
        ):
            due = seconds
        if seconds < due - min(self._spacing, interval) / 2:
            self._due = due
            return False
        due += interval
        if due <= seconds:
            # Far behind (the source is slower than the target): restart from here.
            due = seconds + interval
        self._due = due
        return True
