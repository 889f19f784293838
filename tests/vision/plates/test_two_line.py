"""Two-line plates (letters above digits: motorcycles, rickshaws, some cars) drawn by the
simulator: the registration is the upper line's letters then the lower line's digits,
never the year tag printed beside the letters, nor the digits and the word under them;
one-line plates read as before."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np

from safecity.sim.plates import PlateDesign, generate_plate
from safecity.sim.truth import VehicleClass
from safecity.vision.plates import FormatRules, PlateReader
from safecity.vision.plates.candidate_reader import Budget, CandidateReader
from safecity.vision.plates.lattice import LineRead
from safecity.vision.plates.localise import Candidate
from safecity.vision.plates.ocr import Image, TextBox, TextEngine
from tests.vision.plates.sim_plates import plate_scene

CLASSES: tuple[VehicleClass, ...] = ("car", "motorcycle", "van")


def _designs(province: str, layout: str) -> list[tuple[int, PlateDesign]]:
    """The plates of seeds 200-399 of one province and layout."""
    found = []
    for seed in range(200, 400):
        design = generate_plate(np.random.default_rng(seed), CLASSES[seed % len(CLASSES)])
        if design.province == province and design.layout == layout:
            found.append((seed, design))
    return found


def test_a_punjab_two_line_plate_is_its_letters_then_the_lower_lines_digits(
    pk_reader: PlateReader,
) -> None:
    """Punjab prints the year beside the letters (``LMF 23`` above ``7880``). The upper
    line alone fits a KP rule as cheaply as both lines do, and was taken for the whole
    registration: 7 of these 25 plates were read as letters and year (FCT20 for FCT5943)."""
    plates = _designs("punjab", "two_line")
    assert len(plates) == 25
    misses = []
    for seed, design in plates:
        image, _ = plate_scene(design, 48, seed)
        reads = pk_reader.read(image)
        if not reads or reads[0].text != design.registration:
            misses.append((design.lines(), reads[0].text if reads else None))
    # 1 of 25 when written (the year tag merged into the letters on one plate).
    assert len(misses) <= 2, misses


def test_the_digits_and_the_word_under_them_are_no_registration(pk_reader: PlateReader) -> None:
    """KP's two-line plates print the district under the digits: a small plate's letters
    unread, the digits and a misread district passed as a generic registration (46SWA for
    LL46 over SWAT)."""
    for seed, design in _designs("kp", "two_line"):
        image, _ = plate_scene(design, 24, seed)
        for read in pk_reader.read(image):
            assert not read.text[0].isdigit(), (design.lines(), read.text)


def test_one_line_plates_still_read(pk_reader: PlateReader) -> None:
    """The one-line plates of the same seeds, every province, at 40 px."""
    misses = []
    count = 0
    for province in ("kp", "punjab", "sindh", "ict"):
        for seed, design in _designs(province, "one_line")[:6]:
            count += 1
            image, _ = plate_scene(design, 40, seed)
            reads = pk_reader.read(image)
            if not reads or reads[0].text != design.registration:
                misses.append((design.lines(), reads[0].text if reads else None))
    assert count == 24
    assert len(misses) <= 4, misses


@dataclass
class _CropWidthEngine:
    """A recogniser that reads the letters line as ``tight`` from a crop hugging it and as
    ``loose`` from a wider one; every other line as its digits."""

    tight: str
    loose: str
    letters_width: int
    calls: int = 0

    def recognise(self, lines: list[Image]) -> list[LineRead]:
        self.calls += len(lines)
        found = []
        for line in lines:
            if line.shape[0] > 14:  # the digits line is the taller box below
                found.append(LineRead.from_text("7072"))
            else:
                wide = line.shape[1] > self.letters_width * 1.1
                found.append(LineRead.from_text(self.loose if wide else self.tight))
        return found


def _box(x: int, y: int, w: int, h: int) -> TextBox:
    return TextBox(np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], dtype=np.float32))


def _candidate_reader(engine: _CropWidthEngine) -> CandidateReader:
    """PP-OCR's path alone (no own model), over the stand-in engine."""
    return CandidateReader(
        engine=cast(TextEngine, engine),
        rules=FormatRules.default(),
        recogniser="ppocr",
        slots=None,
        min_confidence=0.5,
        max_candidates=4,
    )


def test_a_registration_over_two_lines_is_read_from_every_crop() -> None:
    """The tight crop of a three-letter line loses its end character to the letter O
    (never issued in Pakistan), which the KP rule then leaves out as its emblem's gap:
    MN7072, sure, where the looser crop reads MNQ. A two-line reading is no longer
    settled by the first crop that fits a rule."""
    engine = _CropWidthEngine(tight="MNO", loose="MNQ", letters_width=30)
    reader = _candidate_reader(engine)
    image = np.full((60, 80, 3), 200, np.uint8)
    stack = Candidate((_box(20, 10, 30, 10), _box(20, 24, 30, 16)))
    reads = reader.read_candidates(image, [stack], Budget(12), stop_when_decisive=True, overlays=[])
    assert [read.text for read in reads] == ["MNQ7072"]
    assert reads[0].lines == ("MNQ", "7072")


def test_a_registration_on_one_line_is_settled_by_the_first_crop_that_fits() -> None:
    engine = _CropWidthEngine(tight="ABC 123", loose="ABC 128", letters_width=60)
    reader = _candidate_reader(engine)
    image = np.full((60, 100, 3), 200, np.uint8)
    line = Candidate((_box(10, 10, 60, 12),))
    reads = reader.read_candidates(image, [line], Budget(12), stop_when_decisive=True, overlays=[])
    assert [read.text for read in reads] == ["ABC123"]
    assert engine.calls == 1
