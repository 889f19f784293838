"""Ignore regions: the simulated camera's on-screen display is neither tracked nor read.

The simulator burns a frame counter, the frame number and the camera's name into the
top of every frame, as a real camera burns its clock. The counter changes every frame,
so without an ignore region the motion gate forms an object there and an OCR reads
the text as a plate. ``OsdReader`` stands in for such an OCR: besides the vehicles'
plates (from ground truth) it "reads" the camera name and the frame number whenever the
region it is given reaches into the display band.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from safecity.analytics.pipeline import PipelineCamera, build_pipeline
from safecity.analytics.plates import PlateStage
from safecity.contracts.analytics import PlateRead, RuleEvent
from safecity.contracts.analytics_config import AnalyticsConfigChanged, CameraAnalyticsConfig
from safecity.contracts.base import Message
from safecity.demo.analytics import demo_analytics_config, overlay_band
from safecity.sim.counter import overlay_extent, read_counter
from safecity.sim.truth import GroundTruth
from safecity.vision.detections import Detections
from safecity.vision.zones import Polygon
from safecity.web.platform import Platform
from tests.analytics.support import CAMERA, OracleRead, OracleReader, fuse_by_vote, true_plates
from tests.analytics.test_pipeline import CONFIG, T0, _truth_crossings, run_clip
from tests.factories import World, make_user, token_for

WIDTH, HEIGHT = 640, 360
BLOCK = (20, 200, 240)
OSD_BOTTOM = overlay_extent(WIDTH, HEIGHT)[3]
CAMERA_NAME = "CAM01"
OSD_BAND = round(overlay_band(), 4)
IGNORE_OSD = {"name": "osd", "points": [[0, 0], [1, 0], [1, OSD_BAND], [0, OSD_BAND]]}
# A zone over the display itself: any object formed there fires its intrusion rule.
OSD_ZONE = {"name": "osd zone", "points": [[0, 0], [1, 0], [1, 0.12], [0, 0.12]]}


class OsdReader(OracleReader):
    """The oracle, plus the on-screen text an OCR finds in any region that reaches it."""

    def read(
        self, image_bgr: npt.NDArray[np.uint8], region: tuple[int, int, int, int] | None = None
    ) -> list[OracleRead]:
        found = super().read(image_bgr, region)
        frame = read_counter(image_bgr)
        if frame is not None and (region is None or region[1] < OSD_BOTTOM):
            found += [
                OracleRead(CAMERA_NAME, 0.8, (520, 6, 60, 14)),
                OracleRead(f"D{frame % 10000:04d}", 0.7, (230, 6, 56, 14)),
            ]
        return found


def _is_osd_text(text: str) -> bool:
    return text == CAMERA_NAME or (text.startswith("D") and text[1:].isdigit())


def _read_below_band(truth: GroundTruth) -> set[str]:
    band = OSD_BAND * HEIGHT
    return {
        vehicle.plate
        for vehicle in truth.vehicles
        for appearance in vehicle.appearances
        if appearance.camera_id == CAMERA
        and sum(
            s.vehicle_box.y > 0
            and s.vehicle_box.y + s.vehicle_box.h < HEIGHT
            and s.vehicle_box.y + s.vehicle_box.h > band + 8
            for s in appearance.samples
        )
        >= 2
    }


def _config(*, ignore: bool) -> CameraAnalyticsConfig:
    data: dict[str, Any] = {
        **CONFIG,
        "zones": [*CONFIG["zones"], OSD_ZONE],
        "rules": [
            *CONFIG["rules"],
            {"kind": "zone_intrusion", "name": "osd intrusion", "zone": "osd zone"},
        ],
    }
    if ignore:
        data["ignore"] = [IGNORE_OSD]
    return CameraAnalyticsConfig.model_validate(data)


def _run(
    clip: Path, truth: GroundTruth, tmp_path: Path, *, ignore: bool
) -> tuple[list[RuleEvent], list[PlateRead]]:
    published: list[Message] = []
    pipeline = build_pipeline(
        PipelineCamera(CAMERA, tmp_path, _config(ignore=ignore), 1),
        None,
        OsdReader(truth),
        published.append,
        fuse=fuse_by_vote,
    )
    run_clip(clip, pipeline)
    return (
        [m for m in published if isinstance(m, RuleEvent)],
        [m for m in published if isinstance(m, PlateRead)],
    )


def test_without_an_ignore_region_the_display_is_tracked_but_its_text_is_no_plate(
    sim_clip: tuple[Path, GroundTruth], tmp_path: Path
) -> None:
    """The counter is motion and becomes an object; its text, read in the regions of
    objects that reach the display, once became plate reads. The ANPR stage now drops
    readings above a plate's place on the vehicle and texts that stand still while
    the vehicle moves (``vision.plates.vehicle``) before fusing, so none is published
    even without an ignore region."""
    clip, truth = sim_clip
    events, reads = _run(clip, truth, tmp_path, ignore=False)
    assert [e for e in events if e.rule == "osd intrusion"]
    assert not [r for r in reads if _is_osd_text(r.text)], [r.text for r in reads]


def test_an_ignore_region_over_the_display_forms_no_object_and_reads_nothing_there(
    sim_clip: tuple[Path, GroundTruth], tmp_path: Path
) -> None:
    clip, truth = sim_clip
    events, reads = _run(clip, truth, tmp_path, ignore=True)
    assert not [e for e in events if e.rule == "osd intrusion"]
    for event in events:
        if event.box is not None:
            # No object stands (bottom centre of its box) in the ignored band.
            assert event.box.y + event.box.h > OSD_BAND * HEIGHT, event
    assert not [r for r in reads if _is_osd_text(r.text)], [r.text for r in reads]
    assert all(r.box is not None and r.box.y + r.box.h / 2 > OSD_BAND * HEIGHT for r in reads)
    # The vehicles are still counted and read.
    down, _ = _truth_crossings(truth)
    ins = [e for e in events if e.kind == "line_crossing" and e.direction == "in"]
    assert down
    assert abs(len(ins) - down) <= 1, (len(ins), down)
    # Every vehicle seen at least twice wholly in view and below the band is read; one
    # that only came into view inside the band (at the far end of the road) is not.
    assert _read_below_band(truth) <= {r.text for r in reads} <= set(true_plates(truth))


# --- the ANPR stage's own guards -------------------------------------------------------


class _FixedReader:
    """Reads a vehicle's plate where the test says it is, and a fixed text at a fixed place."""

    def __init__(self, fixed: tuple[int, int, int, int] | None) -> None:
        self.fixed = fixed
        self.plate_at: tuple[int, int, int, int] = (0, 0, 1, 1)

    def read(
        self, image_bgr: npt.NDArray[np.uint8], region: tuple[int, int, int, int] | None = None
    ) -> list[OracleRead]:
        if self.fixed is not None:
            return [OracleRead("CAM01", 0.9, self.fixed)]
        return [OracleRead("LEB1234", 0.9, self.plate_at)]


def _drive(stage: PlateStage, reader: _FixedReader, tmp_path: Path) -> list[PlateRead]:
    """A vehicle box moving down the frame for eight frames, then gone."""
    image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    reads: list[PlateRead] = []
    for step in range(8):
        y = 80 + 20 * step
        reader.plate_at = (300, y + 60, 40, 12)
        vehicle = Detections.create(
            np.array([[260, y, 380, y + 80]], np.float32),
            np.array([0.9], np.float32),
            np.array([-1], np.int32),
            np.array([7], np.int64),
        )
        reads += stage.observe(T0 + timedelta(seconds=step / 5), image, vehicle, ["motion"])
    reads += stage.flush()
    return reads


def test_a_plate_text_that_stands_still_while_its_vehicle_moves_is_rejected(
    tmp_path: Path,
) -> None:
    reader = _FixedReader(fixed=(520, 6, 60, 14))
    stage = PlateStage(CAMERA, reader, fuse_by_vote, tmp_path)
    assert _drive(stage, reader, tmp_path) == []
    assert stage.stationary == 1
    assert stage.rejected == 0


def test_a_plate_that_moves_with_its_vehicle_is_published(tmp_path: Path) -> None:
    reader = _FixedReader(fixed=None)
    stage = PlateStage(CAMERA, reader, fuse_by_vote, tmp_path)
    reads = _drive(stage, reader, tmp_path)
    assert [r.text for r in reads] == ["LEB1234"]
    assert stage.stationary == 0


def test_a_reading_in_an_ignore_region_is_dropped_and_counted(tmp_path: Path) -> None:
    reader = _FixedReader(fixed=None)
    stage = PlateStage(CAMERA, reader, fuse_by_vote, tmp_path)
    # The lower half of the frame is ignored: the plate is read there from the fifth frame.
    stage.set_ignore([Polygon(((0, 180), (640, 180), (640, 360), (0, 360)))])
    reads = _drive(stage, reader, tmp_path)
    assert [r.text for r in reads] == ["LEB1234"]
    assert reads[0].box is not None
    assert reads[0].box.y < 180
    # Frames of the same quality are read 0.4 s apart, every other frame of the eight:
    # three of the four readings (plate centre at y 186, 226, 266) lie in the region.
    assert stage.ignored == 3


# --- the contract ------------------------------------------------------------------------


def test_the_field_is_optional_so_older_configurations_and_messages_stay_valid() -> None:
    assert CameraAnalyticsConfig.model_validate(CONFIG).ignore == ()
    message = AnalyticsConfigChanged(
        camera_id=CAMERA, version=1, config=CameraAnalyticsConfig.model_validate(CONFIG)
    )
    payload = message.model_dump(mode="json")
    del payload["config"]["ignore"]
    assert AnalyticsConfigChanged.model_validate(payload) == message
    with_region = CameraAnalyticsConfig.model_validate({**CONFIG, "ignore": [IGNORE_OSD]})
    assert with_region.ignore[0].name == "osd"
    assert CameraAnalyticsConfig.model_validate_json(with_region.model_dump_json()) == with_region


@pytest.mark.parametrize(
    ("ignore", "reason"),
    [
        ([{**IGNORE_OSD, "colour": "grey"}], "Extra inputs are not permitted"),
        ([{"name": "osd", "points": [[0, 0], [1, 0]]}], "at least 3 items"),
        ([{"name": "osd", "points": [[0, 0], [0.5, 0.5], [1, 1]]}], "on one line"),
        ([{"name": "osd", "points": [[0, 0], [1, 0], [1, 0], [0, 0]]}], "3 distinct"),
        ([{"name": "osd", "points": [[0, 0], [1.2, 0], [1, 0.2]]}], "less than or equal to 1"),
        ([{"name": "osd", "points": [[0, -0.1], [1, 0], [1, 0.2]]}], "greater than or equal"),
        ([{"name": "", "points": IGNORE_OSD["points"]}], "String should match pattern"),
        ([IGNORE_OSD, IGNORE_OSD], "ignore region names must be unique"),
    ],
)
def test_bad_ignore_regions_are_refused(ignore: list[dict[str, Any]], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        CameraAnalyticsConfig.model_validate({**CONFIG, "ignore": ignore})


def test_a_rule_cannot_name_an_ignore_region_as_its_zone() -> None:
    with pytest.raises(ValidationError, match="not defined"):
        CameraAnalyticsConfig.model_validate(
            {
                "ignore": [IGNORE_OSD],
                "rules": [{"kind": "zone_intrusion", "name": "x", "zone": "osd"}],
            }
        )


@pytest.mark.parametrize(("width", "height"), [(640, 360), (1280, 720), (1920, 1080)])
def test_the_demo_ignores_the_simulators_display_band_at_any_resolution(
    width: int, height: int
) -> None:
    config = demo_analytics_config(None)
    (region,) = config.ignore
    top = max(y for _, y in region.points)
    assert overlay_extent(width, height)[3] / height < top <= 0.2
    assert {x for x, _ in region.points} == {0.0, 1.0}
    # The road zone and its rules are untouched by the region.
    assert min(y for zone in config.zones for _, y in zone.points) > top


# --- the API and the editor ------------------------------------------------------------


def test_an_ignore_region_round_trips_through_the_api_and_shows_in_the_editor(
    api: TestClient, platform: Platform, world: World
) -> None:
    make_user(platform, "eng-ignore", ["engineer"], districts=["peshawar"])
    headers = {
        "Authorization": f"Bearer {token_for(platform, 'eng-ignore')}",
        "X-Purpose": "tests",
    }
    camera = world.cameras["PSH-TC1"]
    url = f"/api/v1/cameras/{camera}/analytics"
    body = {**CONFIG, "ignore": [IGNORE_OSD]}
    saved = api.put(url, json=body, headers={**headers, "If-Match": '"0"'})
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 1
    assert saved.json()["config"]["ignore"] == [IGNORE_OSD]
    assert api.get(url, headers=headers).json()["config"]["ignore"] == [IGNORE_OSD]
    # The editor saves the whole configuration back; removing the region is a new version.
    stale = api.put(url, json=CONFIG, headers={**headers, "If-Match": '"0"'})
    assert stale.status_code == 412
    cleared = api.put(url, json=CONFIG, headers={**headers, "If-Match": '"1"'})
    assert cleared.status_code == 200
    assert cleared.json()["config"]["ignore"] == []
    bad = api.put(
        url,
        json={**CONFIG, "ignore": [{"name": "x", "points": [[0, 0], [1, 1]]}]},
        headers={**headers, "If-Match": '"2"'},
    )
    assert bad.status_code == 422
    page = api.get(f"/cameras/{camera}/analytics", headers=headers)
    assert 'id="polygon-kind"' in page.text
    assert '<option value="ignore">ignore region</option>' in page.text
    assert "<script>" not in page.text
    assert "style=" not in page.text
    script = api.get("/static/js/analytics-editor.js").text
    assert 'ignore: "ignore"' in script


class _BandDetector:
    """Finds the moving yellow block, and a 'car' standing in the band right above it
    (so both move, and the tracker keeps both)."""

    name = "band"
    classes = ("car",)

    def detect(self, image_bgr: npt.NDArray[np.uint8]) -> Detections:
        ys, xs = np.nonzero(np.all(image_bgr == BLOCK, axis=2))
        if not len(xs):
            return Detections.empty()
        x1, y1, x2, y2 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
        return Detections.create(
            np.array([[x1, 0, x1 + 60, 20], [x1, y1, x2, y2]], np.float32),
            np.array([0.9, 0.9], np.float32),
            np.array([0, 0], np.int32),
        )


@pytest.mark.parametrize("ignore", [False, True])
def test_detections_standing_in_an_ignore_region_are_dropped(ignore: bool, tmp_path: Path) -> None:
    config = CameraAnalyticsConfig.model_validate(
        {
            "enabled": True,
            "zones": [{"name": "band", "points": [[0, 0], [1, 0], [1, 0.15], [0, 0.15]]}],
            "ignore": [IGNORE_OSD] if ignore else [],
            "rules": [{"kind": "zone_intrusion", "name": "in band", "zone": "band"}],
        }
    )
    published: list[Message] = []
    pipeline = build_pipeline(
        PipelineCamera(CAMERA, tmp_path, config, 1), _BandDetector(), None, published.append
    )
    for step in range(20):
        frame = np.full((HEIGHT, WIDTH, 3), 90, np.uint8)
        # A block moving along just below the band.
        frame[40:110, 100 + 10 * step : 160 + 10 * step] = BLOCK
        pipeline.process(frame, T0 + timedelta(seconds=step / 5))
    fired = [m for m in published if isinstance(m, RuleEvent)]
    assert bool(fired) is not ignore


class _EnteringDetector:
    """Finds the moving block as a vehicle coming in under the top edge of the picture:
    its box runs from the edge (the vehicle is cut there) down to the block's bottom."""

    name = "entering"
    classes = ("car",)

    def detect(self, image_bgr: npt.NDArray[np.uint8]) -> Detections:
        ys, xs = np.nonzero(np.all(image_bgr == BLOCK, axis=2))
        if not len(xs):
            return Detections.empty()
        x1, x2, y2 = int(xs.min()), int(xs.max()) + 1, int(ys.max()) + 1
        return Detections.create(
            np.array([[x1, 0, x2, y2]], np.float32),
            np.array([0.9], np.float32),
            np.array([0], np.int32),
        )


def test_a_vehicle_cut_by_the_top_edge_below_the_band_is_kept(tmp_path: Path) -> None:
    """Its box's centre lies in the band over the display, but it stands below it. (The
    motion gate drops its motion, mostly inside the band; another vehicle's, lower down,
    has the detector look.)"""
    config = CameraAnalyticsConfig.model_validate(
        {"enabled": True, "ignore": [IGNORE_OSD], "detector_refresh_seconds": 0}
    )
    pipeline = build_pipeline(
        PipelineCamera(CAMERA, tmp_path, config, 1), _EnteringDetector(), None, lambda _: None
    )
    band = OSD_BAND * HEIGHT
    tracked = 0
    for step in range(12):
        frame = np.full((HEIGHT, WIDTH, 3), 90, np.uint8)
        bottom = int(band) + 20 + 3 * step
        frame[0:bottom, 200 + 8 * step : 280 + 8 * step] = BLOCK
        frame[250:330, 100 + 12 * step : 200 + 12 * step] = 160
        pipeline.process(frame, T0 + timedelta(seconds=step / 5))
        tracks = pipeline.tracks
        if len(tracks):
            _, y1, _, y2 = tracks.xyxy[0]
            assert (y1 + y2) / 2 < band < y2, "a box centred in the band, standing below it"
            tracked += 1
    assert tracked >= 8
