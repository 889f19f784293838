"""Zones of an analytics configuration: a simple polygon, or a clear reason why not."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from safecity.contracts.analytics_config import ZoneConfig, outline_crossing


@pytest.mark.parametrize(
    ("points", "message"),
    [
        # The reviewer's bow tie: edges 1-2 and 3-4 cross.
        (
            [[0.1, 0.1], [0.9, 0.8], [0.9, 0.2], [0.2, 0.9]],
            "edge from corner 1 to corner 2 meets its edge from corner 3 to corner 4",
        ),
        # A symmetric one encloses no area on balance: still a crossing, not a line.
        (
            [[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]],
            "edge from corner 1 to corner 2 meets its edge from corner 3 to corner 4",
        ),
        # The outline goes back to a corner it passed: touching itself at (1, 0).
        ([[0, 0], [1, 0], [1, 1], [1, 0], [0, 1]], "must not cross or touch itself"),
        # It doubles back along the edge it drew.
        ([[0, 0], [1, 0], [0.5, 0], [0.5, 1]], "corner 1 to corner 2 meets its edge from corner 2"),
        # A corner on another edge.
        ([[0, 0], [1, 0], [1, 1], [0.5, 0], [0, 1]], "must not cross or touch itself"),
    ],
)
def test_outlines_that_cross_or_touch_themselves_are_named(
    points: list[list[float]], message: str
) -> None:
    """The configuration service refuses them with this reason (tests/analytics/
    test_config_api.py); the model itself takes them, so a configuration stored before
    the check still loads and its camera keeps running."""
    zone = ZoneConfig.model_validate({"name": "z", "points": points})
    problem = outline_crossing(zone.points)
    assert problem is not None
    assert re.search(message, problem)


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ([[0, 0], [0.5, 0], [1, 0]], "must not all lie on one line"),
        ([[0, 0], [1, 1], [0.5, 0.5], [0.25, 0.25]], "must not all lie on one line"),
        ([[0, 0], [1, 1], [0, 0]], "at least 3 distinct corners"),
    ],
)
def test_zones_that_enclose_no_single_area_are_refused(
    points: list[list[float]], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        ZoneConfig.model_validate({"name": "z", "points": points})


@pytest.mark.parametrize(
    "points",
    [
        [[0, 0.4], [1, 0.4], [1, 1], [0, 1]],
        [[0.1, 0.1], [0.9, 0.2], [0.9, 0.8], [0.2, 0.9]],  # the bow tie's corners in order
        [[0.2, 0.2], [0.5, 0.6], [0.8, 0.2], [0.8, 0.9], [0.2, 0.9]],  # concave
        [[0, 0], [1, 0], [1, 0], [1, 1]],  # a corner clicked twice
    ],
)
def test_simple_polygons_are_taken(points: list[list[float]]) -> None:
    zone = ZoneConfig.model_validate({"name": "z", "points": points})
    assert outline_crossing(zone.points) is None
