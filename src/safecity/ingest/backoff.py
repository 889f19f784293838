"""Capped exponential backoff with jitter, for reconnecting to a camera."""

from __future__ import annotations

import random


class Backoff:
    """Delays of ``first``, ``2 * first``, ... up to ``cap`` seconds, each shortened by jitter.

    Jitter only shortens a delay (by up to ``jitter`` of it), so ``cap`` is a true
    upper bound: a camera that comes back is retried within ``cap`` seconds.
    Spreading the attempts keeps hundreds of cameras behind one failed link
    from reconnecting in lock-step when it returns.
    """

    def __init__(
        self,
        first_seconds: float = 0.5,
        cap_seconds: float = 3.0,
        *,
        factor: float = 2.0,
        jitter: float = 0.3,
        rng: random.Random | None = None,
    ) -> None:
        if first_seconds <= 0 or cap_seconds <= 0:
            raise ValueError("first_seconds and cap_seconds must be positive")
        if factor < 1 or not 0 <= jitter < 1:
            raise ValueError("factor must be >= 1 and jitter in [0, 1)")
        self._first = min(first_seconds, cap_seconds)
        self._cap = cap_seconds
        self._factor = factor
        self._jitter = jitter
        # Not for security: only spreads reconnect attempts in time.
        self._rng = rng or random.Random()  # noqa: S311
        self._attempts = 0

    @property
    def attempts(self) -> int:
        """Delays handed out since the last reset."""
        return self._attempts

    def next_delay(self) -> float:
        exponent = min(self._attempts, 32)
        self._attempts += 1
        delay = min(self._cap, self._first * self._factor**exponent)
        return delay * (1.0 - self._jitter * self._rng.random())

    def reset(self) -> None:
        """Back to the first delay, after a connection that worked."""
        self._attempts = 0
