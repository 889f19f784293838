"""Movement rules: tripwire crossings counted by direction, and wrong-way movement."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

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


@dataclass(frozen=True)
class _Step:
    at: datetime
    x: float
    y: float
    in_zone: bool


@dataclass
class _Path:
    points: list[_Step] = field(default_factory=list)
    fired: bool = False


EDGE_MARGIN_SHARE = 0.01
"""A box this close to the picture's left, right or bottom side (share of the frame's
width or height) is cut by it: as a vehicle comes in or leaves, its box grows or shrinks
at the edge and its bottom centre seems to move though the vehicle may not. A box cut by
the top keeps its bottom centre: the vehicle's ground point is in view."""
AGREEING_SHARE = 0.7
"""Share of the steps over the window that must go backwards: a box that jumps once (a
car behind a truck, a box that swaps halves) moves back in one step, not in most."""
LARGEST_STEP_SHARE = 0.75
"""No one step may make more than this share of the backwards distance (with two steps:
the shorter at least a third of the longer)."""
MIN_STEPS = 2
"""Steps (between analysed frames) the movement is judged on, at least: a motorcycle
close to an ANPR camera is whole in the picture for only three or four analysed frames
(5 fps, simulator seed 8601)."""
STILL_STEP = 0.5
"""Pixels along the direction below which a step counts neither way (a box at rest)."""


class WrongWay:
    """Fires once per track that moves against the allowed direction inside the zone.

    The allowed direction is the tripwire's start -> end. A track whose displacement
    over the last ``window_seconds`` is at least ``min_distance`` pixels, points within
    ``tolerance_degrees`` of the reverse direction, is made of steady steps backwards
    (most of them going back, none making most of the distance) and lies in the zone
    for at least half of its points is going the wrong way. Boxes cut by the picture's
    left, right or bottom side are not used: their ground point is not the vehicle's.
    """

    def __init__(
        self,
        name: str,
        zone: Polygon | None,
        allowed: Tripwire,
        *,
        frame_size: tuple[int, int],
        min_distance: float = 20.0,
        tolerance_degrees: float = 60.0,
        window_seconds: float = 2.0,
        classes: ClassFilter | None = None,
    ) -> None:
        width, height = frame_size
        if width <= 0 or height <= 0:
            raise ValueError(f"frame size must be positive, got {width}x{height}")
        self.name = name
        self._zone = zone
        self._backwards = -allowed.direction()
        self._min_distance = min_distance
        self._cos_limit = math.cos(math.radians(tolerance_degrees))
        self._window = window_seconds
        self._classes = classes or ClassFilter()
        margin_x, margin_y = EDGE_MARGIN_SHARE * width, EDGE_MARGIN_SHARE * height
        self._inner = (margin_x, width - margin_x, height - margin_y)
        self._memory: TrackMemory[_Path] = TrackMemory()

    def _clear_of_edges(self, tracked: Detections) -> npt.NDArray[np.bool_]:
        left, right, bottom = self._inner
        xyxy = tracked.xyxy
        return (xyxy[:, 0] > left) & (xyxy[:, 2] < right) & (xyxy[:, 3] < bottom)

    def update(self, at: datetime, tracked: Detections) -> list[Firing]:
        wanted = self._classes.mask(tracked)
        anchors = tracked.anchors()
        in_zone = np.ones(len(tracked), dtype=bool)
        if len(tracked):
            wanted = wanted & self._clear_of_edges(tracked)
            if self._zone is not None:
                in_zone = self._zone.contains(anchors)
        fired = []
        for row, track in tracked_rows(tracked, wanted):
            path = self._memory.states.setdefault(track, _Path())
            self._memory.touch(track, at)
            x, y = float(anchors[row, 0]), float(anchors[row, 1])
            path.points.append(_Step(at, x, y, bool(in_zone[row])))
            path.points = [p for p in path.points if (at - p.at).total_seconds() <= self._window]
            if path.fired:
                continue
            distance = self._backwards_distance(path)
            if distance is not None:
                path.fired = True
                fired.append(firing("wrong_way", self.name, at, tracked, row, value=distance))
        self._memory.forget_stale(at)
        return fired

    def _backwards_distance(self, path: _Path) -> float | None:
        """How far the path went backwards over the window, if it steadily did."""
        if len(path.points) <= MIN_STEPS:
            return None
        if 2 * sum(p.in_zone for p in path.points) < len(path.points):
            return None
        ground = np.array([(p.x, p.y) for p in path.points], dtype=np.float64)
        move = ground[-1] - ground[0]
        distance = float(np.linalg.norm(move))
        backwards = (
            distance >= self._min_distance
            and float(np.dot(move, self._backwards)) >= self._cos_limit * distance
        )
        if backwards and _steady(np.diff(ground, axis=0) @ self._backwards):
            return distance
        return None


def _steady(along: npt.NDArray[np.float64]) -> bool:
    """Whether steps (their lengths along the backwards direction) make a steady movement:
    enough of them, most going backwards, none making most of the way."""
    moving = along[np.abs(along) >= STILL_STEP]
    return bool(
        len(moving) >= MIN_STEPS
        and np.count_nonzero(moving > 0) >= AGREEING_SHARE * len(moving)
        and float(along.max()) <= LARGEST_STEP_SHARE * float(along.sum())
    )
