"""Motion gate on drawn frames, and the ByteTrack adapter (ids kept, inputs untouched)."""

from __future__ import annotations

import numpy as np
import pytest

from safecity.vision.detections import Detections
from safecity.vision.motion import MOTION_CLASS_ID, MotionGate, MotionSettings
from safecity.vision.tracking import ObjectTracker
from safecity.vision.zones import Polygon


def _scene(x: int, *, width: int = 640, height: int = 360) -> np.ndarray:
    image = np.full((height, width, 3), 90, np.uint8)
    image[200:260, x : x + 50] = (20, 200, 240)
    return image


def test_a_moving_block_is_the_only_motion_region() -> None:
    gate = MotionGate()
    for _ in range(10):
        assert len(gate.regions(np.full((360, 640, 3), 90, np.uint8))) == 0
    regions = Detections.empty()
    for step in range(6):
        regions = gate.regions(_scene(100 + 20 * step))
    assert len(regions) == 1
    x1, y1, x2, y2 = regions.xyxy[0]
    assert 180 <= x1 <= 210
    assert x2 == pytest.approx(250, abs=20)
    assert y1 == pytest.approx(200, abs=12)
    assert y2 == pytest.approx(260, abs=12)
    assert regions.class_id.tolist() == [MOTION_CLASS_ID]


def test_a_still_scene_has_no_motion_and_a_new_resolution_restarts_the_background() -> None:
    gate = MotionGate()
    still = _scene(100)
    for _ in range(8):
        gate.regions(still)
    assert len(gate.regions(still)) == 0
    # A different size must not crash: the model starts again (warm-up reports nothing).
    assert len(gate.regions(np.zeros((180, 320, 3), np.uint8))) == 0
    with pytest.raises(ValueError, match="BGR image"):
        gate.regions(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="work_width"):
        MotionSettings(work_width=4)


def test_tracker_keeps_ids_and_never_touches_its_input() -> None:
    tracker = ObjectTracker(frame_rate=5)
    ids = []
    for step in range(8):
        x = 100 + 10 * step
        found = Detections.create(
            [[x, 100, x + 40, 180], [400, 50 + 5 * step, 440, 130 + 5 * step]],
            [0.9, 0.8],
            [0, 2],
        )
        tracked = tracker.update(found)
        assert found.tracker_id is None
        assert tracked.tracker_id is not None
        ids.append(dict(zip(tracked.class_id.tolist(), tracked.tracker_id.tolist(), strict=True)))
    assert len({frame[0] for frame in ids[1:]}) == 1
    assert len({frame[2] for frame in ids[1:]}) == 1
    assert ids[-1][0] != ids[-1][2]
    assert len(tracker.update(Detections.empty())) == 0


def test_a_vehicle_entering_at_the_top_keeps_its_detections_while_it_is_tracked() -> None:
    """Cut by the picture's top edge, the box grows taller every frame at a constant
    width; ByteTrack's Kalman estimate then runs far wider than the box (its aspect
    ratio's velocity), and supervision's own pairing (IoU over 0.5 with the estimate)
    dropped the detection in frames 4 and 5 though the track had taken it."""
    tracker = ObjectTracker(frame_rate=5)
    boxes, bottom = [], 60.0
    for step in range(5):
        boxes.append([380 - 4 * step, 0, 720 + 4 * step, bottom])
        bottom += 30 + 8 * step
    ids = []
    for step, box in enumerate(boxes):
        tracked = tracker.update(Detections.create([box], [0.6], [0]))
        if step == 0:  # a new track: handed on as tentative until its second frame
            assert len(tracked) == 0
            tracked = tracker.tentative
        assert len(tracked) == 1, f"the detection of {box} was dropped"
        np.testing.assert_array_equal(tracked.xyxy, np.array([box], np.float32))
        ids.append(int(tracked.tracker_id[0]))  # type: ignore[index]
    assert len(set(ids)) == 1


def test_side_by_side_vehicles_are_paired_with_their_own_tracks_and_boxes() -> None:
    tracker = ObjectTracker(frame_rate=5)
    seen: dict[int, set[int]] = {0: set(), 1: set()}
    for step in range(6):
        y = 100 + 30 * step
        left = [200, y, 330, y + 90]
        right = [340, y + 5, 470, y + 95]
        found = Detections.create([right, left], [0.7, 0.8], [1, 0])
        tracked = tracker.update(found)
        if step == 0:
            assert len(tracked) == 0
            tracked = tracker.tentative
        assert len(tracked) == 2
        # The detector's boxes come back, in the order given, each with its class.
        np.testing.assert_array_equal(tracked.xyxy, found.xyxy)
        assert tracked.class_id.tolist() == [1, 0]
        assert tracked.tracker_id is not None
        seen[1].add(int(tracked.tracker_id[0]))
        seen[0].add(int(tracked.tracker_id[1]))
    assert len(seen[0]) == len(seen[1]) == 1
    assert seen[0] != seen[1]


def _fast_vehicle(step: int) -> list[float]:
    """A vehicle near the camera at 5 analysed fps: it moves 70 % of its height a frame,
    so two frames' boxes overlap at an IoU of about 0.18."""
    y = 20 + 84 * step
    return [300, y, 420, y + 120]


@pytest.mark.parametrize(("buffer", "confirmed"), [(0.0, False), (0.3, True)])
def test_a_fast_vehicle_is_confirmed_only_with_buffered_boxes(
    buffer: float, confirmed: bool
) -> None:
    """A new track has no velocity yet: ByteTrack pairs it with the next frame's box when
    their IoU times the box's confidence exceeds 0.3, so a vehicle that moves most of its
    size between analysed frames started a new unconfirmed track every frame and was
    never handed on. Grown by 30 % a side, these boxes overlap at 0.39 (0.31 at this
    confidence); under a confidence of about 0.77 even they would not."""
    tracker = ObjectTracker(frame_rate=5, buffer=buffer)
    outputs, ids = [], set()
    for step in range(4):
        tracked = tracker.update(Detections.create([_fast_vehicle(step)], [0.8], [0]))
        outputs.append(len(tracked))
        if len(tracked):
            np.testing.assert_array_equal(tracked.xyxy, [_fast_vehicle(step)])
            ids.add(int(tracked.tracker_id[0]))  # type: ignore[index]
    if confirmed:
        assert outputs == [0, 1, 1, 1]
        assert len(ids) == 1
    else:
        assert outputs == [0, 0, 0, 0]
    with pytest.raises(ValueError, match="buffer"):
        ObjectTracker(frame_rate=5, buffer=-0.1)


def test_a_new_track_is_tentative_on_its_first_frame_with_the_id_it_keeps() -> None:
    """The rules see confirmed tracks only; the plate stage may also see a track's first
    frame (``tentative``), with the id the track keeps once confirmed. A stray box seen
    once stays tentative and is gone on the next frame."""
    tracker = ObjectTracker(frame_rate=5)
    # The camera's very first boxes too (ByteTrack alone would confirm them at once).
    assert len(tracker.update(Detections.create([[500, 50, 560, 90]], [0.9], [2]))) == 0
    assert tracker.tentative.class_id.tolist() == [2]
    car, stray = [100, 100, 200, 180], [300, 200, 340, 240]
    confirmed = tracker.update(
        Detections.create([[500, 52, 560, 92], car, stray], [0.9, 0.8, 0.7], [2, 0, 1])
    )
    tentative = tracker.tentative
    assert confirmed.class_id.tolist() == [2]
    assert tentative.class_id.tolist() == [0, 1]
    np.testing.assert_array_equal(tentative.xyxy, [car, stray])
    assert tentative.tracker_id is not None
    assert confirmed.tracker_id is not None
    car_id = int(tentative.tracker_id[0])
    assert car_id not in confirmed.tracker_id.tolist()
    confirmed = tracker.update(
        Detections.create([[500, 54, 560, 94], [104, 104, 204, 184]], [0.9, 0.8], [2, 0])
    )
    assert confirmed.tracker_id is not None
    assert car_id in confirmed.tracker_id.tolist()
    assert len(tracker.tentative) == 0


def _with_clock(image: np.ndarray, tick: int) -> np.ndarray:
    """An on-screen clock top left: a strip of blocks whose shades change every frame."""
    out = image.copy()
    for digit in range(8):
        out[8:24, 16 + 24 * digit : 32 + 24 * digit] = (tick * 53 + digit * 97) % 256
    return out


@pytest.mark.parametrize("ignored", [False, True])
def test_an_ignore_region_hides_a_changing_clock_but_not_what_leaves_it(ignored: bool) -> None:
    band = Polygon(((0, 0), (1, 0), (1, 0.1), (0, 0.1)))
    gate = MotionGate(ignore=[band] if ignored else [])
    background = np.full((360, 640, 3), 90, np.uint8)
    for tick in range(10):
        gate.regions(_with_clock(background, tick))
    found = []
    for step in range(6):
        frame = _with_clock(_scene(100 + 20 * step), 10 + step)
        copy = frame.copy()
        found.append(gate.regions(frame))
        np.testing.assert_array_equal(frame, copy)  # the caller's frame is not touched
    in_band = [box for regions in found for box in regions.xyxy if box[3] <= 36]
    assert bool(in_band) is not ignored
    # The moving block below the band is found either way.
    assert all(any(box[1] >= 150 for box in regions.xyxy) for regions in found[1:])


def test_ignore_regions_are_fractions_of_the_frame() -> None:
    with pytest.raises(ValueError, match="fractions"):
        MotionGate(ignore=[Polygon(((0, 0), (640, 0), (640, 36)))])
