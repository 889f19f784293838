"""Ground-truth structure and the physical invariants it promises."""

from __future__ import annotations

import itertools
import json
import re

import pytest
from pydantic import ValidationError

from safecity.sim.city import build_city
from safecity.sim.render import city_options
from safecity.sim.truth import GroundTruth, SignalState, VehicleTruth
from safecity.sim.vehicles import MODELS

PLATE = re.compile(r"^[A-HJ-NP-TV-Z]{2,4}[0-9]{2,4}$")


def _state(truth: GroundTruth, signal_id: str, time_s: float) -> SignalState | None:
    signal = next(s for s in truth.signals if s.id == signal_id)
    for phase in signal.phases:
        if phase.start_s <= time_s < phase.end_s:
            return phase.state
    return None


def _camera_position(truth: GroundTruth, camera_id: str) -> float:
    return next(c.position.corridor_m for c in truth.cameras if c.id == camera_id)


def test_json_round_trip_and_interface_names(long_truth: GroundTruth) -> None:
    text = long_truth.model_dump_json(by_alias=True)
    assert GroundTruth.model_validate_json(text) == long_truth
    data = json.loads(text)
    assert {"cameras", "vehicles", "signals", "pedestrians", "fps"} <= set(data)
    camera = data["cameras"][0]
    assert {"id", "position"} <= set(camera)
    vehicle = data["vehicles"][0]
    assert {"id", "plate", "plate_lines", "class", "colour", "speed_kmh", "appearances"} <= set(
        vehicle
    )
    appearance = vehicle["appearances"][0]
    assert {"camera_id", "first_frame", "last_frame", "first_time_s", "last_time_s"} <= set(
        appearance
    )


def test_unknown_fields_are_refused_and_models_are_frozen(long_truth: GroundTruth) -> None:
    data = json.loads(long_truth.model_dump_json(by_alias=True))
    data["vehicles"][0]["surprise"] = 1
    with pytest.raises(ValidationError, match="surprise"):
        GroundTruth.model_validate(data)
    with pytest.raises(ValidationError):
        long_truth.vehicles[0].speed_kmh = 1.0  # type: ignore[misc]


def test_plates_are_valid_unique_and_printed(long_truth: GroundTruth) -> None:
    plates = [v.plate for v in long_truth.vehicles]
    assert len(plates) == len(set(plates))
    for vehicle in long_truth.vehicles:
        assert PLATE.match(vehicle.plate), vehicle.plate
        printed = "".join(vehicle.plate_lines).replace(" ", "").replace("-", "")
        letters = re.match(r"[A-Z]+", vehicle.plate)
        assert letters is not None
        assert letters.group(0) in printed
        assert vehicle.plate[len(letters.group(0)) :] in printed


def test_the_scene_holds_every_kind_of_case(long_truth: GroundTruth) -> None:
    vehicles = long_truth.vehicles
    assert {v.vehicle_class for v in vehicles} == set(MODELS)
    assert any(v.ran_red_light for v in vehicles)
    assert any(v.wrong_way for v in vehicles)
    assert any(len({a.camera_id for a in v.appearances}) >= 3 for v in vehicles)
    assert {v.lighting for v in vehicles} == {"day", "dusk", "night"}
    assert {v.province for v in vehicles} == {"punjab", "sindh", "kp", "ict"}
    assert long_truth.pedestrians


def test_ids_and_frames_are_consistent(long_truth: GroundTruth) -> None:
    fps, count = long_truth.fps, long_truth.frame_count
    firsts = [min(a.first_frame for a in v.appearances) for v in long_truth.vehicles]
    assert firsts == sorted(firsts)
    assert [v.id for v in long_truth.vehicles] == [f"V{i:04d}" for i in range(1, len(firsts) + 1)]
    for vehicle in long_truth.vehicles:
        low, high = MODELS[vehicle.vehicle_class].speed_kmh
        assert low <= vehicle.speed_kmh <= high
        assert 1 <= vehicle.lane <= len(long_truth.road.lanes)
        for appearance in vehicle.appearances:
            assert 0 <= appearance.first_frame <= appearance.last_frame < count
            assert appearance.first_time_s == pytest.approx(appearance.first_frame / fps)
            assert appearance.last_time_s == pytest.approx(appearance.last_frame / fps)
            for sample in appearance.samples:
                assert appearance.first_frame <= sample.frame <= appearance.last_frame
                box = sample.plate_box
                assert box is not None
                assert box.x >= 0
                assert box.x + box.w <= long_truth.width
                assert box.y >= 0
                assert box.y + box.h <= long_truth.height
                assert sample.plate_height_px is not None
                assert sample.plate_height_px > 0


def _uncut(vehicle: VehicleTruth, count: int) -> list[tuple[str, int, int]]:
    return [
        (a.camera_id, a.first_frame, a.last_frame)
        for a in vehicle.appearances
        if a.first_frame > 0 and a.last_frame < count - 1
    ]


def test_travel_time_between_cameras_is_distance_over_speed(long_truth: GroundTruth) -> None:
    """Exactly, for a vehicle that did not wait at a red light in between; a vehicle that
    waited took longer (tests/sim/test_queues.py accounts for its halts exactly)."""
    fps, flowing, waited = long_truth.fps, 0, 0
    halted = {
        v.plate.registration
        for v in build_city(city_options(5, 120.0, cameras=4, fps=5)).vehicles
        if v.waits
    }
    for vehicle in long_truth.vehicles:
        speed_m_s = vehicle.speed_kmh / 3.6
        passes = [a.passes_camera_s for a in vehicle.appearances]
        positions = [_camera_position(long_truth, a.camera_id) for a in vehicle.appearances]
        for i in range(1, len(passes)):
            expected = abs(positions[i] - positions[i - 1]) / speed_m_s
            assert passes[i] - passes[i - 1] >= expected - 1e-3, vehicle.id
            if vehicle.plate not in halted:
                assert passes[i] - passes[i - 1] == pytest.approx(expected, abs=1e-3)
        if vehicle.plate in halted:
            waited += 1
            continue
        seen = _uncut(vehicle, long_truth.frame_count)
        for (cam_a, first_a, last_a), (cam_b, first_b, last_b) in itertools.pairwise(seen):
            distance = abs(
                _camera_position(long_truth, cam_b) - _camera_position(long_truth, cam_a)
            )
            travel = distance / speed_m_s
            assert abs((first_b - first_a) / fps - travel) <= 1 / fps + 1e-6, vehicle.id
            assert abs((last_b - last_a) / fps - travel) <= 1 / fps + 1e-6, vehicle.id
            flowing += 1
    assert flowing >= 5
    assert waited >= 3, "some vehicles should have waited at a red light between cameras"


def test_red_light_runners_cross_on_red_and_others_on_green(long_truth: GroundTruth) -> None:
    by_camera = {c.id: c.signal_id for c in long_truth.cameras}
    runners = 0
    for vehicle in long_truth.vehicles:
        crossings = [
            (a, _state(long_truth, by_camera[a.camera_id] or "", a.stop_line_s))
            for a in vehicle.appearances
            if a.stop_line_s is not None
            and by_camera[a.camera_id] is not None
            and 0 <= a.stop_line_s < long_truth.duration_s
        ]
        if vehicle.wrong_way:
            continue
        reds = [a for a, state in crossings if state == "red"]
        if vehicle.ran_red_light:
            assert len(reds) == 1, vehicle.id
            runners += 1
            # The violation is on video: the crossing lies inside the appearance.
            assert reds[0].first_time_s <= reds[0].stop_line_s <= reds[0].last_time_s  # type: ignore[operator]
        else:
            assert all(state == "green" for _, state in crossings), vehicle.id
    assert runners >= 2


def test_wrong_way_vehicles_move_against_the_lane(long_truth: GroundTruth) -> None:
    checked = 0
    for vehicle in long_truth.vehicles:
        positions = [_camera_position(long_truth, a.camera_id) for a in vehicle.appearances]
        order = sorted(positions, reverse=vehicle.wrong_way)
        assert positions == order, vehicle.id
        for appearance in vehicle.appearances:
            ys = [s.plate_box.y + s.plate_box.h / 2 for s in appearance.samples if s.plate_box]
            if len(ys) >= 3 and ys[-1] != ys[0]:
                # Lawful traffic comes towards the camera (down the frame); wrong-way goes away.
                assert (ys[-1] < ys[0]) == vehicle.wrong_way, vehicle.id
                checked += vehicle.wrong_way
    assert checked >= 1


def test_pedestrians_cross_while_traffic_has_red(long_truth: GroundTruth) -> None:
    signal_of = {c.id: c.signal_id for c in long_truth.cameras}
    seen = 0
    for walker in long_truth.pedestrians:
        signal_id = signal_of[walker.camera_id]
        assert signal_id is not None
        for time_s in (walker.start_s + 0.01, walker.end_s - 0.01):
            if 0 <= time_s < long_truth.duration_s:
                assert _state(long_truth, signal_id, time_s) == "red", walker.id
        seen += walker.first_frame is not None
    assert seen >= 1


def test_signal_phases_cover_the_render(long_truth: GroundTruth) -> None:
    for signal in long_truth.signals:
        assert signal.phases[0].start_s == 0.0
        assert signal.phases[-1].end_s == long_truth.duration_s
        for before, after in zip(signal.phases, signal.phases[1:], strict=False):
            assert before.end_s == after.start_s
