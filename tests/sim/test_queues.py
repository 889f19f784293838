"""Vehicles queue at red lights: they halt at the stop line or behind the queue, wait,
and move off in turn on green; the ground truth follows their halts exactly."""

from __future__ import annotations

import itertools
from collections import defaultdict

import pytest

from safecity.sim.city import build_city
from safecity.sim.render import city_options, simulate_truth
from safecity.sim.scene import City, Vehicle
from safecity.sim.traffic import GREEN_MARGIN_S, SAFE_GAP_M, STOP_BEFORE_LINE_M

OPTIONS = city_options(5, 120.0, cameras=4, fps=5)


@pytest.fixture(scope="module")
def city() -> City:
    return build_city(OPTIONS)


def _junction(city: City, position_m: float) -> int:
    """The camera whose stop line a halt at ``position_m`` waits for (the next one ahead)."""
    lines = [
        (site.stop_line_m, index)
        for index, site in enumerate(city.cameras)
        if site.stop_line_m is not None and site.stop_line_m >= position_m
    ]
    return min(lines)[1]


def test_vehicles_halt_on_red_and_move_off_on_green(city: City) -> None:
    halts = 0
    for vehicle in city.vehicles:
        for wait in vehicle.waits:
            site = city.cameras[_junction(city, wait.position_m)]
            assert site.signal is not None
            assert site.stop_line_m is not None
            assert wait.position_m <= site.stop_line_m - STOP_BEFORE_LINE_M + 1e-9
            # It would have crossed off green, so it stopped; it leaves on green.
            assert site.signal.state_at(wait.from_s + 1e-6) != "green" or (
                site.signal.margin_inside(wait.from_s, "green") < GREEN_MARGIN_S
            )
            assert site.signal.state_at(wait.until_s) == "green"
            # Standing still in the meantime, exactly at its halt.
            for time_s in (wait.from_s, (wait.from_s + wait.until_s) / 2, wait.until_s):
                assert vehicle.front_at(time_s) == pytest.approx(wait.position_m)
            assert vehicle.standing_at((wait.from_s + wait.until_s) / 2)
            halts += 1
    assert halts >= 10


def test_queues_form_behind_the_first_vehicle_and_keep_their_gaps(city: City) -> None:
    queues: dict[tuple[int, int, float], list[tuple[float, Vehicle]]] = defaultdict(list)
    for vehicle in city.vehicles:
        for wait in vehicle.waits:
            junction = _junction(city, wait.position_m)
            plan = city.cameras[junction].signal
            assert plan is not None
            # The green it waited for began at most a cycle before it moved off.
            green_at = wait.until_s - (wait.until_s - plan.offset_s) % plan.cycle_s
            key = (junction, vehicle.lane, round(green_at, 3))
            queues[key].append((wait.position_m, vehicle))
    longest = 0
    for members in queues.values():
        members.sort(key=lambda item: -item[0])  # nearest the stop line first
        for (ahead_m, ahead), (behind_m, _) in itertools.pairwise(members):
            assert ahead_m - ahead.model.length - behind_m >= SAFE_GAP_M
        longest = max(longest, len(members))
    # Vehicles arriving during one red share its queue, so some queue holds several.
    assert longest >= 2


def test_ground_truth_includes_the_halts(city: City) -> None:
    truth = simulate_truth(OPTIONS)
    by_plate = {vehicle.plate.registration: vehicle for vehicle in city.vehicles}
    checked = 0
    for seen in truth.vehicles:
        vehicle = by_plate[seen.plate]
        for appearance in seen.appearances:
            site = next(s for s in city.cameras if s.id == appearance.camera_id)
            assert appearance.passes_camera_s == pytest.approx(
                vehicle.time_front_at(site.rig.position_m), abs=1e-3
            )
            if vehicle.waits:
                checked += 1
    assert checked >= 5
