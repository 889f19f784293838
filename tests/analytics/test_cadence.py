"""The detector runs only when needed: contracts on real pixels with the real YOLOX-nano.

The street sequence (``street_sequence``) drives a car cut from a real photo across a
real street, one way and then the other; the simulator's clip shows motion the
detector never turns into an object. Each test runs the pipeline with the cadence
(``detector_refresh_seconds`` 1 s at 5 analysed fps: a refresh every 5 frames) and,
where it compares, with the detector on every frame with motion (refresh 0).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from pydantic import ValidationError

from safecity.analytics.pipeline import CameraPipeline, PipelineCamera, build_pipeline
from safecity.contracts.analytics import RuleEvent
from safecity.contracts.analytics_config import CameraAnalyticsConfig
from safecity.contracts.base import Message
from safecity.sim.truth import GroundTruth
from safecity.vision.detections import Detections
from safecity.vision.detectors import Detector, load_detector
from safecity.vision.motion import MotionSettings
from tests.analytics.street_sequence import Shot, parking_sequence, street_sequence
from tests.analytics.support import CAMERA
from tests.vision.test_detectors import yolox_manifest

T0 = datetime(2026, 12, 6, 21, 0, tzinfo=UTC)

STREET: dict[str, Any] = {
    "enabled": True,
    "analysed_fps": 5,
    "detector": "yolox-nano",
    "zones": [{"name": "lane", "points": [[0, 0.75], [1, 0.75], [1, 1], [0, 1]]}],
    # Walking start -> end (down the picture), 'in' is from the line's left: the car
    # going left (towards smaller x) crosses 'in', the car going right 'out'.
    "lines": [{"name": "middle", "start": [0.5, 0.7], "end": [0.5, 1.0]}],
    "rules": [
        {"kind": "line_crossing", "name": "count", "line": "middle", "classes": ["car"]},
        {"kind": "zone_intrusion", "name": "lane", "zone": "lane", "classes": ["car"]},
    ],
}


@pytest.fixture(scope="module")
def yolox(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Detector:
    return load_detector(yolox_manifest(shared_dir, tmp_path_factory.mktemp("models")))


@pytest.fixture(scope="module")
def street(shared_dir: Path) -> list[Shot]:
    return street_sequence(shared_dir)


def _pipeline(
    detector: Detector, media: Path, refresh: float, published: list[Message]
) -> CameraPipeline:
    config = CameraAnalyticsConfig.model_validate({**STREET, "detector_refresh_seconds": refresh})
    return build_pipeline(
        PipelineCamera(CAMERA, media, config, 1), detector, None, published.append
    )


def _iou(a: np.ndarray, b: tuple[int, int, int, int]) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _runs(pipeline: CameraPipeline) -> int:
    return sum(pipeline.counters.detector_runs.values())


def _confirming(pipeline: CameraPipeline) -> int:
    return pipeline.counters.detector_runs.get("confirm", 0)


def test_the_detector_runs_on_far_fewer_frames_and_each_car_keeps_one_track(
    yolox: Detector, street: list[Shot], tmp_path: Path
) -> None:
    every_frame: list[Message] = []
    before = _pipeline(yolox, tmp_path, 0, every_frame)
    for index, shot in enumerate(street):
        before.process(shot.image, T0 + timedelta(seconds=index / 5))

    published: list[Message] = []
    pipeline = _pipeline(yolox, tmp_path, 1.0, published)
    car_tracks: dict[str, list[int]] = {"right": [], "left": []}
    for index, shot in enumerate(street):
        pipeline.process(shot.image, T0 + timedelta(seconds=index / 5))
        tracks = pipeline.tracks
        assert tracks.tracker_id is not None
        if shot.car is None or shot.heading is None:
            continue
        x1, _, x2, _ = shot.car
        if x1 < 120 or x2 > 1160:
            # Entering or leaving: YOLOX-nano does not find the car cut by the picture's
            # edge even when it runs on every frame.
            continue
        overlaps = [_iou(box, shot.car) for box in tracks.xyxy]
        assert overlaps, f"frame {index}: no track at all"
        assert max(overlaps) > 0.5, f"frame {index}: the car is not tracked"
        car_tracks[shot.heading].append(int(tracks.tracker_id[int(np.argmax(overlaps))]))

    # The legacy pipeline runs the detector on every frame with motion; the cadence on
    # well under half of them, and the frames between are counted as skipped.
    # Both look at the whole picture on the frames the motion gate learns its background on.
    start = MotionSettings().warmup_frames
    assert before.counters.detector_runs == {"start": start, "motion": _runs(before) - start}
    assert _runs(pipeline) < 0.5 * _runs(before), (pipeline.counters, before.counters)
    assert pipeline.counters.detector_skipped >= _runs(before) - _runs(pipeline) - 10
    assert set(pipeline.counters.detector_runs) <= {
        "start",
        "new_motion",
        "lost_lock",
        "refresh",
        "confirm",
    }
    assert pipeline.counters.detector_runs["start"] == start
    assert pipeline.counters.detector_runs["refresh"] > 0
    assert pipeline.counters.rejected_frames == 0

    # One track id per car from entry to exit, and the two cars are told apart.
    assert len(set(car_tracks["right"])) == 1, car_tracks["right"]
    assert len(set(car_tracks["left"])) == 1, car_tracks["left"]
    assert car_tracks["right"][0] != car_tracks["left"][0]

    # Each car crosses the middle line once, in its own direction, on its own track.
    crossings = [m for m in published if isinstance(m, RuleEvent) and m.kind == "line_crossing"]
    assert [(e.direction, e.track_id) for e in crossings] == [
        ("out", car_tracks["right"][0]),
        ("in", car_tracks["left"][0]),
    ]
    assert all(e.object_class == "car" for e in crossings)
    lane = {
        m.track_id for m in published if isinstance(m, RuleEvent) and m.kind == "zone_intrusion"
    }
    assert {car_tracks["right"][0], car_tracks["left"][0]} <= lane


def test_a_car_entering_runs_the_detector_at_once(
    yolox: Detector, street: list[Shot], tmp_path: Path
) -> None:
    pipeline = _pipeline(yolox, tmp_path, 1.0, [])
    first_b = next(i for i, shot in enumerate(street) if shot.heading == "left")
    # Long enough before car B that the refresh would not fall on its first frames.
    for index, shot in enumerate(street[:first_b]):
        pipeline.process(shot.image, T0 + timedelta(seconds=index / 5))
    runs = dict(pipeline.counters.detector_runs)
    # The gate sees the car from its first frame in view; the detector runs at once.
    pipeline.process(street[first_b].image, T0 + timedelta(seconds=first_b / 5))
    after = pipeline.counters.detector_runs
    assert after.get("new_motion", 0) == runs.get("new_motion", 0) + 1, (runs, after)
    assert after.get("refresh", 0) == runs.get("refresh", 0)


def test_motion_the_detector_finds_nothing_in_does_not_run_it_every_frame(
    yolox: Detector, sim_clip: tuple[Path, GroundTruth], tmp_path: Path
) -> None:
    """The simulator's drawn traffic moves all the time and YOLOX-nano sees no vehicle in
    it: a region looked at and found empty is followed, not looked at again each frame."""
    clip, _ = sim_clip
    results = {}
    for refresh in (0.0, 1.0):
        pipeline = _pipeline(yolox, tmp_path, refresh, [])
        with av.open(str(clip)) as container:
            for index, frame in enumerate(container.decode(video=0)):
                if index % 2:
                    continue
                image = np.asarray(frame.to_ndarray(format="bgr24"), np.uint8)
                pipeline.process(image, T0 + timedelta(seconds=index / 10))
        results[refresh] = pipeline.counters
    every_frame, cadence = results[0.0], results[1.0]
    motion_frames = every_frame.detector_runs["motion"]
    assert motion_frames > 40  # continuous traffic: nearly every one of 60 frames
    runs = sum(cadence.detector_runs.values())
    # One refresh a second (12 s: about 12) plus new vehicles entering.
    assert cadence.detector_runs.get("refresh", 0) <= 13
    assert runs < 0.6 * motion_frames, cadence
    assert cadence.detector_skipped + runs >= motion_frames - 2


@pytest.mark.parametrize("refresh", [-1.0, 61.0])
def test_a_refresh_out_of_range_is_refused(refresh: float) -> None:
    with pytest.raises(ValidationError, match="detector_refresh_seconds"):
        CameraAnalyticsConfig.model_validate({**STREET, "detector_refresh_seconds": refresh})


class _CountingDetector:
    """Finds nothing and counts how often it was asked."""

    name = "counting"
    classes = ("car",)

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, image_bgr: Any) -> Detections:
        self.calls += 1
        return Detections.empty()


def test_without_motion_and_tracks_the_detector_runs_only_while_the_gate_learns(
    tmp_path: Path,
) -> None:
    """The motion gate reports nothing on its first frames (it has no background yet), so
    the detector looks at those; after them, a still picture costs no detector run."""
    detector = _CountingDetector()
    pipeline = _pipeline(detector, tmp_path, 1.0, [])
    still = np.full((360, 640, 3), 90, np.uint8)
    for index in range(30):
        pipeline.process(still, T0 + timedelta(seconds=index / 5))
    assert detector.calls == MotionSettings().warmup_frames
    assert pipeline.counters.detector_runs == {"start": MotionSettings().warmup_frames}
    assert pipeline.counters.detector_skipped == 0


def test_a_parked_car_stays_tracked_and_the_stopped_vehicle_rule_fires_once(
    yolox: Detector, shared_dir: Path, tmp_path: Path
) -> None:
    """A still object is kept alive between detector runs (stopped vehicle, object left and
    loitering need it), and while it stands the detector runs about once a refresh."""
    shots = parking_sequence(shared_dir)
    published: list[Message] = []
    config = CameraAnalyticsConfig.model_validate(
        {
            **STREET,
            "detector_refresh_seconds": 1.0,
            "rules": [
                {
                    "kind": "stopped_vehicle",
                    "name": "no stopping",
                    "zone": "lane",
                    "seconds": 3,
                    "classes": ["car"],
                }
            ],
        }
    )
    pipeline = build_pipeline(
        PipelineCamera(CAMERA, tmp_path, config, 1), yolox, None, published.append
    )
    parked_from = next(i for i, shot in enumerate(shots) if shot.car and shot.car[0] == 500)
    ids, runs_parked, confirming = set(), 0, 0
    for index, shot in enumerate(shots):
        before, confirmed_before = _runs(pipeline), _confirming(pipeline)
        pipeline.process(shot.image, T0 + timedelta(seconds=index / 5))
        if index < parked_from + 2:
            continue
        confirming += _confirming(pipeline) - confirmed_before
        runs_parked += _runs(pipeline) - before - (_confirming(pipeline) - confirmed_before)
        assert shot.car is not None
        tracks = pipeline.tracks
        overlaps = [_iou(box, shot.car) for box in tracks.xyxy]
        assert overlaps, f"frame {index}: the parked car is not tracked"
        assert max(overlaps) > 0.5, f"frame {index}: the parked car is not tracked"
        assert tracks.tracker_id is not None
        ids.add(int(tracks.tracker_id[int(np.argmax(overlaps))]))
    parked = len(shots) - parked_from - 2
    assert len(ids) == 1, ids
    # One refresh every 5 frames while it stands, and not one run a frame; a refresh that
    # began a track (one of the photo's parked cars found this time and not the last) is
    # followed by one look to confirm it.
    assert runs_parked <= parked / 5 + 2, (runs_parked, parked)
    assert confirming <= runs_parked, (confirming, runs_parked)
    stopped = [m for m in published if isinstance(m, RuleEvent) and m.kind == "stopped_vehicle"]
    # The photo's own parked cars stand in the lane too and may fire; the car driven in
    # fires exactly once, after its 3 s.
    (car,) = ids
    mine = [e for e in stopped if e.track_id == car]
    assert len(mine) == 1, stopped
    assert mine[0].value is not None
    assert mine[0].value >= 3
    # Still (within the rule's few pixels) from the last 10 px of its approach on.
    assert mine[0].at >= T0 + timedelta(seconds=(parked_from - 1 + 15) / 5)


class _ShapeRecorder:
    """A detector that finds the street's car by its true box and notes what it is shown."""

    name = "recorder"
    classes = ("car",)

    def __init__(self, shots: list[Shot]) -> None:
        self._shots = shots
        self.index = 0
        self.shapes: list[tuple[int, ...]] = []

    def detect(self, image_bgr: np.ndarray) -> Detections:
        self.shapes.append(image_bgr.shape)
        car = self._shots[self.index].car
        if car is None:
            return Detections.empty()
        return Detections.create([list(car)], [0.9], [0])


@pytest.mark.parametrize("refresh", [0.0, 1.0])
def test_the_detector_is_shown_the_whole_picture(
    street: list[Shot], tmp_path: Path, refresh: float
) -> None:
    """A window around the motion cut vehicles whose motion covered only part of them,
    and their cut boxes broke their tracks; the detector's input has a fixed size, so
    the whole picture costs no more."""
    recorder = _ShapeRecorder(street)
    pipeline = _pipeline(recorder, tmp_path, refresh, [])
    for index, shot in enumerate(street):
        recorder.index = index
        pipeline.process(shot.image, T0 + timedelta(seconds=index / 5))
    assert recorder.shapes, "the detector ran"
    assert set(recorder.shapes) == {street[0].image.shape}


class _LateFinder:
    """Finds the parked-sequence car by its true box, and a second, still 'car' at
    ``STILL`` only from frame ``from_frame`` on: a vehicle that stood in view unseen (too
    small while it moved, or in the dark) until a refresh found it."""

    name = "late"
    classes = ("car",)
    STILL = (40, 40, 200, 140)

    def __init__(self, shots: list[Shot], from_frame: int, *, again: bool = True) -> None:
        self._shots, self._from, self._again = shots, from_frame, again
        self.index = 0
        self.finds_of_still = 0

    def detect(self, image_bgr: np.ndarray) -> Detections:
        boxes: list[list[int]] = []
        car = self._shots[self.index].car
        if car is not None:
            boxes.append(list(car))
        if self.index >= self._from and (self._again or not self.finds_of_still):
            self.finds_of_still += 1
            boxes.append(list(self.STILL))
        return Detections.create(boxes, [0.9] * len(boxes), [0] * len(boxes))


def _still_track_frames(shots: list[Shot], finder: _LateFinder, media: Path) -> list[int]:
    """The frames on which the still 'car' has a confirmed track; checks it keeps one id."""
    pipeline = _pipeline(finder, media, 1.0, [])
    tracked_on, ids = [], set()
    for index, shot in enumerate(shots):
        finder.index = index
        pipeline.process(shot.image, T0 + timedelta(seconds=index / 5))
        tracks = pipeline.tracks
        overlaps = [_iou(box, _LateFinder.STILL) for box in tracks.xyxy]
        if overlaps and max(overlaps) > 0.5:
            assert tracks.tracker_id is not None
            tracked_on.append(index)
            ids.add(int(tracks.tracker_id[int(np.argmax(overlaps))]))
    assert len(ids) <= 1, ids
    return tracked_on


def test_a_vehicle_first_found_standing_still_is_confirmed_on_the_next_frame(
    shared_dir: Path, tmp_path: Path
) -> None:
    """An object the detector first finds where nothing moves is looked at again on the
    next frame, so the tracker confirms it and it is followed from then on; before, its
    new track was dropped unconfirmed at every refresh and it was never tracked."""
    shots = parking_sequence(shared_dir)
    first = len(shots) - 30  # the other car has parked: only refreshes run the detector
    finder = _LateFinder(shots, first)
    tracked_on = _still_track_frames(shots, finder, tmp_path / "a")
    assert tracked_on, "the still car was never tracked"
    found_at = tracked_on[0] - 1  # the refresh that found it, then the confirming run
    assert first <= found_at <= first + 5, (tracked_on[0], first)
    assert tracked_on == list(range(tracked_on[0], len(shots))), tracked_on
    # One look to confirm it, not one a frame: about one refresh every 5 frames after.
    assert finder.finds_of_still <= 2 + (len(shots) - found_at) / 5 + 1, finder.finds_of_still


def test_a_box_found_once_never_becomes_a_track(shared_dir: Path, tmp_path: Path) -> None:
    """The confirming look finds nothing there: no track, and the detector goes back to its
    cadence."""
    shots = parking_sequence(shared_dir)
    finder = _LateFinder(shots, len(shots) - 30, again=False)
    assert _still_track_frames(shots, finder, tmp_path) == []
    assert finder.finds_of_still == 1


class _JitteryFinder(_LateFinder):
    """As ``_LateFinder``, but the still find is low and shifts 20 px from run to run (a
    dark parked car half hidden): the tracker never confirms it, so every run that finds
    it begins a new track."""

    def detect(self, image_bgr: np.ndarray) -> Detections:
        found = super().detect(image_bgr)
        if self.index < self._from:
            return found
        shift = 20.0 * (self.finds_of_still % 2)
        xyxy = found.xyxy.copy()
        xyxy[-1] += shift
        confidence = found.confidence.copy()
        confidence[-1] = 0.4
        return Detections.create(xyxy, confidence, found.class_id)


def test_a_find_that_never_confirms_does_not_run_the_detector_every_frame(
    shared_dir: Path, tmp_path: Path
) -> None:
    shots = parking_sequence(shared_dir)
    first = len(shots) - 40
    finder = _JitteryFinder(shots, first)
    pipeline = _pipeline(finder, tmp_path, 1.0, [])
    for index, shot in enumerate(shots):
        finder.index = index
        pipeline.process(shot.image, T0 + timedelta(seconds=index / 5))
    # 40 frames with a refresh every 5: about 8 refreshes, each followed by at most one
    # look to confirm; not a run on every frame.
    assert finder.finds_of_still <= 2 * (40 / 5 + 2), finder.finds_of_still
    runs = pipeline.counters.detector_runs
    assert runs.get("confirm", 0) <= runs.get("refresh", 0) + runs.get("new_motion", 0), runs
