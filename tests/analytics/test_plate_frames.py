"""Which frames of a vehicle track go to the plate reader: the frame score, the held best
frame, re-reads, a confident read that settles its track, and the skip counters."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from pydantic import ValidationError

from safecity.analytics.plate_frames import FrameQuality, Skip, frame_quality
from safecity.analytics.plate_jobs import SharedPlateReader
from safecity.analytics.plates import PlateStage
from safecity.contracts.analytics import PlateRead
from safecity.contracts.analytics_config import CameraAnalyticsConfig
from safecity.vision.detections import Detections
from tests.analytics.support import OracleRead, fuse_by_vote, fuse_keeping_confidence

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
WIDTH, HEIGHT = 640, 360


def _textured(seed: int = 1) -> npt.NDArray[np.uint8]:
    """A frame full of fine detail (a sharp picture)."""
    return np.random.default_rng(seed).integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)


def test_a_box_too_narrow_for_a_readable_plate_is_no_candidate() -> None:
    assert frame_quality(_textured(), (200, 100, 230, 200), min_width=40) is Skip.SMALL


@pytest.mark.parametrize(
    ("cut_box", "width", "whole_box"),
    [
        ((-30, 100, 120, 200), 120, (200, 100, 320, 200)),  # cut by the left edge
        ((540, 100, 670, 200), 100, (300, 100, 400, 200)),  # cut by the right edge
    ],
)
def test_a_box_cut_by_a_side_stays_a_candidate_at_half_its_quality(
    cut_box: tuple[int, int, int, int], width: int, whole_box: tuple[int, int, int, int]
) -> None:
    """Its plate, in the middle of the vehicle, is often whole; a whole frame of a
    vehicle as wide goes first."""
    image = _textured()
    cut = frame_quality(image, cut_box, min_width=40)
    whole = frame_quality(image, whole_box, min_width=40)
    assert isinstance(cut, FrameQuality)
    assert isinstance(whole, FrameQuality)
    assert (cut.cut_at_side, cut.width) == (True, width)
    assert not whole.cut_at_side
    assert cut.score < 0.6 * whole.score


def test_a_box_cut_by_the_top_or_bottom_stays_a_candidate_the_bottom_at_a_discount() -> None:
    image = _textured()
    whole = frame_quality(image, (200, 100, 320, 200), min_width=40)
    top = frame_quality(image, (200, -20, 320, 150), min_width=40)
    bottom = frame_quality(image, (200, 260, 320, 400), min_width=40)
    assert isinstance(whole, FrameQuality)
    assert isinstance(top, FrameQuality)
    assert isinstance(bottom, FrameQuality)
    assert (top.cut_at_bottom, bottom.cut_at_bottom) == (False, True)
    assert top.score == pytest.approx(whole.score, rel=0.2)
    assert bottom.score < 0.85 * whole.score


def test_wider_and_sharper_boxes_score_higher() -> None:
    sharp = _textured()
    blurred = np.asarray(cv2.GaussianBlur(sharp, (0, 0), 4), np.uint8)
    small = frame_quality(sharp, (200, 100, 280, 200), min_width=40)
    large = frame_quality(sharp, (200, 100, 360, 200), min_width=40)
    soft = frame_quality(blurred, (200, 100, 360, 200), min_width=40)
    assert isinstance(small, FrameQuality)
    assert isinstance(large, FrameQuality)
    assert isinstance(soft, FrameQuality)
    assert large.score > small.score
    assert large.score > 2 * soft.score
    assert soft.score > 0


def test_a_box_far_wider_or_taller_than_a_vehicle_is_likely_several_and_scores_lower() -> None:
    image = _textured()
    vehicle = frame_quality(image, (100, 100, 400, 300), min_width=40)
    side_by_side = frame_quality(image, (100, 100, 400, 140), min_width=40)
    one_behind_another = frame_quality(image, (100, 0, 180, 300), min_width=40)
    narrow_vehicle = frame_quality(image, (100, 100, 180, 180), min_width=40)
    assert isinstance(vehicle, FrameQuality)
    assert isinstance(side_by_side, FrameQuality)
    assert isinstance(one_behind_another, FrameQuality)
    assert isinstance(narrow_vehicle, FrameQuality)
    assert side_by_side.score < 0.3 * vehicle.score
    assert one_behind_another.score < 0.5 * narrow_vehicle.score


class _PlateReader:
    """Reads one plate in the region, where a plate sits on a vehicle (low in its box).
    ``gate`` holds each read until the test lets it go; ``rule`` is the format it fits."""

    def __init__(self, *, rule: str = "generic", confidence: float = 0.95) -> None:
        self.rule = rule
        self.confidence = confidence
        self.gate = threading.Event()
        self.gate.set()
        self.busy = threading.Event()
        self.regions: list[tuple[int, int, int, int]] = []

    def read(
        self, image_bgr: npt.NDArray[np.uint8], region: tuple[int, int, int, int] | None = None
    ) -> list[OracleRead]:
        assert region is not None
        self.busy.set()
        self.gate.wait(10)
        self.regions.append(region)
        x, y, w, h = region
        return [
            OracleRead(
                "LEB1234", self.confidence, (x + w // 3, y + h - 20, w // 3, 12), rule=self.rule
            )
        ]


def _vehicle(x1: float, y1: float, x2: float, y2: float, track: int = 7) -> Detections:
    return Detections.create(
        np.array([[x1, y1, x2, y2]], np.float32),
        np.array([0.9], np.float32),
        np.array([-1], np.int32),
        np.array([track], np.int64),
    )


def _approach(step: int) -> Detections:
    """A vehicle coming towards the camera: it grows and moves down and right across the
    picture, its box cut by the right edge from the seventh frame on."""
    width = 60 + 20 * step
    top = 60 + 30 * step
    left = 220 + 40 * step
    return _vehicle(left, top, left + width, top + width * 0.8)


def _drive_down(stage: PlateStage, frames: int) -> list[PlateRead]:
    """A car driving down the picture at 5 analysed fps for ``frames`` frames, then the
    stage flushed: every read it published."""
    image = _textured()
    reads = []
    for step in range(frames):
        at = T0 + timedelta(seconds=step / 5)
        box = _vehicle(200, 80 + 8 * step, 320, 180 + 8 * step)
        reads += stage.observe(at, image, box, ["car"])
    return reads + stage.flush()


def test_a_busy_reader_reads_the_best_frame_seen_not_the_first_one_offered(
    tmp_path: Path,
) -> None:
    reader = _PlateReader()
    reader.gate.clear()
    shared = SharedPlateReader(reader, capacity=4, niceness=0)
    stage = PlateStage("cam-a", None, fuse_by_vote, tmp_path, jobs=shared, max_attempts=1)
    other = PlateStage("cam-b", None, fuse_by_vote, tmp_path, jobs=shared)
    image = _textured()
    shared.start()
    reads = []
    try:
        # Another camera's vehicle keeps the reader busy while ours comes closer.
        other.observe(T0, image, _vehicle(100, 100, 200, 180, track=1), ["car"])
        assert reader.busy.wait(5)
        for step in range(9):
            at = T0 + timedelta(seconds=step / 5)
            reads += stage.observe(at, image, _approach(step), ["car"])
        assert stage.superseded >= 3
        reader.gate.set()
        at = T0 + timedelta(seconds=2)
        for _ in range(100):
            at += timedelta(seconds=0.2)
            reads += stage.observe(at, image, Detections.empty(), [])
            if reads:
                break
            threading.Event().wait(0.05)
    finally:
        shared.stop()
    # Ours was read once, on its widest frame not cut by the edge (step 5: 160 px; the
    # wider frames cut by the right edge count half).
    ours = [r for r in reader.regions if r != (100, 100, 100, 80)]
    assert ours == [(420, 210, 160, 128)]
    assert [r.text for r in reads] == ["LEB1234"]
    assert stage.jobs_dropped == 0


def test_a_confident_read_that_fits_a_format_settles_its_track(tmp_path: Path) -> None:
    reader = _PlateReader(rule="pk_private", confidence=0.95)
    stage = PlateStage("cam-a", reader, fuse_by_vote, tmp_path)
    image = _textured()
    reads = []
    for step in range(5):
        at = T0 + timedelta(seconds=step / 5)
        reads += stage.observe(
            at, image, _vehicle(200, 100 + 10 * step, 320, 200 + 10 * step), ["car"]
        )
        if step == 0:
            # Published at once, without waiting for the vehicle to leave.
            assert [r.text for r in reads] == ["LEB1234"]
    assert len(reader.regions) == 1
    assert stage.skipped["settled"] == 4
    assert stage.jobs_answered == 1
    assert len(reads) == 1


def test_an_unsure_read_is_tried_again_up_to_the_cap_and_further_frames_are_counted(
    tmp_path: Path,
) -> None:
    reader = _PlateReader(rule="generic", confidence=0.95)
    stage = PlateStage("cam-a", reader, fuse_by_vote, tmp_path, max_attempts=3)
    reads = _drive_down(stage, 12)
    # Frames of one size are read 0.4 s apart (every other frame, the better of the two)
    # until the cap of three: frames 0, 1 or 2, 3 or 4; the seven after are not read.
    assert len(reader.regions) == 3
    tops = [region[1] for region in reader.regions]
    assert tops[0] == 80
    assert tops[1] in (88, 96)
    assert tops[2] in (104, 112)
    assert stage.skipped["capped"] == 7
    assert [r.text for r in reads] == ["LEB1234"]
    assert reads[0].frames == 3


class _TwoOpinionsReader(_PlateReader):
    """Reads the plate twice a frame, as the reader with the own plate locator does where
    its own model and PP-OCR agree."""

    def read(
        self, image_bgr: npt.NDArray[np.uint8], region: tuple[int, int, int, int] | None = None
    ) -> list[OracleRead]:
        once = super().read(image_bgr, region)
        return [*once, *once]


def test_a_read_counts_the_frames_fused_not_the_readings(tmp_path: Path) -> None:
    reader = _TwoOpinionsReader(rule="generic", confidence=0.95)
    stage = PlateStage("cam-a", reader, fuse_by_vote, tmp_path, max_attempts=3)
    reads = _drive_down(stage, 12)
    assert len(reader.regions) == 3
    assert [r.text for r in reads] == ["LEB1234"]
    assert reads[0].frames == 3


class _EdgeReader(_PlateReader):
    """Reads the plate at the region's left end: cut by the picture's edge when the
    region is."""

    def read(
        self, image_bgr: npt.NDArray[np.uint8], region: tuple[int, int, int, int] | None = None
    ) -> list[OracleRead]:
        assert region is not None
        self.regions.append(region)
        x, y, w, h = region
        return [OracleRead("EB1234", 0.95, (x, y + h - 20, w // 3, 12), rule="generic")]


def test_a_vehicle_cut_by_the_side_is_read_but_a_plate_at_the_edge_is_dropped(
    tmp_path: Path,
) -> None:
    # The plate in the middle of the vehicle, whole: read and published.
    reader = _PlateReader()
    stage = PlateStage("cam-a", reader, fuse_by_vote, tmp_path)
    image = _textured()
    reads = []
    for step in range(4):
        at = T0 + timedelta(seconds=step / 5)
        reads += stage.observe(at, image, _vehicle(-40, 100, 150, 200), ["car"])
    reads += stage.flush()
    assert reader.regions
    assert all(region[0] == 0 for region in reader.regions)
    assert [r.text for r in reads] == ["LEB1234"]
    assert stage.skipped["plate_at_edge"] == 0
    # A plate that touches the picture's edge may be half a plate: dropped and counted.
    edge = _EdgeReader()
    stage = PlateStage("cam-a", edge, fuse_by_vote, tmp_path)
    reads = []
    for step in range(4):
        at = T0 + timedelta(seconds=step / 5)
        reads += stage.observe(at, image, _vehicle(-40, 100, 150, 200), ["car"])
    reads += stage.flush()
    assert edge.regions
    assert reads == []
    assert stage.skipped["plate_at_edge"] == len(edge.regions)


def test_a_track_is_read_from_its_first_frame_once_confirmed_and_a_stray_box_never(
    tmp_path: Path,
) -> None:
    """The tracker hands a new track's first frame over as unconfirmed: the stage holds it
    but reads nothing until the track is confirmed, then reads the better of its frames
    (here the first, a vehicle going away). A box never confirmed (a duplicate detection)
    costs no read and publishes nothing."""
    reader = _PlateReader()
    stage = PlateStage("cam-a", reader, fuse_by_vote, tmp_path)
    image = _textured()
    first = Detections.merge(
        [_vehicle(200, 150, 360, 280, track=7), _vehicle(380, 150, 430, 200, track=9)]
    )
    reads = stage.observe(T0, image, first, ["car", "car"], unconfirmed={7, 9})
    assert reader.regions == []
    reads += stage.observe(
        T0 + timedelta(seconds=0.2), image, _vehicle(220, 120, 330, 210, track=7), ["car"]
    )
    assert reader.regions == [(200, 150, 160, 130)]
    at = T0 + timedelta(seconds=0.4)
    for _ in range(10):
        at += timedelta(seconds=0.2)
        reads += stage.observe(at, image, Detections.empty(), [])
    assert [(r.text, r.track_id) for r in reads] == [("LEB1234", 7)]
    assert stage.skipped["unconfirmed"] == 1
    assert len(reader.regions) == 1


@pytest.mark.parametrize(
    ("confidence", "frames", "published"),
    [(0.7, 1, False), (0.7, 2, True), (0.95, 1, True)],
)
def test_a_read_no_second_frame_agrees_with_needs_the_cameras_floor(
    tmp_path: Path, confidence: float, frames: int, published: bool
) -> None:
    reader = _PlateReader(confidence=confidence)
    stage = PlateStage(
        "cam-a",
        reader,
        fuse_keeping_confidence,
        tmp_path,
        max_attempts=frames,
        single_read_floor=0.8,
    )
    reads = _drive_down(stage, 6)
    assert len(reader.regions) == frames
    assert [r.text for r in reads] == (["LEB1234"] if published else [])
    assert stage.skipped["unsure_alone"] == (0 if published else 1)


def test_the_single_read_floor_is_a_share() -> None:
    with pytest.raises(ValidationError, match="plate_single_read_floor"):
        CameraAnalyticsConfig.model_validate({"plates": True, "plate_single_read_floor": 1.5})
    config = CameraAnalyticsConfig.model_validate({"plates": True})
    assert config.plate_single_read_floor == 0.0


def _pass(stage: PlateStage, start: float, track: int) -> list[PlateRead]:
    """A car driving down the picture for a second (5 analysed frames) as ``track``, then
    out of sight long enough for its track to end: the reads the stage published."""
    image = _textured()
    reads = []
    for step in range(5):
        at = T0 + timedelta(seconds=start + step / 5)
        box = _vehicle(200, 80 + 8 * step, 320, 180 + 8 * step, track=track)
        reads += stage.observe(at, image, box, ["car"])
    reads += stage.observe(T0 + timedelta(seconds=start + 3), image, Detections.empty(), [])
    return reads


def test_the_same_vehicle_tracked_again_moments_later_is_not_read_again(
    tmp_path: Path,
) -> None:
    """A track lost and found again (a new id) is the same pass: one read, and its
    repeats counted. A plate seen again after a quiet spell is a new pass."""
    stage = PlateStage("cam-a", _PlateReader(rule="pk_private"), fuse_by_vote, tmp_path)
    first = _pass(stage, 0.0, track=7)
    again = _pass(stage, 3.5, track=8)  # 2.5 s after the first track ended
    queueing = _pass(stage, 7.0, track=9)  # and again: still the same wait at the light
    assert [r.text for r in first] == ["LEB1234"]
    assert again == []
    assert queueing == []
    assert stage.skipped["repeat"] == 2
    later = _pass(stage, 30.0, track=10)  # 20 s after it was last seen
    assert [r.text for r in later] == ["LEB1234"]
    assert stage.skipped["repeat"] == 2


def test_a_car_read_at_once_then_waiting_long_at_the_light_is_one_read(
    tmp_path: Path,
) -> None:
    """Settled by a confident read in its first second, the car then waits 40 s in view;
    tracked again just after that track ends, it is still the same pass."""
    stage = PlateStage("cam-a", _PlateReader(rule="pk_private"), fuse_by_vote, tmp_path)
    image = _textured()
    reads = []
    for step in range(200):  # 40 s at 5 analysed fps, standing still
        at = T0 + timedelta(seconds=step / 5)
        reads += stage.observe(at, image, _vehicle(200, 120, 320, 220, track=7), ["car"])
    assert [r.text for r in reads] == ["LEB1234"]
    reads += stage.observe(T0 + timedelta(seconds=42), image, Detections.empty(), [])
    assert _pass(stage, 43.0, track=8) == []  # lost and found 3 s after it was last seen
    assert stage.skipped["repeat"] == 1
