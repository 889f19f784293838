"""Polygon zones and tripwire lines in frame pixels: point-in-polygon and side-of-line.

Coordinates are given in a reference size (the snapshot the engineer drew on)
and scaled to the analysed frame with :meth:`Polygon.scaled` /
:meth:`Tripwire.scaled`, so a camera that changes resolution keeps its zones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Point = tuple[float, float]


@dataclass(frozen=True)
class Polygon:
    """A simple polygon (at least three distinct corners)."""

    points: tuple[Point, ...]

    def __post_init__(self) -> None:
        if len(set(self.points)) < 3:
            raise ValueError(
                f"a polygon needs at least 3 distinct points, got {len(set(self.points))}"
            )
        if abs(self.area()) < 1e-9:
            raise ValueError("a polygon's points must not all lie on one line")

    def _contour(self) -> npt.NDArray[np.float32]:
        return np.array(self.points, dtype=np.float32).reshape(-1, 1, 2)

    def area(self) -> float:
        return float(cv2.contourArea(self._contour()))

    def contains(self, points: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
        """For each (x, y) row: inside or on the edge."""
        contour = self._contour()
        return np.array(
            [cv2.pointPolygonTest(contour, (float(x), float(y)), False) >= 0 for x, y in points],
            dtype=bool,
        )

    def scaled(self, factor_x: float, factor_y: float) -> Polygon:
        return Polygon(tuple((x * factor_x, y * factor_y) for x, y in self.points))


@dataclass(frozen=True)
class Tripwire:
    """A directed segment from ``start`` to ``end``; 'in' is crossing from its left to its right.

    Left and right are as seen walking from start to end in image coordinates
    (y grows downwards), so a line drawn left to right has 'in' going downwards.
    """

    start: Point
    end: Point

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("a line needs two different end points")

    def side(self, points: npt.NDArray[np.float32]) -> npt.NDArray[np.int8]:
        """-1 left, +1 right, 0 on the infinite line, for each (x, y) row."""
        (x1, y1), (x2, y2) = self.start, self.end
        cross = (x2 - x1) * (points[:, 1] - y1) - (y2 - y1) * (points[:, 0] - x1)
        return np.sign(cross).astype(np.int8)

    def within_span(
        self, a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.bool_]:
        """Whether the movement a -> b (rows) crosses the segment itself, not just its extension."""
        (x1, y1), (x2, y2) = self.start, self.end
        line = np.array([[x1, y1], [x2, y2]], dtype=np.float32)
        d_a = self.side(a)
        d_b = self.side(b)
        move = b - a
        # Endpoints of the tripwire relative to each movement: opposite sides means it is crossed.
        s1 = np.sign(move[:, 0] * (line[0, 1] - a[:, 1]) - move[:, 1] * (line[0, 0] - a[:, 0]))
        s2 = np.sign(move[:, 0] * (line[1, 1] - a[:, 1]) - move[:, 1] * (line[1, 0] - a[:, 0]))
        crossed: npt.NDArray[np.bool_] = (d_a * d_b < 0) & (s1 * s2 <= 0)
        return crossed

    def direction(self) -> npt.NDArray[np.float32]:
        """Unit vector along the line."""
        vector = np.array([self.end[0] - self.start[0], self.end[1] - self.start[1]], np.float32)
        return vector / np.linalg.norm(vector)

    def scaled(self, factor_x: float, factor_y: float) -> Tripwire:
        return Tripwire(
            (self.start[0] * factor_x, self.start[1] * factor_y),
            (self.end[0] * factor_x, self.end[1] * factor_y),
        )


def polygon(points: Sequence[Sequence[float]]) -> Polygon:
    return Polygon(tuple((float(p[0]), float(p[1])) for p in points))


def raster(polygons: Sequence[Polygon], width: int, height: int) -> npt.NDArray[np.bool_]:
    """Which pixels of a ``width`` x ``height`` image lie in any of ``polygons`` (its pixels)."""
    if width < 1 or height < 1:
        raise ValueError(f"an image needs a positive size, got {width}x{height}")
    canvas = np.zeros((height, width), np.uint8)
    for shape in polygons:
        corners = np.round(np.array(shape.points, dtype=np.float64)).astype(np.int32)
        cv2.fillPoly(canvas, [corners.reshape(-1, 1, 2)], 1)
    inside: npt.NDArray[np.bool_] = canvas.astype(bool)
    return inside


def inside_any(
    polygons: Sequence[Polygon], points: npt.NDArray[np.float32]
) -> npt.NDArray[np.bool_]:
    """For each (x, y) row: whether it lies in (or on the edge of) any of ``polygons``."""
    inside = np.zeros(len(points), dtype=bool)
    for shape in polygons:
        inside |= shape.contains(points)
    return inside
