"""Stillness rules: a vehicle stopped in a no-stopping zone, an object left behind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from safecity.vision.detections import Detections
from safecity.vision.rules.base import ClassFilter, Firing, TrackMemory, firing, tracked_rows
from safecity.vision.zones import Polygon


@dataclass
class _Still:
    since: datetime
    x: float
    y: float
    fired: bool = False


MOVEMENT_SHARE = 0.15
"""Share of the box's height that still counts as standing still: a detector's box around
the same parked car shifts by several pixels from one run to the next (the more, the
larger the car), and a fixed few pixels read that as the car moving off and stopping
again, so the rule fired twice for one stop."""


class _Stillness:
    """Fires once when a track has stayed within ``max_movement`` pixels (or 15 % of its
    box's height, if more) for ``seconds``."""

    kind = ""

    def __init__(
        self,
        name: str,
        zone: Polygon | None,
        seconds: float,
        *,
        max_movement: float = 8.0,
        classes: ClassFilter | None = None,
    ) -> None:
        if seconds <= 0:
            raise ValueError(f"{self.kind} seconds must be positive")
        self.name = name
        self._zone = zone
        self._seconds = seconds
        self._max_movement = max_movement
        self._classes = classes or ClassFilter()
        # A stopped object may be lost by the tracker for a moment; keep its state a while.
        self._memory: TrackMemory[_Still] = TrackMemory(forget_seconds=max(10.0, seconds))

    def update(self, at: datetime, tracked: Detections) -> list[Firing]:
        wanted = self._classes.mask(tracked)
        anchors = tracked.anchors()
        heights = tracked.xyxy[:, 3] - tracked.xyxy[:, 1]
        if self._zone is not None and len(tracked):
            wanted = wanted & self._zone.contains(anchors)
        fired = []
        for row, track in tracked_rows(tracked, wanted):
            x, y = float(anchors[row, 0]), float(anchors[row, 1])
            tolerance = max(self._max_movement, MOVEMENT_SHARE * float(heights[row]))
            self._memory.touch(track, at)
            still = self._memory.states.get(track)
            if still is None or np.hypot(x - still.x, y - still.y) > tolerance:
                self._memory.states[track] = _Still(since=at, x=x, y=y)
                continue
            held = (at - still.since).total_seconds()
            if held >= self._seconds and not still.fired:
                still.fired = True
                fired.append(firing(self.kind, self.name, at, tracked, row, value=held))
        self._memory.forget_stale(at)
        return fired


class StoppedVehicle(_Stillness):
    """A vehicle (by class) that stopped in a no-stopping zone; value: seconds stopped."""

    kind = "stopped_vehicle"


class ObjectLeft(_Stillness):
    """An object (bag, suitcase, or any still motion region) left in place; value: seconds."""

    kind = "object_left"
