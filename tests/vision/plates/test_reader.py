"""The reader on plates drawn by the simulator (safecity.sim), and on bad input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from safecity.sim.plate_render import draw_plate
from safecity.sim.plates import PlateDesign, generate_plate
from safecity.sim.truth import VehicleClass
from safecity.vision.plates import InvalidImage, PlateReader
from safecity.vision.plates.ocr import TextEngine
from tests.vision.plates.sim_plates import plate_scene as _scene

CLASSES: tuple[VehicleClass, ...] = ("car", "car", "van", "motorcycle", "bus")


def test_simulated_pakistani_plates_are_read(pk_reader: PlateReader) -> None:
    """Seeds 100-123 (never used while developing): one- and two-line plates of every
    province, about 40 px (one line) or 64 px (two lines) high."""
    misses = []
    for seed in range(100, 124):
        design = generate_plate(np.random.default_rng(seed), CLASSES[seed % len(CLASSES)])
        height = 40 if design.layout == "one_line" else 64
        image, (x, y) = _scene(design, height, seed)
        reads = pk_reader.read(image)
        top = reads[0] if reads else None
        if top is None or top.text != design.registration:
            misses.append((design.lines(), top.text if top else None))
            continue
        # The box lies on the plate where it was drawn.
        bx, by, bw, bh = top.box.as_tuple()
        assert x - 10 <= bx + bw / 2 <= x + height * 4, (top.box, x)
        assert y - 10 <= by + bh / 2 <= y + height + 10, (top.box, y)
        assert top.rule.startswith("pk-")
    # Measured 19/24 when written; the misses are one-line Punjab plates whose small
    # year tag merges with the letters or digits (see docs/BENCHMARKS.md).
    assert len(misses) <= 6, misses


def test_two_line_text_is_upper_line_then_lower_line(pk_reader: PlateReader) -> None:
    design = generate_plate(np.random.default_rng(3), "motorcycle")  # KP two-line
    assert design.layout == "two_line"
    image, _ = _scene(design, 80, 3)
    reads = pk_reader.read(image)
    assert reads, "no read"
    assert reads[0].text == design.letters + design.digits
    assert reads[0].lines == (design.letters, design.digits)


def test_a_region_restricts_the_search_and_boxes_stay_in_image_pixels(
    pk_reader: PlateReader,
) -> None:
    design = generate_plate(np.random.default_rng(5), "car")
    image, (x, y) = _scene(design, 40, 5)
    inside = pk_reader.read(image, region=(x - 30, y - 30, 250, 110))
    assert inside
    assert inside[0].text == design.registration
    whole = pk_reader.read(image)
    assert abs(inside[0].box.x - whole[0].box.x) <= 2
    assert abs(inside[0].box.y - whole[0].box.y) <= 2
    assert pk_reader.read(image, region=(0, 200, 60, 60)) == []


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((0, 0, 3), np.uint8),
        np.zeros((4, 4, 3), np.uint8),
        np.zeros((100, 100, 3), np.uint8),
        np.random.default_rng(1).integers(0, 256, (240, 320, 3), dtype=np.uint8),
        np.full((120, 200), 200, np.uint8),
    ],
    ids=["empty", "tiny", "black", "noise", "grey"],
)
def test_images_without_plates_give_no_reads(pk_reader: PlateReader, image: np.ndarray) -> None:
    assert pk_reader.read(image) == []


@pytest.mark.parametrize(
    "image",
    [np.zeros((50, 50, 3), np.float32), np.zeros((50, 50, 2), np.uint8), "plate.jpg", None],
    ids=["float", "two-channel", "path", "none"],
)
def test_non_images_are_refused_clearly(pk_reader: PlateReader, image: object) -> None:
    with pytest.raises(InvalidImage, match="image must"):
        pk_reader.read(image)  # type: ignore[arg-type]


def test_a_region_outside_the_image_gives_no_reads(pk_reader: PlateReader) -> None:
    image = np.zeros((100, 100, 3), np.uint8)
    assert pk_reader.read(image, region=(500, 500, 50, 50)) == []
    assert pk_reader.read(image, region=(10, 10, 0, 0)) == []


def test_the_callers_image_is_not_changed(pk_reader: PlateReader) -> None:
    design = generate_plate(np.random.default_rng(8), "car")
    image, _ = _scene(design, 40, 8)
    before = image.copy()
    pk_reader.read(image)
    assert np.array_equal(image, before)


def _stamp(image: np.ndarray, text: str, origin: tuple[int, int]) -> None:
    """A camera's on-screen text: white with a dark outline, as DVRs print it."""
    for colour, thickness in (((0, 0, 0), 4), ((255, 255, 255), 1)):
        cv2.putText(image, text, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, thickness)


def test_a_cameras_date_and_time_stamps_are_never_read_as_plates(us_reader: PlateReader) -> None:
    # The US rules: their generic shape takes digits alone, so the digits of a clock time
    # would pass as a registration if the stamp were not recognised as one.
    design = generate_plate(np.random.default_rng(5), "car")
    scene, _ = _scene(design, 40, 5)
    image = np.zeros((420, 640, 3), np.uint8)
    image[:] = 90
    image[120:380, 200:580] = scene
    _stamp(image, "2014-06-17 08:38:22", (6, 18))  # the usual corner stamp
    _stamp(image, "2014-05-13", (520, 395))  # a second stamp: a date over a time
    _stamp(image, "06:43:07", (530, 413))
    reads = us_reader.read(image)
    assert reads, "no read"
    assert reads[0].text == design.registration
    for read in reads:
        cx, cy = read.box.centre
        assert not (cy < 30 and cx < 200), read  # nothing from the corner stamp
        assert not (cy > 380 and cx > 500), read  # nor from the date-over-time block


def test_a_camera_name_on_the_stamps_row_is_not_a_plate(pk_reader: PlateReader) -> None:
    """A display row along the top edge: the camera's name at the left, the date and time
    far to the right. The name reads as a registration; it shares the stamp's row."""
    design = generate_plate(np.random.default_rng(5), "car")
    scene, _ = _scene(design, 40, 5)
    image = np.zeros((420, 640, 3), np.uint8)
    image[:] = 90
    image[120:380, 200:580] = scene
    _stamp(image, "CAM-07", (8, 20))
    _stamp(image, "2026-03-14 17:30:02 PKT", (400, 20))
    texts = [read.text for read in pk_reader.read(image)]
    assert texts[:1] == [design.registration]
    assert "CAM07" not in texts


def test_overlay_text_is_a_separated_date_or_a_clock_time() -> None:
    from safecity.vision.plates.overlay import inside_overlay, is_overlay_text, overlay_zone

    for stamp in ("2014-06-17 08:38:22", "2014/05/13", "13.05.2014", "06:43607", "7 : 05"):
        assert is_overlay_text(stamp), stamp
    for plate in ("LEA-1234", "ABC 123", "KP 2019 1234", "PB-08-2014", "20140617"):
        assert not is_overlay_text(plate), plate
    zone = overlay_zone((10, 100, 100, 20), (640, 480))
    assert zone.as_tuple() == (0, 76, 140, 68)
    # A crop's edges are not the display's: the block alone.
    assert overlay_zone((300, 10, 100, 20)).as_tuple() == (270, 0, 160, 54)
    # Along the top or bottom edge: the display's whole row.
    assert overlay_zone((300, 10, 100, 20), (640, 480)).as_tuple() == (0, 0, 640, 54)
    assert overlay_zone((300, 450, 100, 20), (640, 480)).as_tuple() == (0, 426, 640, 54)
    from safecity.vision.plates.result import PixelBox

    assert inside_overlay(PixelBox(40, 125, 30, 12), [zone])  # the line just under the stamp
    assert not inside_overlay(PixelBox(40, 170, 30, 12), [zone])


def _faint_plate_in_shade(design: PlateDesign, seed: int) -> np.ndarray:
    """The plate, 40 px high, dark and faint (5 % of its contrast) in the shaded half of a
    bright scene: a backlit photo, where global contrast hides the plate's characters."""
    plate = draw_plate(design).astype(np.float32)
    scale = 40 / plate.shape[0]
    small = cv2.resize(plate, (round(plate.shape[1] * scale), 40), interpolation=cv2.INTER_AREA)
    faint = (25 + (small - small.mean()) * 0.05).clip(0, 255).astype(np.uint8)
    rng = np.random.default_rng(seed)
    scene = rng.normal(200, 25, size=(360, 640, 3)).clip(0, 255).astype(np.uint8)
    scene[:, :320] = rng.normal(60, 10, size=(360, 320, 3)).clip(0, 255).astype(np.uint8)
    scene[160:200, 240 : 240 + faint.shape[1]] = faint
    return scene


@pytest.mark.parametrize("seed", [205, 206, 209])
def test_a_faint_plate_the_detector_passes_over_is_found_with_contrast_evened(
    pk_reader: PlateReader, seed: int
) -> None:
    design = generate_plate(np.random.default_rng(seed), "car")
    image = _faint_plate_in_shade(design, seed)
    # The detector alone finds no text in the image as it is ...
    assert TextEngine().detect(image) == []
    # ... the reader looks again with the contrast evened out and reads the plate.
    reads = pk_reader.read(image)
    assert reads, "no read"
    assert reads[0].text == design.registration
    cx, cy = reads[0].box.centre
    assert 240 <= cx <= 240 + 4 * 40, reads[0].box
    assert 160 <= cy <= 200, reads[0].box


@pytest.mark.parametrize(
    ("seed", "height", "blur"), [(436, 18, 1.0), (451, 30, 1.8), (459, 18, 1.0)]
)
def test_an_unsure_read_of_a_small_blurred_plate_is_settled_by_a_second_look(
    pk_reader: PlateReader, seed: int, height: int, blur: float
) -> None:
    """Small and blurred plates whose first read drops or changes a character (YO9866 for
    YWY9866, TON5971, QX280): read again from crops of their surroundings, most of the
    reads agree on the registration."""
    design = generate_plate(np.random.default_rng(seed), CLASSES[seed % len(CLASSES)])
    image, (x, y) = _scene(
        design, height if design.layout == "one_line" else int(height * 1.6), seed
    )
    image = cv2.GaussianBlur(image, (0, 0), blur)
    reads = pk_reader.read(image)
    assert reads, "no read"
    assert reads[0].text == design.registration
    cx, cy = reads[0].box.centre
    assert x <= cx <= x + 5 * height, reads[0].box
    assert y <= cy <= y + 2 * height, reads[0].box


def test_an_unsure_own_reading_never_outranks_what_pp_ocr_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In ``slots-first`` the own model's reading, when unsure (below 0.8), is only a
    fallback: a plausible Punjab-format reading at 0.79 ranks above PP-OCR's right
    reading that fits only the generic rule, and once the own model's confidence could
    reach that high it took four US development photos from PP-OCR."""
    from safecity.vision.plates import candidate_reader
    from safecity.vision.plates.interpret import Interpretation
    from safecity.vision.plates.rules import FormatRules

    canvas = np.full((200, 420, 3), 90, np.uint8)
    cv2.rectangle(canvas, (60, 70), (360, 140), (255, 255, 255), -1)
    cv2.putText(canvas, "7XQ4821", (75, 125), cv2.FONT_HERSHEY_SIMPLEX, 1.8, (0, 0, 0), 4)
    reader = PlateReader(rules=FormatRules.default(), recogniser="slots-first")
    plain = PlateReader(rules=FormatRules.default())
    assert [r.text for r in plain.read(canvas)][:1] == ["7XQ4821"], "PP-OCR reads it"

    def unsure_own(*_: object, **__: object) -> tuple[Interpretation, bool]:
        return Interpretation("LEB1234", ("LEB1234",), "pk-punjab", 0.79, 0.0), False

    # Every own-model reading of a candidate becomes this unsure one.
    monkeypatch.setattr(candidate_reader, "read_slots", unsure_own)
    # In a vehicle region (no second look over the whole image to vote it right).
    assert [r.text for r in reader.read(canvas, region=(0, 0, 420, 200))][:1] == ["7XQ4821"]
