"""Signal phases and the lighting timeline."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from safecity.sim.signals import LightingTimeline, SignalPlan

PLAN = SignalPlan(green_s=14.0, amber_s=3.0, red_s=11.0, offset_s=5.0)


def test_phases_tile_the_interval_in_order() -> None:
    phases = PLAN.phases(0.0, 100.0)
    assert phases[0][1] == 0.0
    assert phases[-1][2] == 100.0
    for (state, _, end), (following, start, _) in itertools.pairwise(phases):
        assert end == pytest.approx(start)
        assert (state, following) in {("green", "amber"), ("amber", "red"), ("red", "green")}


@pytest.mark.parametrize("time_s", [float(t) for t in np.arange(-30.0, 90.0, 0.37)])
def test_state_at_agrees_with_the_phase_list(time_s: float) -> None:
    for state, start, end in PLAN.phases(-40.0, 100.0):
        if start <= time_s < end:
            assert PLAN.state_at(time_s) == state
            return
    pytest.fail("time not covered")


def test_margin_inside_a_phase() -> None:
    assert PLAN.state_at(5.0) == "green"
    assert PLAN.margin_inside(6.0, "green") == pytest.approx(1.0)
    assert PLAN.margin_inside(18.5, "green") == pytest.approx(0.5)
    assert PLAN.margin_inside(19.5, "green") < 0
    assert PLAN.margin_inside(27.0, "red") == pytest.approx(5.0)


def test_red_intervals_are_red() -> None:
    reds = PLAN.red_intervals(0.0, 60.0)
    assert reds
    for start, end in reds:
        assert end - start <= PLAN.red_s + 1e-9
        assert PLAN.state_at((start + end) / 2) == "red"


def test_the_default_evening_passes_day_dusk_night() -> None:
    timeline = LightingTimeline.build(None, 40.0)
    assert [p[0] for p in timeline.periods] == ["day", "dusk", "night"]
    assert timeline.condition_at(1.0) == "day"
    assert timeline.condition_at(25.0) == "dusk"
    assert timeline.condition_at(39.9) == "night"
    assert timeline.level_at(1.0) > timeline.level_at(25.0) > timeline.level_at(39.9)
    # The light eases across a boundary instead of jumping.
    before, after, weight = timeline.blend_at(20.2)
    assert (before, after) == ("day", "dusk")
    assert 0 < weight < 1


def test_a_fixed_lighting_holds_throughout() -> None:
    timeline = LightingTimeline.build("night", 10.0)
    assert {timeline.condition_at(t) for t in np.arange(0, 10, 0.5)} == {"night"}
    assert timeline.blend_at(5.0) == ("night", "night", 0.0)
