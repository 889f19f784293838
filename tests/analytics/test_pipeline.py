"""One camera's pipeline on a simulated clip, checked against the simulator's ground truth."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest

from safecity.analytics.pipeline import CameraPipeline, PipelineCamera, build_pipeline
from safecity.contracts.analytics import PlateRead, RuleEvent
from safecity.contracts.analytics_config import CameraAnalyticsConfig
from safecity.contracts.base import Message
from safecity.sim.truth import GroundTruth
from safecity.vision.detections import Detections
from safecity.vision.detectors import load_detector
from safecity.vision.detectors.bundled import BUNDLED_MODELS_DIR, SIM_VEHICLES
from tests.analytics.support import CAMERA, OracleReader, fuse_by_vote, true_plates

T0 = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
LINE_Y = 0.6

CONFIG: dict[str, Any] = {
    "enabled": True,
    "analysed_fps": 5,
    "plates": True,
    "zones": [{"name": "road", "points": [[0, 0.4], [1, 0.4], [1, 1], [0, 1]]}],
    # Traffic comes towards the camera (down the picture): that is 'in', and allowed.
    "lines": [
        {"name": "stop", "start": [0, LINE_Y], "end": [1, LINE_Y]},
        # Drawn in the direction traffic may move: down the picture.
        {"name": "traffic", "start": [0.5, 0.2], "end": [0.5, 0.9]},
    ],
    "rules": [
        {"kind": "zone_intrusion", "name": "on the road", "zone": "road"},
        {"kind": "line_crossing", "name": "count", "line": "stop"},
        {"kind": "wrong_way", "name": "against traffic", "line": "traffic", "zone": "road"},
    ],
}


def run_clip(
    clip: Path,
    pipeline: CameraPipeline,
    *,
    every: int = 2,
    resize: tuple[int, int] | None = None,
    after_frame: Callable[[], None] | None = None,
) -> None:
    with av.open(str(clip)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index % every:
                continue
            image = np.asarray(frame.to_ndarray(format="bgr24"), np.uint8)
            if resize is not None and index >= 60:
                image = np.asarray(cv2.resize(image, resize), np.uint8)
            pipeline.process(np.asarray(image, np.uint8), T0 + timedelta(seconds=index / 10))
            if after_frame is not None:
                after_frame()
    pipeline.flush()


def _truth_crossings(truth: GroundTruth) -> tuple[int, int]:
    """Vehicles whose ground point passes the line going down (in) and up (out)."""
    down = up = 0
    for vehicle in truth.vehicles:
        for appearance in vehicle.appearances:
            if appearance.camera_id != CAMERA or len(appearance.samples) < 2:
                continue
            first = appearance.samples[0].vehicle_box
            last = appearance.samples[-1].vehicle_box
            y0, y1 = (first.y + first.h) / 360, (last.y + last.h) / 360
            if y0 < LINE_Y <= y1:
                down += 1
            elif y1 < LINE_Y <= y0:
                up += 1
    return down, up


def test_motion_pipeline_events_and_plate_reads_match_the_ground_truth(
    sim_clip: tuple[Path, GroundTruth], tmp_path: Path
) -> None:
    clip, truth = sim_clip
    published: list[Message] = []
    reader = OracleReader(truth)
    pipeline = build_pipeline(
        PipelineCamera(CAMERA, tmp_path, CameraAnalyticsConfig.model_validate(CONFIG), 1),
        None,
        reader,
        published.append,
        fuse=fuse_by_vote,
    )
    run_clip(clip, pipeline)
    events = [m for m in published if isinstance(m, RuleEvent)]
    reads = [m for m in published if isinstance(m, PlateRead)]

    # Every event carries what an operator needs, and its snapshot exists.
    for event in events:
        assert event.camera_id == CAMERA
        assert event.snapshot is not None
        assert (tmp_path / event.snapshot).read_bytes()[:3] == b"\xff\xd8\xff"
        assert event.clip_start < event.at < event.clip_end
        assert (event.frame_width, event.frame_height) == (640, 360)
        assert event.object_class == "motion"
        if event.kind != "crowd":
            assert event.box is not None
            assert event.track_id is not None

    # Rules that fired on one frame share its one snapshot file; other frames have theirs.
    files_by_frame: dict[object, set[str]] = {}
    for event in events:
        files_by_frame.setdefault(event.at, set()).add(str(event.snapshot))
    assert all(len(files) == 1 for files in files_by_frame.values())
    assert len({str(e.snapshot) for e in events}) == len(files_by_frame)
    down, up = _truth_crossings(truth)
    crossings = [e for e in events if e.kind == "line_crossing"]
    ins = [e for e in crossings if e.direction == "in"]
    outs = [e for e in crossings if e.direction == "out"]
    # Motion regions can split or merge vehicles; the count stays within one of the truth.
    assert abs(len(ins) - down) <= 1, (len(ins), down)
    assert abs(len(outs) - up) <= 1, (len(outs), up)
    assert [e.value for e in ins] == [float(n) for n in range(1, len(ins) + 1)]

    wrong = [e for e in events if e.kind == "wrong_way"]
    wrong_way_vehicles = [v for v in truth.vehicles if v.wrong_way]
    assert wrong_way_vehicles, "the seed should include a wrong-way vehicle"
    assert wrong, "the wrong-way vehicle was not reported"
    first_wrong_frame = min(a.first_frame for v in wrong_way_vehicles for a in v.appearances)
    assert all(e.at >= T0 + timedelta(seconds=first_wrong_frame / 10) for e in wrong)

    assert [e for e in events if e.kind == "zone_intrusion"]

    # One read per track, each the true plate of a vehicle that was there.
    plates = true_plates(truth)
    assert reads
    assert len({r.track_id for r in reads}) == len(reads)
    correct = {r.text for r in reads if r.text in plates}
    assert correct == {r.text for r in reads}
    # Every vehicle that moved through the view is read; one that barely moved may be too.
    sampled = {plate for plate, seen in plates.items() if seen}
    assert sampled <= correct, sorted(sampled - correct)
    # The wrong-way report names the wrong-way vehicle's track, the one its plate was read on.
    wrong_plates = {v.plate for v in wrong_way_vehicles}
    assert {e.track_id for e in wrong} == {r.track_id for r in reads if r.text in wrong_plates}
    for read in reads:
        assert read.first_seen <= read.at <= read.last_seen
        assert read.plate_crop is not None
        assert read.vehicle_image is not None
        assert (tmp_path / read.vehicle_image).is_file()
    assert pipeline.counters.rejected_frames == 0
    assert set(pipeline.timings.means()) >= {"motion", "detect", "track", "rules", "plates"}


def test_bad_frames_and_garbage_plates_are_rejected_without_stopping(
    sim_clip: tuple[Path, GroundTruth], tmp_path: Path
) -> None:
    clip, truth = sim_clip
    published: list[Message] = []
    pipeline = build_pipeline(
        PipelineCamera(CAMERA, tmp_path, CameraAnalyticsConfig.model_validate(CONFIG), 1),
        None,
        OracleReader(truth, garbage=True),
        published.append,
        fuse=fuse_by_vote,
    )
    pipeline.process(np.zeros((4, 4, 3), np.uint8), T0)
    pipeline.process(np.zeros((360, 640), np.uint8), T0)
    assert pipeline.counters.rejected_frames == 2
    # Half way through, the camera starts sending another resolution.
    run_clip(clip, pipeline, resize=(480, 270))
    events = [m for m in published if isinstance(m, RuleEvent)]
    assert not [m for m in published if isinstance(m, PlateRead)]
    assert pipeline.plates is not None
    assert pipeline.plates.rejected > 0
    assert {(e.frame_width, e.frame_height) for e in events} == {(640, 360), (480, 270)}


def test_a_newer_configuration_replaces_the_rules_and_an_older_one_is_ignored(
    sim_clip: tuple[Path, GroundTruth], tmp_path: Path
) -> None:
    clip, _ = sim_clip
    published: list[Message] = []
    config = CameraAnalyticsConfig.model_validate(CONFIG)
    pipeline = build_pipeline(
        PipelineCamera(CAMERA, tmp_path, config, 3), None, None, published.append
    )
    crowd_only = CameraAnalyticsConfig.model_validate(
        {"enabled": True, "rules": [{"kind": "crowd", "name": "busy", "threshold": 1}]}
    )
    assert not pipeline.reconfigure(crowd_only, 2)
    assert pipeline.reconfigure(crowd_only, 4)
    run_clip(clip, pipeline)
    assert {m.kind for m in published if isinstance(m, RuleEvent)} == {"crowd"}


class _BrokenDetector:
    name = "broken"
    classes = ("person",)

    def detect(self, image_bgr: Any) -> Any:
        raise RuntimeError("model crashed")


def test_a_failing_detector_falls_back_to_motion_and_is_counted(
    sim_clip: tuple[Path, GroundTruth], tmp_path: Path
) -> None:
    clip, _ = sim_clip
    published: list[Message] = []
    pipeline = build_pipeline(
        PipelineCamera(CAMERA, tmp_path, CameraAnalyticsConfig.model_validate(CONFIG), 1),
        _BrokenDetector(),
        None,
        published.append,
    )
    run_clip(clip, pipeline, every=4)
    assert pipeline.counters.detector_errors > 0
    assert pipeline.counters.last_error == "detector: model crashed"
    assert [m for m in published if isinstance(m, RuleEvent)]


@pytest.mark.parametrize("fps", [0.0, -1.0])
def test_a_pipeline_needs_a_positive_rate(fps: float, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="greater than 0"):
        CameraAnalyticsConfig.model_validate({"analysed_fps": fps})


def test_the_bundled_detector_hands_vehicle_tracks_to_the_plate_stage(
    sim_clip: tuple[Path, GroundTruth], tmp_path: Path
) -> None:
    """What the demo runs: the simulated camera with the bundled sim-vehicles detector.
    Its tracks carry the simulator's classes, all of them vehicles to the plate stage."""
    clip, truth = sim_clip
    detector = load_detector(BUNDLED_MODELS_DIR / f"{SIM_VEHICLES}.yaml")
    published: list[Message] = []
    reader = OracleReader(truth)
    config = CameraAnalyticsConfig.model_validate({**CONFIG, "detector": SIM_VEHICLES})
    pipeline = build_pipeline(
        PipelineCamera(CAMERA, tmp_path, config, 1),
        detector,
        reader,
        published.append,
        fuse=fuse_by_vote,
    )
    run_clip(clip, pipeline)
    reads = [m for m in published if isinstance(m, PlateRead)]
    events = [m for m in published if isinstance(m, RuleEvent)]
    assert reader.calls > 0
    assert {e.object_class for e in events if e.kind != "crowd"} <= set(detector.classes)
    assert {r.vehicle_class for r in reads} <= set(detector.classes)
    plates = true_plates(truth)
    assert {r.text for r in reads} <= set(plates)
    sampled = {plate for plate, seen in plates.items() if seen}
    read = {r.text for r in reads}
    # Measured: 4 of the 8 vehicles read (motion tracks read all 8 in the test above);
    # what the detector's tracks lose against motion regions is still to be found.
    assert len(read & sampled) >= 3, sorted(sampled - read)


class _TwiceNamedDetector:
    """The bundled detector, with every vehicle found a second time as another vehicle
    class, a little less sure and a few pixels off: what a detector unsure whether it
    sees a car or a truck gives."""

    def __init__(self) -> None:
        self._inner = load_detector(BUNDLED_MODELS_DIR / f"{SIM_VEHICLES}.yaml")
        self.name = "twice-named"
        self.classes = self._inner.classes

    def detect(self, image_bgr: Any) -> Any:
        found = self._inner.detect(image_bgr)
        truck = self.classes.index("truck")
        car = self.classes.index("car")
        again = Detections.create(
            found.xyxy + np.array([2, 3, -2, 1], np.float32),
            found.confidence * 0.8,
            np.where(found.class_id == car, truck, car).astype(np.int32),
        )
        return Detections.merge([found, again])


def test_a_vehicle_found_as_two_classes_is_tracked_and_read_once(
    sim_clip: tuple[Path, GroundTruth], tmp_path: Path
) -> None:
    clip, truth = sim_clip
    published: list[Message] = []
    config = CameraAnalyticsConfig.model_validate({**CONFIG, "detector": SIM_VEHICLES})
    pipeline = build_pipeline(
        PipelineCamera(CAMERA, tmp_path, config, 1),
        _TwiceNamedDetector(),
        OracleReader(truth),
        published.append,
        fuse=fuse_by_vote,
    )
    doubled: list[int] = []

    def count_doubled() -> None:
        boxes = pipeline.tracks.xyxy
        doubled.extend(
            1
            for a in range(len(boxes))
            for b in range(a + 1, len(boxes))
            if _iou(boxes[a], boxes[b]) >= 0.6
        )

    run_clip(clip, pipeline, after_frame=count_doubled)
    reads = [m.text for m in published if isinstance(m, PlateRead)]
    assert reads, "the vehicles' plates were read"
    assert sum(doubled) == 0
    assert len(reads) == len(set(reads)), sorted(reads)


def _iou(a: Any, b: Any) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0
