"""A vehicle's first frames through the whole pipeline: a worker that starts with vehicles
in view looks for them at once, a plate seen whole only on a track's first frame is read
once the track is confirmed, and a box seen on one frame only fires no rule and costs no
plate read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from safecity.analytics.pipeline import CameraPipeline, PipelineCamera, build_pipeline
from safecity.contracts.analytics import PlateRead, RuleEvent
from safecity.contracts.analytics_config import CameraAnalyticsConfig
from safecity.contracts.base import Message
from safecity.vision.detections import Detections
from tests.analytics.support import CAMERA, OracleRead, fuse_keeping_confidence

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
WIDTH, HEIGHT = 640, 360
# A car going away from the camera, so its first frame is its largest; the reader below
# reads its plate on that frame only (the plate is smaller, or blurred, after).
CAR = [(200.0, 0.0, 360.0, 130.0), (210.0, 6.0, 350.0, 120.0), (220.0, 12.0, 340.0, 110.0)]
STRAY = (480.0, 250.0, 600.0, 340.0)  # on the first frame only, inside the zone
ZONE_ALL = {"name": "all", "points": [[0, 0], [1, 0], [1, 1], [0, 1]]}


class _ScriptedDetector:
    """Returns the boxes of the script's next frame on each call."""

    name = "scripted"
    classes = ("car",)

    def __init__(self, frames: Sequence[Sequence[tuple[float, float, float, float]]]) -> None:
        self.frames = list(frames)
        self.calls = 0

    def detect(self, image_bgr: Any) -> Detections:
        boxes = self.frames[min(self.calls, len(self.frames) - 1)]
        self.calls += 1
        if not boxes:
            return Detections.empty()
        return Detections.create(np.array(boxes), np.full(len(boxes), 0.9), np.zeros(len(boxes)))


class _FirstFrameReader:
    """Reads the car's plate only in the region of its first frame's box; counts regions."""

    def __init__(self) -> None:
        self.regions: list[tuple[int, int, int, int]] = []

    def read(
        self, image_bgr: npt.NDArray[np.uint8], region: tuple[int, int, int, int] | None = None
    ) -> list[OracleRead]:
        assert region is not None
        self.regions.append(region)
        if region != (200, 0, 160, 130):
            return []
        return [OracleRead("LEB1234", 0.95, (250, 100, 60, 14), rule="pk_private")]


def _pipeline(
    detector: _ScriptedDetector, reader: _FirstFrameReader, media: Path, published: list[Message]
) -> CameraPipeline:
    config = CameraAnalyticsConfig.model_validate(
        {
            "enabled": True,
            "analysed_fps": 5,
            "detector": "scripted",
            "plates": True,
            "zones": [ZONE_ALL],
            "rules": [{"kind": "zone_intrusion", "name": "anywhere", "zone": "all"}],
        }
    )
    return build_pipeline(
        PipelineCamera(CAMERA, media, config, 1),
        detector,
        reader,
        published.append,
        fuse=fuse_keeping_confidence,
    )


def test_a_plate_whole_only_on_a_tracks_first_frame_is_read_and_a_stray_box_is_not(
    tmp_path: Path,
) -> None:
    detector = _ScriptedDetector([[CAR[0], STRAY], [CAR[1]], [CAR[2]]])
    reader = _FirstFrameReader()
    published: list[Message] = []
    pipeline = _pipeline(detector, reader, tmp_path, published)
    picture = np.random.default_rng(3).integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    for index in range(3):
        # The motion gate learns its background on these frames: the detector looks anyway.
        pipeline.process(picture, T0 + timedelta(seconds=index / 5))
    pipeline.flush()
    assert detector.calls == 3
    assert pipeline.counters.detector_runs == {"start": 3}
    reads = [m for m in published if isinstance(m, PlateRead)]
    assert [r.text for r in reads] == ["LEB1234"]
    # The car's first frame was read (after its second confirmed the track); the stray
    # box, never confirmed, was not read and fired nothing.
    assert (200, 0, 160, 130) in reader.regions
    assert all(region[0] < 400 for region in reader.regions)
    assert pipeline.plates is not None
    assert pipeline.plates.skipped["unconfirmed"] == 1
    events = [m for m in published if isinstance(m, RuleEvent)]
    assert events
    assert all(e.box is not None and e.box.x < 400 for e in events)


def test_a_changed_single_read_floor_applies_to_the_running_stage(tmp_path: Path) -> None:
    detector = _ScriptedDetector([[CAR[0]], [CAR[1]], [CAR[2]]])
    pipeline = _pipeline(detector, _FirstFrameReader(), tmp_path, [])
    config = pipeline.camera.config.model_copy(update={"plate_single_read_floor": 0.99})
    assert pipeline.reconfigure(config, 2)
    published: list[Message] = []
    pipeline.publisher = published.append
    picture = np.random.default_rng(3).integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    for index in range(3):
        pipeline.process(picture, T0 + timedelta(seconds=index / 5))
    pipeline.flush()
    # One frame read it, at 0.95: under the floor and alone, so not published.
    assert pipeline.plates is not None
    assert [m for m in published if isinstance(m, PlateRead)] == []
    assert pipeline.plates.skipped["unsure_alone"] == 1
