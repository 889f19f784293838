"""The own plate locator: its manifest check, where it finds plates, and the reader path
that uses it.

Renders here use seeds 5300-5309, which neither the locator's training (931000-931099,
models/PLATE_LOCATOR.md) nor any benchmark uses.
"""

from __future__ import annotations

import json
import shutil
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest

from safecity.sim.city import build_city
from safecity.sim.counter import overlay_extent
from safecity.sim.frame import CameraRenderer
from safecity.sim.geometry import bounding_box
from safecity.sim.plate_render import draw_plate
from safecity.sim.plates import PlateDesign, generate_plate
from safecity.sim.render import city_options
from safecity.sim.truth import CameraView, Lighting
from safecity.sim.views import plate_occluded
from safecity.vision.plates import FormatRules, InvalidImage, PlateReader
from safecity.vision.plates.lattice import LineRead
from safecity.vision.plates.locator import (
    MANIFEST_NAME,
    LocatedPlate,
    PlateLocator,
    load_manifest,
    shipped_manifest,
)
from safecity.vision.plates.ocr import Image, TextBox, TextEngine
from safecity.vision.plates.result import PixelBox
from safecity.vision.plates.slots import ModelInvalid, SlotRead, SlotRecogniser

Region = tuple[np.ndarray, PixelBox, str]
"""A vehicle region cut at its true box, its plate's box in region pixels, its plate text."""


@pytest.fixture(scope="module")
def locator() -> PlateLocator:
    found = PlateLocator()
    found.warm_up()
    return found


def _copy_model(tmp_path: Path) -> Path:
    source = shipped_manifest()
    manifest = json.loads(source.read_text())
    shutil.copy(source, tmp_path / MANIFEST_NAME)
    shutil.copy(source.parent / manifest["file"], tmp_path / manifest["file"])
    return tmp_path / MANIFEST_NAME


def _edit(path: Path, **changes: object) -> None:
    manifest = json.loads(path.read_text())
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            manifest[section][field] = value
        else:
            manifest[section] = value
    path.write_text(json.dumps(manifest))


def test_the_shipped_manifest_describes_the_shipped_file(locator: PlateLocator) -> None:
    manifest = locator.manifest
    assert manifest.input.channels == 1
    assert manifest.stride == 8
    assert "simulator renders only" in manifest.licence
    assert (shipped_manifest().parent / manifest.file).stat().st_size < 1_000_000


def test_a_corrupt_model_file_is_refused_with_its_digest(tmp_path: Path) -> None:
    manifest_path = _copy_model(tmp_path)
    model_file = tmp_path / json.loads(manifest_path.read_text())["file"]
    content = bytearray(model_file.read_bytes())
    content[len(content) // 2] ^= 0xFF
    model_file.write_bytes(bytes(content))
    with pytest.raises(ModelInvalid, match="sha256"):
        PlateLocator(manifest_path).warm_up()


def test_a_manifest_naming_outputs_the_network_lacks_is_refused(tmp_path: Path) -> None:
    """The digest matches, but the manifest names another output: the network's own
    outputs are checked, so the locator never decodes the wrong tensor."""
    manifest_path = _copy_model(tmp_path)
    _edit(manifest_path, corners__name="boxes")
    with pytest.raises(ModelInvalid, match="output 'boxes'"):
        PlateLocator(manifest_path).warm_up()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"corners__channels": 4}, "8 corner channels"),
        ({"input__height": 96}, "input"),
        ({"sha256": "not a digest"}, "sha256"),
        ({"threshold": 1.5}, "threshold"),
        ({"stride": 7}, "stride"),
    ],
)
def test_a_malformed_manifest_is_refused(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    manifest_path = _copy_model(tmp_path)
    _edit(manifest_path, **change)
    with pytest.raises(ModelInvalid, match=message):
        load_manifest(manifest_path)


def test_a_missing_or_unreadable_manifest_or_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelInvalid, match="missing"):
        PlateLocator(tmp_path / "nothing.json").warm_up()
    manifest_path = _copy_model(tmp_path)
    (tmp_path / json.loads(manifest_path.read_text())["file"]).unlink()
    with pytest.raises(ModelInvalid, match="missing"):
        PlateLocator(manifest_path).warm_up()
    manifest_path.write_text("{file: ")
    with pytest.raises(ModelInvalid, match="JSON"):
        PlateLocator(manifest_path).warm_up()


@pytest.mark.parametrize(
    "bad",
    [
        "not an image",
        np.zeros((40, 40), np.float32),
        np.zeros((40, 40, 2), np.uint8),
        np.zeros((2, 40, 40, 3), np.uint8),
    ],
)
def test_a_non_image_is_refused(locator: PlateLocator, bad: object) -> None:
    with pytest.raises(ValueError, match="region must"):
        locator.locate(bad)  # type: ignore[arg-type]


def test_tiny_and_featureless_regions_hold_no_plate(locator: PlateLocator) -> None:
    assert locator.locate(np.zeros((5, 300, 3), np.uint8)) == []
    assert locator.locate(np.zeros((0, 0), np.uint8)) == []
    assert locator.locate(np.full((120, 200, 3), 90, np.uint8)) == []
    noise = np.random.default_rng(1).integers(0, 255, (150, 150), dtype=np.uint8)
    assert len(locator.locate(noise)) <= 1


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="threshold"):
        PlateLocator(threshold=0.0)
    with pytest.raises(ValueError, match="max_plates"):
        PlateLocator(max_plates=0)
    with pytest.raises(ValueError, match="locator"):
        PlateReader(locator="sometimes")  # type: ignore[arg-type]


_RENDERS: tuple[tuple[int, CameraView, Lighting], ...] = (
    (5300, "anpr", "day"),
    (5301, "anpr", "night"),
    (5302, "overview", "day"),
    (5303, "anpr", "dusk"),
    (5304, "overview", "night"),
    (5305, "anpr", "day"),
)


@cache
def _regions(seed: int, view: CameraView, lighting: Lighting) -> tuple[Region, ...]:
    """Vehicles of a 1280x720 render (every 8th frame of 6 s, one camera) whose plate is
    wholly in the frame, at least 10 px high and overlapped by nothing nearer."""
    options = city_options(
        seed, 6.0, cameras=1, fps=10, lighting=lighting, view=view, vehicles_per_minute=90.0
    )
    city = build_city(options)
    renderer = CameraRenderer(city, city.cameras[0])
    width, height = options.width, options.height
    found: list[Region] = []
    for index in range(4, city.frame_count, 8):
        image, views = renderer.render(index)
        for position, shown in enumerate(views):
            quad = shown.plate_quad
            if shown.vehicle is None or shown.box is None or quad is None:
                continue
            if quad.min() < 0 or quad[:, 0].max() > width or quad[:, 1].max() > height:
                continue
            if (quad[3, 1] - quad[0, 1] + quad[2, 1] - quad[1, 1]) / 2 < 10:
                continue
            plate = bounding_box(quad, width, height)
            nearer = [v.box for v in views[position + 1 :] if v.box is not None]
            if plate is None or plate_occluded(plate, [*nearer, overlay_extent(width, height)]):
                continue
            x, y, w, h = shown.box
            if min(w, h) < 24:
                continue
            box = PixelBox(plate[0] - x, plate[1] - y, plate[2], plate[3])
            found.append(
                (image[y : y + h, x : x + w].copy(), box, shown.vehicle.plate.registration)
            )
    return tuple(found)


def test_the_plate_is_found_in_most_vehicle_regions_of_unseen_renders(
    locator: PlateLocator,
) -> None:
    """The true plate box overlaps a located one with IoU >= 0.5 (measured: see the
    floor's comment); and where it is found, it is the locator's first answer."""
    regions = [region for render in _RENDERS for region in _regions(*render)]
    hits = first = 0
    for pixels, truth, _ in regions:
        located = locator.locate(pixels)
        overlaps = [plate.box.iou(truth) for plate in located]
        hits += any(value >= 0.5 for value in overlaps)
        first += bool(overlaps) and overlaps[0] >= 0.5
    assert len(regions) >= 40, len(regions)
    # Measured with the shipped weights: 42 of 42 found, each as the first answer (median
    # IoU 0.87; 41 of 42 at IoU >= 0.7). The floor leaves room for a retrained model.
    assert hits >= 0.9 * len(regions), (hits, len(regions))
    assert first >= 0.95 * hits, (first, hits)


class _NoTextEngine(TextEngine):
    """Fails the test if the reader reaches PP-OCR."""

    def detect(self, image: Image, scale: float = 1.0) -> list[TextBox]:
        raise AssertionError("the locator-only path must not run PP-OCR's detector")

    def recognise(self, lines: list[Image]) -> list[LineRead]:
        raise AssertionError("the locator-only path must not run PP-OCR's recogniser")

    def warm_up(self) -> None:
        return None


def test_the_reader_reads_located_plates_without_ppocr() -> None:
    """``locator="only"``: every vehicle region goes through the locator and the own
    model alone; the reads it returns sit on the true plate, in frame pixels."""
    reader = PlateReader(
        rules=FormatRules.default(), recogniser="slots", locator="only", engine=_NoTextEngine()
    )
    read_exactly = on_plate = returned = 0
    regions = [region for render in _RENDERS for region in _regions(*render)]
    for pixels, truth, text in regions:
        frame = np.zeros((pixels.shape[0] + 40, pixels.shape[1] + 60, 3), np.uint8)
        frame[30 : 30 + pixels.shape[0], 50 : 50 + pixels.shape[1]] = pixels
        reads = reader.read(frame, region=(50, 30, pixels.shape[1], pixels.shape[0]))
        if not reads:
            continue
        returned += 1
        moved = PixelBox(truth.x + 50, truth.y + 30, truth.w, truth.h)
        on_plate += reads[0].box.iou(moved) >= 0.3
        read_exactly += reads[0].text == text
    # Measured with the shipped locator and the own model's weights of 2026-12-06
    # (MODEL_CARD.md): 25 of 42 regions read, all on the plate, 8 exactly (AB45 four
    # times, EW12 and JFR28 twice). The recogniser, not the locator, limits this: raise
    # the floor when it is retrained on renders.
    assert read_exactly >= 5, (read_exactly, returned, len(regions))
    assert on_plate >= 0.9 * returned, (on_plate, returned)


class _CountingEngine(_NoTextEngine):
    """Records the PP-OCR detector passes and finds no text."""

    def __init__(self) -> None:
        super().__init__()
        self.detector_passes = 0

    def detect(self, image: Image, scale: float = 1.0) -> list[TextBox]:
        self.detector_passes += 1
        return []


class _FixedLocator(PlateLocator):
    """Answers with given plates and counts its calls."""

    def __init__(self, plates: list[LocatedPlate]) -> None:
        super().__init__()
        self.plates = plates
        self.calls = 0

    def locate(self, region: np.ndarray) -> list[LocatedPlate]:
        self.calls += 1
        return self.plates


def test_the_locator_is_asked_only_for_vehicle_regions() -> None:
    """A whole image is read the usual way: the locator learnt vehicle regions only."""
    engine, locator = _CountingEngine(), _FixedLocator([])
    reader = PlateReader(engine=engine, locator="first", plate_locator=locator, proposals=0)
    image = np.full((200, 300, 3), 100, np.uint8)
    assert reader.read(image) == []
    assert (locator.calls, engine.detector_passes) == (0, 1)
    assert reader.read(image, region=(10, 10, 200, 150)) == []
    assert locator.calls == 1


def test_where_the_locator_finds_nothing_first_falls_back_and_only_does_not() -> None:
    engine, locator = _CountingEngine(), _FixedLocator([])
    first = PlateReader(engine=engine, locator="first", plate_locator=locator, proposals=0)
    image = np.full((200, 300, 3), 100, np.uint8)
    assert first.read(image, region=(10, 10, 200, 150)) == []
    assert engine.detector_passes == 1  # the whole region, the usual way
    only = PlateReader(
        engine=_NoTextEngine(), recogniser="slots", locator="only", plate_locator=locator
    )
    assert only.read(image, region=(10, 10, 200, 150)) == []


def test_located_plates_above_a_plates_place_on_the_vehicle_are_not_read() -> None:
    """A 'plate' in the region's top part (a route board, the camera's on-screen name) is
    dropped before reading, as the reader drops text found there (vision.plates.vehicle)."""
    high = np.array([[40, 5], [120, 5], [120, 25], [40, 25]], np.float32)
    locator = _FixedLocator([LocatedPlate(high, 0.9)])
    reader = PlateReader(
        engine=_NoTextEngine(), recogniser="slots", locator="only", plate_locator=locator
    )
    image = np.full((200, 300, 3), 100, np.uint8)
    assert reader.read(image, region=(0, 0, 200, 150)) == []
    assert locator.calls == 1


class _ShapeEngine(_NoTextEngine):
    """Records the size of every image PP-OCR's detector is given; finds no text."""

    def __init__(self) -> None:
        super().__init__()
        self.shapes: list[tuple[int, ...]] = []

    def detect(self, image: Image, scale: float = 1.0) -> list[TextBox]:
        self.shapes.append(image.shape)
        return []


def test_first_gives_ppocr_the_located_plate_not_the_whole_region() -> None:
    """Where the own model is not sure (a blank 'plate'), ``first`` runs PP-OCR's detector
    on a small crop around the located plate only; finding nothing there, it does not scan
    the whole region (nor read the image-cue proposals)."""
    plate = np.array([[80, 110], [140, 110], [140, 125], [80, 125]], np.float32)
    engine, locator = _ShapeEngine(), _FixedLocator([LocatedPlate(plate, 0.9)])
    reader = PlateReader(engine=engine, locator="first", plate_locator=locator)
    image = np.full((200, 300, 3), 100, np.uint8)
    assert reader.read(image, region=(0, 0, 220, 150)) == []
    assert len(engine.shapes) == 1, engine.shapes
    height, width = engine.shapes[0][:2]
    # The 60 x 15 plate with a quarter of its width and half its height each side.
    assert (height, width) == (15 + 2 * 7, 60 + 2 * 15)


def test_the_reader_with_the_locator_handles_garbage_like_without() -> None:
    locator = _FixedLocator([])
    reader = PlateReader(
        engine=_NoTextEngine(), recogniser="slots", locator="only", plate_locator=locator
    )
    image = np.full((200, 300, 3), 100, np.uint8)
    assert reader.read(image, region=(10, 10, 5, 100)) == []  # under 8 px wide
    assert reader.read(image, region=(400, 10, 50, 50)) == []  # outside the image
    assert locator.calls == 0
    with pytest.raises(InvalidImage):
        reader.read(np.zeros((50, 50), np.float32), region=(0, 0, 40, 40))


class _FixedSlotModel(SlotRecogniser):
    """The own model's double: reads every crop as ``text``, each character and the whole
    reading with probability ``confidence``."""

    def __init__(self, text: str, confidence: float) -> None:
        super().__init__()
        self.text, self.confidence = text, confidence

    def warm_up(self) -> None:
        return None

    def read(self, crops: list[Image]) -> list[SlotRead]:
        line = LineRead.from_text(self.text, self.confidence)
        return [SlotRead(line, self.confidence) for _ in crops]


_REGION = (40, 40, 320, 210)
"""The vehicle region of :func:`_located_plate_scene` (x, y, w, h)."""


def _located_plate_scene() -> tuple[np.ndarray, PlateDesign, LocatedPlate]:
    """A sharp one-line simulator plate, 36 px high, low on a grey 'vehicle'; the plate
    as the locator finds it (its quad in the pixels of :data:`_REGION`)."""
    design = generate_plate(np.random.default_rng(5311), "car")
    assert design.layout == "one_line"
    plate = draw_plate(design)
    scale = 36 / plate.shape[0]
    small = cv2.resize(plate, (round(plate.shape[1] * scale), 36), interpolation=cv2.INTER_AREA)
    image = np.full((260, 380, 3), 90, np.uint8)
    x, y = 90, 170
    image[y : y + small.shape[0], x : x + small.shape[1]] = small
    x, y = x - _REGION[0], y - _REGION[1]
    w, h = small.shape[1], small.shape[0]
    quad = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32)
    return image, design, LocatedPlate(quad, 0.9)


def _one_char_off(registration: str) -> str:
    first_digit = next(i for i, char in enumerate(registration) if char.isdigit())
    changed = "7" if registration[first_digit] != "7" else "1"
    return registration[:first_digit] + changed + registration[first_digit + 1 :]


def test_first_has_ppocr_read_a_located_plate_the_own_model_is_sure_of() -> None:
    """Where the own model is sure, ``first`` still has PP-OCR read the located plate: the
    same text comes back twice (two votes for the track), a different one only if it is
    the more confident; an unsure own read is dropped for PP-OCR's."""
    image, design, plate = _located_plate_scene()
    wrong = _one_char_off(design.registration)

    def reader(text: str, confidence: float) -> PlateReader:
        return PlateReader(
            locator="first",
            plate_locator=_FixedLocator([plate]),
            slot_model=_FixedSlotModel(text, confidence),
        )

    agreeing = reader(design.registration, 0.97).read(image, region=_REGION)
    assert [read.text for read in agreeing] == [design.registration] * 2
    # Both in the frame's pixels, on the plate.
    assert all(abs(read.box.x - 90) <= 8 and abs(read.box.y - 170) <= 8 for read in agreeing)
    # PP-OCR reads this sharp plate at over 0.99: a sure 0.97 misread gives way.
    outvoted = reader(wrong, 0.97).read(image, region=_REGION)
    assert [read.text for read in outvoted] == [design.registration]
    assert outvoted[0].confidence > 0.97
    unsure = reader(wrong, 0.5).read(image, region=_REGION)
    assert [read.text for read in unsure] == [design.registration]
