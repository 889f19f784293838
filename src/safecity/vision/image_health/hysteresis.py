"""Time hysteresis for one problem of one camera: start late, clear late, never flap.

A problem starts once its check has fired on every evaluated sample for
``raise_after_s`` and clears once the check has stayed on the healthy side of
its release threshold for ``clear_after_s``. A single odd sample therefore
restarts the wait instead of flipping the state. A sample the check could not
judge, or a gap in the samples, also restarts both waits: a duration is only
claimed when it was watched throughout. An active problem stays active
through such samples; there is no evidence that it ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from safecity.vision.image_health.assessment import CheckResult


class TransitionKind(StrEnum):
    STARTED = "started"
    CLEARED = "cleared"


@dataclass(frozen=True)
class StateChange:
    """The problem started or cleared; ``since`` is the first sample of the run that
    confirmed it (so the problem really began, or ended, then)."""

    kind: TransitionKind
    since: datetime


class ProblemDebouncer:
    """State of one problem on one camera, fed one check result per sample."""

    def __init__(self, *, raise_after_s: float, clear_after_s: float) -> None:
        self._raise_after_s = raise_after_s
        self._clear_after_s = clear_after_s
        self._active_since: datetime | None = None
        self._bad_since: datetime | None = None
        self._good_since: datetime | None = None

    @property
    def active_since(self) -> datetime | None:
        """When the active problem began, or None when the problem is not active."""
        return self._active_since

    def interrupt(self) -> None:
        """Forget running durations, e.g. after a gap in the samples."""
        self._bad_since = None
        self._good_since = None

    def update(self, at: datetime, check: CheckResult) -> StateChange | None:
        if not check.evaluated:
            self.interrupt()
            return None
        if self._active_since is None:
            return self._maybe_start(at, check)
        return self._maybe_clear(at, check)

    def _maybe_start(self, at: datetime, check: CheckResult) -> StateChange | None:
        if not check.fired:
            self._bad_since = None
            return None
        if self._bad_since is None:
            self._bad_since = at
        if (at - self._bad_since).total_seconds() < self._raise_after_s:
            return None
        since = self._bad_since
        self._active_since = since
        self._bad_since = None
        return StateChange(kind=TransitionKind.STARTED, since=since)

    def _maybe_clear(self, at: datetime, check: CheckResult) -> StateChange | None:
        if check.persists:
            self._good_since = None
            return None
        if self._good_since is None:
            self._good_since = at
        if (at - self._good_since).total_seconds() < self._clear_after_s:
            return None
        since = self._good_since
        self._active_since = None
        self._good_since = None
        return StateChange(kind=TransitionKind.CLEARED, since=since)
