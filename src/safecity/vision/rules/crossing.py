"""Movement rules: tripwire crossings counted by direction, and wrong-way movement."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from safecity.vision.detections import Detections
from safecity.vision.rules.base import ClassFilter, Firing, TrackMemory, firing, tracked_rows
from safecity.vision.zones import Polygon, Tripwire


class LineCrossing:
    """Fires each time a track's ground point crosses the tripwire; value: count in that direction.

    'in' is crossing from the line's left to its right (see ``Tripwire``).
    """

    def __init__(self, name: str, line: Tripwire, classes: ClassFilter | None = None) -> None:
        self.name = name
        self._line = line
        self._classes = classes or ClassFilter()
        self._memory: TrackMemory[tuple[float, float]] = TrackMemory()
        self.counts = {"in": 0, "out": 0}

    def update(self, at: datetime, tracked: Detections) -> list[Firing]:
        anchors = tracked.anchors()
        fired = []
        for row, track in tracked_rows(tracked, self._classes.mask(tracked)):
            now = anchors[row]
            before = self._memory.states.get(track)
            self._memory.states[track] = (float(now[0]), float(now[1]))
            self._memory.touch(track, at)
            if before is None:
                continue
            a = np.array([before], dtype=np.float32)
            b = now[None, :]
            if not self._line.within_span(a, b)[0]:
                continue
            direction = "in" if self._line.side(b)[0] > 0 else "out"
            self.counts[direction] += 1
            fired.append(
                firing(
                    "line_crossing",
                    self.name,
                    at,
                    tracked,
                    row,
                    value=float(self.counts[direction]),
                    direction=direction,
                )
            )
        self._memory.forget_stale(at)
        return fired


@dataclass
class _Path:
    points: list[tuple[datetime, float, float]] = field(default_factory=list)
    fired: bool = False


class WrongWay:
    """Fires once per track that moves against the allowed direction inside the zone.

    The allowed direction is the tripwire's start -> end. A track whose
    displacement over the last ``window_seconds`` is at least ``min_distance``
    pixels and points within ``tolerance_degrees`` of the reverse direction is
    going the wrong way.
    """

    def __init__(
        self,
        name: str,
        zone: Polygon | None,
        allowed: Tripwire,
        *,
        min_distance: float = 20.0,
        tolerance_degrees: float = 60.0,
        window_seconds: float = 2.0,
        classes: ClassFilter | None = None,
    ) -> None:
        self.name = name
        self._zone = zone
        self._allowed = allowed.direction()
        self._min_distance = min_distance
        self._cos_limit = math.cos(math.radians(tolerance_degrees))
        self._window = window_seconds
        self._classes = classes or ClassFilter()
        self._memory: TrackMemory[_Path] = TrackMemory()

    def update(self, at: datetime, tracked: Detections) -> list[Firing]:
        wanted = self._classes.mask(tracked)
        anchors = tracked.anchors()
        if self._zone is not None and len(tracked):
            wanted = wanted & self._zone.contains(anchors)
        fired = []
        for row, track in tracked_rows(tracked, wanted):
            path = self._memory.states.setdefault(track, _Path())
            self._memory.touch(track, at)
            path.points.append((at, float(anchors[row, 0]), float(anchors[row, 1])))
            path.points = [p for p in path.points if (at - p[0]).total_seconds() <= self._window]
            if path.fired or len(path.points) < 2:
                continue
            _, x0, y0 = path.points[0]
            move = np.array([anchors[row, 0] - x0, anchors[row, 1] - y0], dtype=np.float32)
            distance = float(np.linalg.norm(move))
            if distance < self._min_distance:
                continue
            if float(np.dot(move / distance, -self._allowed)) >= self._cos_limit:
                path.fired = True
                fired.append(firing("wrong_way", self.name, at, tracked, row, value=distance))
        self._memory.forget_stale(at)
        return fired
