"""Zone rules: intrusion (entering), loitering (dwelling) and crowd (too many inside)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from safecity.vision.detections import Detections
from safecity.vision.rules.base import ClassFilter, Firing, TrackMemory, firing, tracked_rows
from safecity.vision.zones import Polygon


def _inside(zone: Polygon, tracked: Detections, classes: ClassFilter) -> npt.NDArray[np.bool_]:
    wanted = classes.mask(tracked)
    if not len(tracked):
        return wanted
    return wanted & zone.contains(tracked.anchors())


class ZoneIntrusion:
    """Fires when a track's ground point enters the zone (once per entry)."""

    def __init__(self, name: str, zone: Polygon, classes: ClassFilter | None = None) -> None:
        self.name = name
        self._zone = zone
        self._classes = classes or ClassFilter()
        self._memory: TrackMemory[bool] = TrackMemory()

    def update(self, at: datetime, tracked: Detections) -> list[Firing]:
        inside = _inside(self._zone, tracked, self._classes)
        fired = []
        for row, track in tracked_rows(tracked, self._classes.mask(tracked)):
            was_inside = self._memory.states.get(track, False)
            now_inside = bool(inside[row])
            if now_inside and not was_inside:
                fired.append(firing("zone_intrusion", self.name, at, tracked, row))
            self._memory.states[track] = now_inside
            self._memory.touch(track, at)
        self._memory.forget_stale(at)
        return fired


@dataclass
class _Stay:
    since: datetime
    fired: bool = False


class Loitering:
    """Fires once when a track has stayed in the zone for ``seconds`` (value: dwell seconds)."""

    def __init__(
        self, name: str, zone: Polygon, seconds: float, classes: ClassFilter | None = None
    ) -> None:
        if seconds <= 0:
            raise ValueError("loitering seconds must be positive")
        self.name = name
        self._zone = zone
        self._seconds = seconds
        self._classes = classes or ClassFilter()
        self._memory: TrackMemory[_Stay] = TrackMemory()

    def update(self, at: datetime, tracked: Detections) -> list[Firing]:
        inside = _inside(self._zone, tracked, self._classes)
        fired = []
        for row, track in tracked_rows(tracked, self._classes.mask(tracked)):
            self._memory.touch(track, at)
            if not inside[row]:
                self._memory.states.pop(track, None)
                continue
            stay = self._memory.states.setdefault(track, _Stay(since=at))
            dwell = (at - stay.since).total_seconds()
            if dwell >= self._seconds and not stay.fired:
                stay.fired = True
                fired.append(firing("loitering", self.name, at, tracked, row, value=dwell))
        self._memory.forget_stale(at)
        return fired


class Crowd:
    """Fires when the number of tracks in the zone has stayed at ``threshold`` or more for
    ``hold_seconds``; re-arms once it has stayed below for ``rearm_seconds``.

    Both waits are hysteresis: a count that hovers at the threshold (a person the
    detector finds on one frame and misses on the next) would otherwise fire and re-arm
    several times a second, and a one-frame crowd is usually a detector's mistake. For
    the same reason a dip shorter than half the hold does not start the hold again.
    """

    def __init__(
        self,
        name: str,
        zone: Polygon | None,
        threshold: int,
        classes: ClassFilter | None = None,
        *,
        hold_seconds: float = 0.0,
        rearm_seconds: float = 0.0,
    ) -> None:
        if threshold < 1:
            raise ValueError("crowd threshold must be at least 1")
        if hold_seconds < 0 or rearm_seconds < 0:
            raise ValueError("crowd hold and re-arm seconds must not be negative")
        self.name = name
        self._zone = zone
        self._threshold = threshold
        self._classes = classes or ClassFilter()
        self._hold = hold_seconds
        self._rearm = rearm_seconds
        self._fired = False
        self._crowded_since: datetime | None = None
        self._last_crowded: datetime | None = None
        self._quiet_since: datetime | None = None
        self._last_frame: datetime | None = None

    def update(self, at: datetime, tracked: Detections) -> list[Firing]:
        # The time between analysed frames: at 1 fps consecutive crowded frames lie a
        # second apart, which is no dip, whatever half the hold is.
        step = (at - self._last_frame).total_seconds() if self._last_frame else 0.0
        self._last_frame = at
        wanted = self._classes.mask(tracked)
        if self._zone is not None and len(tracked):
            wanted = wanted & self._zone.contains(tracked.anchors())
        count = int(np.count_nonzero(wanted))
        if count < self._threshold:
            self._quiet_since = self._quiet_since or at
            if self._fired and (at - self._quiet_since).total_seconds() >= self._rearm:
                self._fired = False
            return []
        self._quiet_since = None
        if self._fired:
            return []
        gap = (at - self._last_crowded).total_seconds() if self._last_crowded else None
        dipped = gap is None or gap > max(self._hold / 2, 1.5 * step)
        if self._crowded_since is None or dipped:
            self._crowded_since = at
        self._last_crowded = at
        if (at - self._crowded_since).total_seconds() < self._hold:
            return []
        self._fired = True
        self._crowded_since = self._last_crowded = None
        rows = np.flatnonzero(wanted)
        x1, y1 = tracked.xyxy[rows, 0].min(), tracked.xyxy[rows, 1].min()
        x2, y2 = tracked.xyxy[rows, 2].max(), tracked.xyxy[rows, 3].max()
        return [
            Firing(
                kind="crowd",
                rule=self.name,
                at=at,
                xyxy=(float(x1), float(y1), float(x2), float(y2)),
                value=float(count),
            )
        ]
