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
class _Seen:
    """A track's box on one frame, and which of its ends the picture's edge cuts."""

    at: datetime
    x: float
    top: float
    bottom: float
    top_cut: bool
    bottom_cut: bool
    in_zone: bool

    def same_box(self, other: _Seen) -> bool:
        return (self.x, self.top, self.bottom) == (other.x, other.top, other.bottom)

    def step_to(self, later: _Seen) -> tuple[float, float, float] | None:
        """How the vehicle moved between the two frames (x, y, seconds): its bottom's
        movement where both bottoms are in view, else its top's (a vehicle coming up from
        under the bottom edge); None when no end is in view on both."""
        seconds = (later.at - self.at).total_seconds()
        if not self.bottom_cut and not later.bottom_cut:
            return later.x - self.x, later.bottom - self.bottom, seconds
        if not self.top_cut and not later.top_cut:
            return later.x - self.x, later.top - self.top, seconds
        return None


@dataclass
class _Path:
    points: list[_Seen] = field(default_factory=list)
    fired: bool = False


EDGE_MARGIN_SHARE = 0.01
"""A box this close to the picture's side (share of the frame's width or height) is cut
by it: as a vehicle comes in or leaves, its box grows or shrinks at the edge, so the cut
end seems to move though the vehicle may not. A box cut at the left or right is not
used; one cut at the top or bottom moves by its other end."""
AGREEING_SHARE = 0.7
"""Share of the steps over the window that must go backwards: a box that jumps once (a
car behind a truck, a box that swaps halves) moves back in one step, not in most."""
JUMP_SPEED_RATIO = 3.0
"""No one step may go backwards faster than this many times the other steps' speed (with
two equally long steps: the shorter at least a third of the longer)."""
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
    for at least half of its points is going the wrong way. A box is followed by its
    bottom, or by its top while the bottom is cut by the picture's edge (a vehicle coming
    up from under it); boxes cut at the left or right are not used.
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
        self._margins = (EDGE_MARGIN_SHARE * width, EDGE_MARGIN_SHARE * height)
        self._size = (width, height)
        self._memory: TrackMemory[_Path] = TrackMemory()

    def update(self, at: datetime, tracked: Detections) -> list[Firing]:
        (margin_x, margin_y), (width, height) = self._margins, self._size
        xyxy = tracked.xyxy
        # Cut at a side, the box's centre is not the vehicle's: not used.
        wanted = self._classes.mask(tracked) & (xyxy[:, 0] > margin_x)
        wanted &= xyxy[:, 2] < width - margin_x
        in_zone = np.ones(len(tracked), dtype=bool)
        if self._zone is not None and len(tracked):
            in_zone = self._zone.contains(tracked.anchors())
        fired = []
        for row, track in tracked_rows(tracked, wanted):
            x1, y1, x2, y2 = (float(v) for v in xyxy[row])
            path = self._memory.states.setdefault(track, _Path())
            self._memory.touch(track, at)
            seen = _Seen(
                at,
                (x1 + x2) / 2,
                y1,
                y2,
                top_cut=y1 <= margin_y,
                bottom_cut=y2 >= height - margin_y,
                in_zone=bool(in_zone[row]),
            )
            # A box held unchanged (the tracker had nothing new: the detector did not run
            # and the follower lost it) is no new measurement: the next real one is
            # compared with the last, over the time between them.
            if not path.points or not path.points[-1].same_box(seen):
                path.points.append(seen)
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
        pairs = zip(path.points, path.points[1:], strict=False)
        measured = [step for a, b in pairs if (step := a.step_to(b)) is not None]
        if len(measured) < MIN_STEPS:
            return None
        steps = np.array(measured, dtype=np.float64)
        move = steps[:, :2].sum(axis=0)
        distance = float(np.linalg.norm(move))
        backwards = (
            distance >= self._min_distance
            and float(np.dot(move, self._backwards)) >= self._cos_limit * distance
        )
        if backwards and _steady(steps[:, :2] @ self._backwards, steps[:, 2]):
            return distance
        return None


def _steady(along: npt.NDArray[np.float64], seconds: npt.NDArray[np.float64]) -> bool:
    """Whether steps (their lengths along the backwards direction, and the seconds each
    took) make a steady movement: enough of them, most going backwards, and the fastest
    at most JUMP_SPEED_RATIO times as fast as the rest together (a box that jumps)."""
    moving = np.abs(along) >= STILL_STEP
    if np.count_nonzero(moving) < MIN_STEPS:
        return False
    if np.count_nonzero(along[moving] > 0) < AGREEING_SHARE * np.count_nonzero(moving):
        return False
    seconds = np.maximum(seconds, 1e-3)  # two frames of one instant: no speed to divide by
    fastest = int(np.argmax(along / seconds))
    rest = np.arange(len(along)) != fastest
    rest_speed = float(along[rest].sum()) / float(seconds[rest].sum())
    return rest_speed > 0 and float(along[fastest] / seconds[fastest]) <= (
        JUMP_SPEED_RATIO * rest_speed
    )
