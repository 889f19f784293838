"""The project's own plate recogniser: its manifest check, and what it reads.

The plates here come from the simulator's designs with seeds 5000-5179, which training
never used (training draws its plates from numpy generators seeded 910000-910023 and
990001, see models/MODEL_CARD.md).
"""

from __future__ import annotations

import json
import shutil
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
from safecity.sim.truth import CameraView, Lighting, VehicleClass
from safecity.sim.views import plate_occluded
from safecity.vision.plates import FormatRules, PlateReader
from safecity.vision.plates.slots import (
    MANIFEST_NAME,
    ModelInvalid,
    SlotRecogniser,
    load_manifest,
    shipped_manifest,
)

CLASSES: tuple[VehicleClass, ...] = ("car", "car", "van", "motorcycle", "bus", "rickshaw")


@pytest.fixture(scope="module")
def model() -> SlotRecogniser:
    recogniser = SlotRecogniser()
    recogniser.warm_up()
    return recogniser


def _camera_crop(design: PlateDesign, plate_height: int, seed: int) -> np.ndarray:
    """The plate shrunk to ``plate_height`` pixels on a grey surround, boxed with a
    margin, slightly blurred and JPEG-compressed like a camera frame."""
    plate = draw_plate(design)
    scale = plate_height / plate.shape[0]
    small = cv2.resize(
        plate, (round(plate.shape[1] * scale), plate_height), interpolation=cv2.INTER_AREA
    )
    rng = np.random.default_rng(seed)
    margin_x, margin_y = max(3, small.shape[1] // 12), max(3, plate_height // 6)
    size = (plate_height + 2 * margin_y, small.shape[1] + 2 * margin_x, 3)
    canvas = rng.normal(100, 8, size=size).clip(0, 255).astype(np.uint8)
    canvas[margin_y : margin_y + plate_height, margin_x : margin_x + small.shape[1]] = small
    blurred = cv2.GaussianBlur(canvas, (0, 0), 0.6)
    ok, jpeg = cv2.imencode(".jpg", blurred, [cv2.IMWRITE_JPEG_QUALITY, 70])
    decoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    assert ok
    assert decoded is not None
    return np.asarray(decoded, dtype=np.uint8)


def test_the_shipped_manifest_describes_the_shipped_file(model: SlotRecogniser) -> None:
    manifest = model.manifest
    assert manifest.alphabet == "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    assert manifest.slots >= 8
    assert manifest.output.classes == len(manifest.alphabet) + 1
    assert "Apache-2.0" in manifest.licence
    assert (shipped_manifest().parent / manifest.file).stat().st_size < 2_000_000


def _copy_model(tmp_path: Path) -> Path:
    source = shipped_manifest()
    manifest = json.loads(source.read_text())
    shutil.copy(source, tmp_path / MANIFEST_NAME)
    shutil.copy(source.parent / manifest["file"], tmp_path / manifest["file"])
    return tmp_path / MANIFEST_NAME


def test_a_corrupt_model_file_is_refused_with_its_digest(tmp_path: Path) -> None:
    manifest_path = _copy_model(tmp_path)
    model_file = tmp_path / json.loads(manifest_path.read_text())["file"]
    content = bytearray(model_file.read_bytes())
    content[len(content) // 2] ^= 0xFF
    model_file.write_bytes(bytes(content))
    with pytest.raises(ModelInvalid, match="sha256"):
        SlotRecogniser(manifest_path).warm_up()


def test_a_missing_model_file_or_manifest_is_refused(tmp_path: Path) -> None:
    manifest_path = _copy_model(tmp_path)
    (tmp_path / json.loads(manifest_path.read_text())["file"]).unlink()
    with pytest.raises(ModelInvalid, match="missing"):
        SlotRecogniser(manifest_path).warm_up()
    with pytest.raises(ModelInvalid, match="missing"):
        SlotRecogniser(tmp_path / "nothing.json").warm_up()


def test_a_manifest_that_does_not_match_the_network_is_refused(tmp_path: Path) -> None:
    """The digest matches but the manifest promises another input size: the network's own
    shapes are checked, so the reader never feeds it images of the wrong size."""
    manifest_path = _copy_model(tmp_path)
    manifest = json.loads(manifest_path.read_text())
    manifest["input"]["height"] += 16
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ModelInvalid, match="input shape"):
        SlotRecogniser(manifest_path).warm_up()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"alphabet": "ABC-"}, "alphabet"),
        ({"slots": 3}, "slots"),
        ({"sha256": "not a digest"}, "sha256"),
    ],
)
def test_a_malformed_manifest_is_refused(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    manifest_path = _copy_model(tmp_path)
    manifest = json.loads(manifest_path.read_text())
    manifest.update(change)
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ModelInvalid, match=message):
        load_manifest(manifest_path)


def test_a_manifest_that_is_not_json_is_refused(tmp_path: Path) -> None:
    manifest_path = _copy_model(tmp_path)
    manifest_path.write_text("{file: ")
    with pytest.raises(ModelInvalid, match="JSON"):
        SlotRecogniser(manifest_path).warm_up()


def test_fresh_simulated_plates_are_read_far_above_chance(model: SlotRecogniser) -> None:
    """180 plates of every province and layout, 14-40 px high, never seen in training.

    Measured with the shipped weights (MODEL_CARD.md: the wider network, 28.0 % exact on
    its synthetic validation set): 123 of 180 plates exact and 911 of 1,016 characters
    right in their slot (90 %); the weights before them (render crops mixed in) read 101
    and 873 (86 %), the synthetic-only 16,400-step weights 93 and 841 (83 %), the first,
    2,400-step weights 4 and 396 (39 %). Chance is under 3 % a character, so an untrained,
    corrupt or wrongly wired model fails the floors, and so do all earlier weights. Raise
    both floors when better weights are shipped.
    """
    exact = right = total = 0
    for seed in range(5000, 5180):
        design = generate_plate(np.random.default_rng(seed), CLASSES[seed % len(CLASSES)])
        height = 14 + (seed * 7) % 27
        text = model.read([_camera_crop(design, height, seed)])[0].text
        exact += text == design.registration
        right += sum(a == b for a, b in zip(text, design.registration, strict=False))
        total += len(design.registration)
    assert right >= 0.88 * total, (right, total)
    assert exact >= 112, exact


def test_two_line_plates_come_out_upper_line_then_lower(model: SlotRecogniser) -> None:
    """Pakistani two-line plates carry the letters above the digits: a read in upper-then-
    lower order starts with a letter and ends with a digit (measured 40 of 40 with the
    shipped weights, though only half are exact yet: 21 of 40)."""
    designs = [
        design
        for seed in range(6000, 6200)
        if (design := generate_plate(np.random.default_rng(seed), "motorcycle")).layout
        == "two_line"
    ][:40]
    assert len(designs) == 40
    reads = [model.read([_camera_crop(d, 40, i)])[0].text for i, d in enumerate(designs)]
    ordered = sum(bool(r) and r[0].isalpha() and r[-1].isdigit() for r in reads)
    reversed_order = sum(bool(r) and r[0].isdigit() and r[-1].isalpha() for r in reads)
    assert ordered >= 36, reads
    assert reversed_order == 0, reads


def test_a_blank_crop_reads_as_nothing_sure(model: SlotRecogniser) -> None:
    blank = np.full((30, 100, 3), 128, np.uint8)
    read = model.read([blank])[0]
    assert read.confidence < 0.5


def test_the_reader_falls_back_to_ppocr_where_the_own_model_is_unsure() -> None:
    """``slots-first``: the own model reads each candidate first; where it is not sure
    (as with the shipped early weights on most plates) PP-OCR's recogniser decides, so the
    plate is still read exactly, with the box on the plate."""
    design = generate_plate(np.random.default_rng(7), "car")
    plate = draw_plate(design)
    small = cv2.resize(plate, (round(plate.shape[1] * 40 / plate.shape[0]), 40))
    scene = np.full((240, 360, 3), 90, np.uint8)
    scene[100 : 100 + small.shape[0], 80 : 80 + small.shape[1]] = small
    reader = PlateReader(rules=FormatRules.default(), recogniser="slots-first")
    reads = reader.read(scene)
    assert reads
    assert reads[0].text == design.registration, reads[0]
    x, y, w, h = reads[0].box.as_tuple()
    assert 70 <= x + w / 2 <= 80 + small.shape[1]
    assert 95 <= y + h / 2 <= 145


def test_cue_localisation_needs_the_own_model() -> None:
    with pytest.raises(ValueError, match="cues_first"):
        PlateReader(cues_first=True)


def test_an_unknown_recogniser_is_refused() -> None:
    with pytest.raises(ValueError, match="recogniser"):
        PlateReader(recogniser="tesseract")  # type: ignore[arg-type]


LIGHTINGS: tuple[Lighting, ...] = ("day", "dusk", "night")
RENDER_SEEDS = range(5400, 5410)
"""Cities rendered only by the test below: training used seeds 932000-932199."""


def _render_plate_crops(seed: int) -> list[tuple[np.ndarray, str]]:
    """Ground-truth plate crops of a fresh render: each plate at least 12 px tall, wholly
    in the frame and overlapped by nothing, boxed with 8 % of its width and 25 % of its
    height around it, from frames JPEG-compressed like a decoded stream."""
    view: CameraView = "anpr" if seed % 2 == 0 else "overview"
    lighting = LIGHTINGS[seed % 3]
    width, height = (1280, 720) if seed % 4 != 3 else (640, 360)
    options = city_options(
        seed, 20, cameras=1, width=width, height=height, fps=10, lighting=lighting, view=view
    )
    city = build_city(options)
    renderer = CameraRenderer(city, city.cameras[0])
    crops: list[tuple[np.ndarray, str]] = []
    for index in range(5, city.frame_count, 10):
        image, views = renderer.render(index)
        ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 60])
        assert ok
        frame = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
        assert frame is not None
        for position, seen in enumerate(views):
            quad = seen.plate_quad
            if quad is None or seen.vehicle is None:
                continue
            x0, y0 = quad.min(axis=0)
            x1, y1 = quad.max(axis=0)
            if x0 < 0 or y0 < 0 or x1 > width or y1 > height or y1 - y0 < 12:
                continue
            nearer = [other.box for other in views[position + 1 :] if other.box is not None]
            nearer.append(overlay_extent(width, height))
            plate_box = bounding_box(quad, width, height)
            if plate_box is None or plate_occluded(plate_box, nearer):
                continue
            grow_x, grow_y = 0.08 * (x1 - x0), 0.25 * (y1 - y0)
            box = (
                max(int(x0 - grow_x), 0),
                max(int(y0 - grow_y), 0),
                min(int(np.ceil(x1 + grow_x)), width),
                min(int(np.ceil(y1 + grow_y)), height),
            )
            crop = frame[box[1] : box[3], box[0] : box[2]]
            crops.append((np.ascontiguousarray(crop), seen.vehicle.plate.registration))
    return crops


def test_plates_of_unseen_simulator_renders_are_read_as_measured(model: SlotRecogniser) -> None:
    """The cameras' own plates (the fast path for a plate locator's crops): ten cities
    never rendered for training, both views, day, dusk and night, motion blur included.

    Measured (2026-12-07): 124 crops; the shipped weights (the wider network, MODEL_CARD.md)
    read 54 exactly, 14 of them sure (confidence >= 0.8, the reader's ``slot_reads.SLOTS_SURE``);
    the weights before them (trained with render crops) 31, the synthetic-only weights 26;
    none is sure of any wrong read. Far from "most": many of these plates are small,
    blurred or glared over. The floor sits between the shipped and the previous weights;
    raise it when better weights are shipped.
    """
    crops = [crop for seed in RENDER_SEEDS for crop in _render_plate_crops(seed)]
    reads = model.read([image for image, _ in crops])
    exact = sum(read.text == plate for read, (_, plate) in zip(reads, crops, strict=True))
    sure_wrong = sum(
        read.text != plate and read.confidence >= 0.8
        for read, (_, plate) in zip(reads, crops, strict=True)
    )
    assert len(crops) >= 100, len(crops)
    assert exact >= 42, (exact, len(crops))
    assert sure_wrong == 0, (sure_wrong, len(crops))
