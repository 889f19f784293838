"""Rules as state machines, each fed a scripted sequence of tracked boxes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from safecity.vision.detections import Detections
from safecity.vision.rules import (
    ClassFilter,
    Crowd,
    Firing,
    LineCrossing,
    Loitering,
    ObjectLeft,
    Rule,
    StoppedVehicle,
    WrongWay,
    ZoneIntrusion,
)
from safecity.vision.zones import Tripwire, polygon

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
ZONE = polygon([[100, 100], [300, 100], [300, 300], [100, 300]])
LINE = Tripwire((0, 200), (400, 200))  # 'in' is downwards

# One object: (track id, class id, ground point x, y); boxes are 20 wide, 40 tall.
Obj = tuple[int, int, float, float]


def frame(objects: Sequence[Obj]) -> Detections:
    if not objects:
        return Detections.create([], [], [], [])
    return Detections.create(
        [[x - 10, y - 40, x + 10, y] for _, _, x, y in objects],
        [0.9] * len(objects),
        [c for _, c, _, _ in objects],
        [t for t, _, _, _ in objects],
    )


def run(rule: Rule, script: Sequence[Sequence[Obj]], fps: float = 5) -> list[tuple[float, Firing]]:
    fired: list[tuple[float, Firing]] = []
    for index, objects in enumerate(script):
        at = T0 + timedelta(seconds=index / fps)
        fired.extend(((at - T0).total_seconds(), f) for f in rule.update(at, frame(objects)))
    return fired


def walk(track: int, start: tuple[float, float], end: tuple[float, float], steps: int) -> list[Obj]:
    return [
        (
            track,
            0,
            start[0] + (end[0] - start[0]) * i / (steps - 1),
            start[1] + (end[1] - start[1]) * i / (steps - 1),
        )
        for i in range(steps)
    ]


def test_zone_intrusion_fires_once_per_entry() -> None:
    path = walk(1, (50, 200), (200, 200), 6) + walk(1, (200, 200), (350, 200), 6)
    path += walk(1, (350, 200), (200, 200), 6)
    fired = run(ZoneIntrusion("entry", ZONE), [[p] for p in path])
    assert [(f.kind, f.rule, f.track_id) for _, f in fired] == [
        ("zone_intrusion", "entry", 1),
        ("zone_intrusion", "entry", 1),
    ]
    assert fired[0][1].xyxy is not None


def test_zone_intrusion_respects_the_class_filter() -> None:
    rule = ZoneIntrusion("people only", ZONE, ClassFilter(frozenset({0})))
    car = [(2, 2, 200.0, 200.0)]
    assert run(rule, [car, car]) == []


@pytest.mark.parametrize(("seconds", "frames", "fires"), [(2, 9, False), (2, 11, True)])
def test_loitering_after_the_dwell_time(seconds: float, frames: int, fires: bool) -> None:
    still = [[(1, 0, 200.0, 200.0)]] * frames
    fired = run(Loitering("dwell", ZONE, seconds), still)
    assert bool(fired) is fires
    if fires:
        assert len(fired) == 1
        assert fired[0][1].value == pytest.approx(2.0)


def test_loitering_restarts_when_the_object_leaves() -> None:
    inside, outside = [(1, 0, 200.0, 200.0)], [(1, 0, 50.0, 50.0)]
    script = [inside] * 8 + [outside] + [inside] * 8
    assert run(Loitering("dwell", ZONE, 2), script) == []


def test_crowd_fires_on_reaching_the_threshold_and_rearms_below() -> None:
    two = [(1, 0, 150.0, 150.0), (2, 0, 160.0, 160.0)]
    three = [*two, (3, 0, 170.0, 170.0)]
    fired = run(Crowd("crowd", ZONE, 3), [two, three, three, two, three])
    assert [(t, f.value) for t, f in fired] == [(0.2, 3.0), (0.8, 3.0)]
    assert fired[0][1].track_id is None


def test_line_crossing_counts_by_direction() -> None:
    down = walk(1, (100, 150), (100, 250), 4)
    up = walk(2, (300, 250), (300, 150), 4)
    beside = walk(3, (500, 150), (500, 250), 4)  # beyond the end of the line
    script = [[a, b, c] for a, b, c in zip(down, up, beside, strict=True)]
    rule = LineCrossing("count", LINE)
    fired = run(rule, script)
    assert sorted((f.track_id, f.direction, f.value) for _, f in fired) == [
        (1, "in", 1.0),
        (2, "out", 1.0),
    ]
    assert rule.counts == {"in": 1, "out": 1}


DOWN = Tripwire((200, 0), (200, 400))  # traffic should move down
FRAME = (640, 400)


def wrong_way(min_distance: float = 30) -> WrongWay:
    return WrongWay("against", None, DOWN, frame_size=FRAME, min_distance=min_distance)


def test_wrong_way_fires_against_the_allowed_direction_only() -> None:
    down = walk(1, (100, 50), (100, 350), 10)
    up = walk(2, (300, 350), (300, 50), 10)
    across = walk(3, (50, 380), (350, 380), 10)
    fired = run(wrong_way(), [[a, b, c] for a, b, c in zip(down, up, across, strict=True)])
    assert [f.track_id for _, f in fired] == [2]


def boxes(script: Sequence[tuple[float, float, float, float]], track: int = 1) -> list[Detections]:
    return [Detections.create([box], [0.9], [0], [track]) for box in script]


def run_boxes(rule: Rule, frames: Sequence[Detections], fps: float = 5) -> list[Firing]:
    return [
        fired
        for index, tracked in enumerate(frames)
        for fired in rule.update(T0 + timedelta(seconds=index / fps), tracked)
    ]


def test_a_vehicle_leaving_at_the_side_is_not_going_the_wrong_way() -> None:
    """Driving out through the right-hand side, down and to the right: the box is cut by
    the edge, its left side follows the car while its right side stays on the edge, and
    the front (its lowest corner) goes first, so the bottom centre slides right and up,
    backwards. It is a vehicle going the right way."""
    leaving = [(400.0 + 25 * i, 150.0, 640.0, 260.0 - 8 * i) for i in range(10)]
    assert run_boxes(wrong_way(), boxes(leaving)) == []


def test_a_box_that_jumps_once_behind_a_truck_is_not_going_the_wrong_way() -> None:
    """A car crawling down behind a truck: the truck hides its lower half, its box jumps
    up by 60 px in one step and then goes on moving down slowly."""
    script = [(300.0, 100.0 + 2 * i, 340.0, 200.0 + 2 * i) for i in range(5)]
    script += [(300.0, 100.0 + 2 * i, 340.0, 140.0 + 2 * i) for i in range(5, 12)]
    assert run_boxes(wrong_way(), boxes(script)) == []


def test_a_parked_car_whose_box_jitters_and_jumps_is_not_going_the_wrong_way() -> None:
    jitter = (0.0, 3.0, -2.0, 1.0, -4.0, 2.0)
    script = [(300.0, 250.0 + jitter[i % 6], 360.0, 300.0 + jitter[i % 6]) for i in range(12)]
    script[6] = (300.0, 200.0, 360.0, 255.0)
    script[7] = (300.0, 200.0, 360.0, 255.0)
    assert run_boxes(wrong_way(), boxes(script)) == []


def test_a_wrong_way_vehicle_coming_up_from_under_the_bottom_edge_is_caught_by_its_top() -> None:
    """Near an ANPR camera a vehicle going away is whole in the picture for two or three
    analysed frames: while the bottom edge cuts its box, its top shows how it moves."""
    entering = [(300.0, 330.0 - 20 * i, 360.0, 400.0) for i in range(4)]
    whole = [(300.0, 250.0 - 12 * i, 360.0, 380.0 - 12 * i) for i in range(8)]
    fired = run_boxes(wrong_way(), boxes(entering + whole))
    assert len(fired) == 1
    assert fired[0].at == T0 + timedelta(seconds=2 / 5)


def test_a_vehicle_leaving_under_the_bottom_edge_is_not_going_the_wrong_way() -> None:
    """Its box shrinks into the bottom edge: the bottom stays, the top comes down."""
    leaving = [(300.0, 200.0 + 20 * i, 360.0, 400.0) for i in range(8)]
    assert run_boxes(wrong_way(), boxes(leaving)) == []


def test_a_wrong_way_vehicle_cut_by_the_top_of_the_picture_is_caught() -> None:
    """Going away from an ANPR camera a near vehicle is taller than the picture: its top
    is cut off, its bottom (the ground point) is in view and moves up."""
    script = [(300.0, 0.0, 380.0, 380.0 - 40 * i) for i in range(1, 5)]
    assert len(run_boxes(wrong_way(), boxes(script))) == 1


def test_a_wrong_way_vehicle_leaving_the_zone_is_judged_on_its_path_around_its_edge() -> None:
    """Fast and near: two analysed frames in the zone, the third just past its far edge."""
    rule = WrongWay("against", ZONE, DOWN, frame_size=FRAME, min_distance=30)
    script = [(180.0, 150.0 - 70 * i, 220.0, 290.0 - 70 * i) for i in range(3)]
    assert len(run_boxes(rule, boxes(script))) == 1
    rule = WrongWay("against", ZONE, DOWN, frame_size=FRAME, min_distance=30)
    outside = [(380.0, 150.0 - 70 * i, 420.0, 290.0 - 70 * i) for i in range(3)]
    assert run_boxes(rule, boxes(outside)) == []


def test_a_wrong_way_vehicle_whose_box_was_held_for_a_frame_is_caught() -> None:
    """The tracker holds a fast vehicle's box while it has nothing new (the follower lost
    it between two detector runs): the next box has moved two frames' worth in one step,
    which is the same speed, not a jump."""
    bottoms = (380.0, 330.0, 330.0, 170.0)
    script = [(300.0, bottom - 120, 340.0, bottom) for bottom in bottoms]
    assert len(run_boxes(wrong_way(), boxes(script))) == 1


def test_a_slow_wrong_way_vehicle_with_a_wobbling_box_is_caught() -> None:
    """Far from the camera: 4 px a frame backwards, the box wobbling by 1-2 px."""
    wobble = (0.0, 1.5, -1.0, 2.0, 0.5, -1.5)
    script = [
        (300.0, 200.0 - 4 * i + wobble[i % 6], 330.0, 230.0 - 4 * i + wobble[i % 6])
        for i in range(12)
    ]
    assert len(run_boxes(wrong_way(min_distance=23), boxes(script))) == 1


@pytest.mark.parametrize("kind", [StoppedVehicle, ObjectLeft])
def test_stillness_rules_fire_once_after_the_time(kind: type[StoppedVehicle]) -> None:
    rule = kind("still", ZONE, 3, max_movement=5)
    jitter = [[(1, 2, 200.0 + (i % 2) * 2, 200.0)] for i in range(20)]
    fired = run(rule, jitter)
    assert len(fired) == 1
    assert fired[0][0] == pytest.approx(3.0)
    assert fired[0][1].kind == kind.kind


def test_a_large_parked_car_whose_box_jitters_fires_once_and_a_real_move_counts() -> None:
    """A detector's box around a parked car 150 px tall shifts by up to 10 px from run to
    run; that is not the car moving off and stopping again. Moving 40 px is."""
    rule = StoppedVehicle("no stopping", ZONE, 2, max_movement=8)
    fired: list[tuple[int, Firing]] = []
    for index in range(40):
        at = T0 + timedelta(seconds=index / 5)
        dx = (-6.0, 7.0, 0.0, 9.0)[index % 4] + (40.0 if index >= 25 else 0.0)
        box = [150 + dx, 130, 250 + dx, 280]
        parked = Detections.create([box], [0.8], [2], [7])
        fired.extend((index, f) for f in rule.update(at, parked))
    # Once after 2 s still, and once more 2 s after the 40 px move at frame 25.
    assert [index for index, _ in fired] == [10, 35]


def test_a_moving_vehicle_never_counts_as_stopped() -> None:
    rule = StoppedVehicle("no stopping", ZONE, 1, max_movement=5)
    assert run(rule, [[p] for p in walk(1, (110, 200), (290, 200), 20)]) == []


def test_rules_forget_tracks_they_no_longer_see() -> None:
    rule = ZoneIntrusion("entry", ZONE)
    run(rule, [[(1, 0, 200.0, 200.0)]])
    later = T0 + timedelta(seconds=60)
    rule.update(later, frame([]))
    assert rule.update(later, frame([(1, 0, 200.0, 200.0)]))  # a new entry after being forgotten


def crowd_script(counts: Sequence[int]) -> list[list[Obj]]:
    return [[(t, 0, 150.0 + 10 * t, 150.0) for t in range(1, count + 1)] for count in counts]


def test_a_crowd_hovering_at_the_threshold_fires_once() -> None:
    """Three people, one of whom the detector misses every third frame, for a minute."""
    counts = [2 if i % 3 == 2 else 3 for i in range(300)]
    rule = Crowd("crowd", ZONE, 3, hold_seconds=1, rearm_seconds=5)
    fired = run(rule, crowd_script(counts))
    assert len(fired) == 1
    # Fires once the count has held (through its one-frame dips) for a second.
    assert fired[0][0] == pytest.approx(1.0, abs=0.4)


def test_a_crowd_must_hold_before_firing() -> None:
    rule = Crowd("crowd", ZONE, 3, hold_seconds=1, rearm_seconds=5)
    # 0.6 s at three, then two: a passing group, nothing fired.
    assert run(rule, crowd_script([3, 3, 3, 3, 2, 2, 2])) == []
    rule = Crowd("crowd", ZONE, 3, hold_seconds=1, rearm_seconds=5)
    assert [t for t, _ in run(rule, crowd_script([2, 3, 3, 3, 3, 3, 3, 3]))] == [1.2]


def test_a_crowd_rearms_only_after_staying_below_the_threshold() -> None:
    """Below for 4 s does not re-arm; below for 5 s does, and the next crowd fires."""
    crowd, quiet = [3] * 10, [1] * 20
    rule = Crowd("crowd", ZONE, 3, hold_seconds=1, rearm_seconds=5)
    assert len(run(rule, crowd_script(crowd + quiet + crowd))) == 1
    rule = Crowd("crowd", ZONE, 3, hold_seconds=1, rearm_seconds=5)
    fired = run(rule, crowd_script(crowd + quiet + [1] * 6 + crowd))
    assert [t for t, _ in fired] == [1.0, 8.2]


@pytest.mark.parametrize("fps", [0.5, 1.0, 1.5, 2.0, 5.0])
def test_a_crowd_fires_at_any_analysed_rate(fps: float) -> None:
    """Consecutive crowded frames are one crowd however far apart the rate puts them: at
    1 fps they lie a second apart, more than half the hold, and are still no dip."""
    rule = Crowd("crowd", ZONE, 3, hold_seconds=1, rearm_seconds=5)
    fired = run(rule, crowd_script([3] * 20), fps=fps)
    assert len(fired) == 1
    assert fired[0][0] == pytest.approx(max(1.0, 1 / fps), abs=1 / fps)
    # A frame without the crowd, then more crowd: a dip, the hold starts again.
    rule = Crowd("crowd", ZONE, 3, hold_seconds=4, rearm_seconds=5)
    assert run(rule, crowd_script([3, 3, 1, 1, 3, 3]), fps=1) == []
