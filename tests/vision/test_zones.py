"""Table-driven geometry: point in polygon, side of line, crossing the segment itself."""

from __future__ import annotations

import numpy as np
import pytest

from safecity.vision.zones import Polygon, Tripwire, polygon

SQUARE = polygon([[0, 0], [10, 0], [10, 10], [0, 10]])
# An L shape: the notch (7, 7) is outside although it lies inside the bounding box.
ELL = polygon([[0, 0], [10, 0], [10, 5], [5, 5], [5, 10], [0, 10]])


@pytest.mark.parametrize(
    ("shape", "point", "inside"),
    [
        (SQUARE, (5, 5), True),
        (SQUARE, (0, 5), True),  # on the edge counts as inside
        (SQUARE, (10, 10), True),  # a corner too
        (SQUARE, (10.01, 5), False),
        (SQUARE, (-1, -1), False),
        (ELL, (2, 8), True),
        (ELL, (8, 2), True),
        (ELL, (7, 7), False),
    ],
)
def test_point_in_polygon(shape: Polygon, point: tuple[float, float], inside: bool) -> None:
    assert shape.contains(np.array([point], dtype=np.float32)).tolist() == [inside]


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([[0, 0], [1, 1]], "at least 3 distinct points"),
        ([[0, 0], [1, 1], [0, 0]], "at least 3 distinct points"),
        ([[0, 0], [1, 1], [2, 2]], "one line"),
    ],
)
def test_degenerate_polygons_are_refused(points: list[list[float]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        polygon(points)


# Left to right along y = 5: in image coordinates (y down) "right" of it is below.
HORIZONTAL = Tripwire((0, 5), (10, 5))


@pytest.mark.parametrize(
    ("point", "side"),
    [((5, 8), 1), ((5, 2), -1), ((20, 5), 0), ((-3, 9), 1)],
)
def test_side_of_line(point: tuple[float, float], side: int) -> None:
    assert HORIZONTAL.side(np.array([point], dtype=np.float32)).tolist() == [side]


@pytest.mark.parametrize(
    ("start", "end", "crosses"),
    [
        ((5, 2), (5, 8), True),
        ((5, 8), (5, 2), True),
        ((15, 2), (15, 8), False),  # crosses the extension, not the segment
        ((5, 2), (5, 4), False),  # stays on one side
        ((0, 2), (10, 8), True),  # diagonal through the middle
        ((5, 5), (5, 8), False),  # starting on the line is not a crossing yet
    ],
)
def test_crossing_the_segment(
    start: tuple[float, float], end: tuple[float, float], crosses: bool
) -> None:
    a = np.array([start], dtype=np.float32)
    b = np.array([end], dtype=np.float32)
    assert HORIZONTAL.within_span(a, b).tolist() == [crosses]


def test_scaling_and_bad_lines() -> None:
    assert SQUARE.scaled(2, 3).points[2] == (20.0, 30.0)
    assert HORIZONTAL.scaled(0.5, 2).end == (5.0, 10.0)
    with pytest.raises(ValueError, match="two different end points"):
        Tripwire((1, 1), (1, 1))
