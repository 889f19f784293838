"""How much wider a line is read (safecity.vision.plates.widen), and condensed plates read.

The plates are drawn here (OpenCV's Hershey font squeezed sideways to about a third of
its width, as condensed plate fonts are), never taken from the photo sets.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from safecity.vision.plates import PlateReader
from safecity.vision.plates.lattice import LineRead
from safecity.vision.plates.ocr import REC_HEIGHT
from safecity.vision.plates.widen import MAX_WIDEN, MIN_CHARACTERS, TARGET_PITCH, widening


def _crop_width(pitch: float, characters: int, height: int = 30) -> int:
    """The width of a crop ``height`` px high whose characters span ``pitch`` recogniser
    pixels each."""
    return round(pitch * characters * height / REC_HEIGHT)


@pytest.mark.parametrize(
    ("pitch", "expected"),
    [
        # Wide characters (a Brazilian plate's) are read as they are ...
        (TARGET_PITCH * 1.2, 1.0),
        (TARGET_PITCH, 1.0),
        # ... narrow ones widened until they reach the target pitch ...
        (TARGET_PITCH / 1.25, 1.25),
        # ... but never beyond MAX_WIDEN.
        (TARGET_PITCH / (MAX_WIDEN * 2), MAX_WIDEN),
    ],
)
def test_a_line_is_widened_until_its_characters_reach_the_target_pitch(
    pitch: float, expected: float
) -> None:
    read = LineRead.from_text("ABC1234")
    width = _crop_width(pitch, 7)
    assert widening(width, 30, read) == pytest.approx(expected, rel=0.02)


def test_symbols_take_width_and_spaces_do_not() -> None:
    width = _crop_width(TARGET_PITCH / 1.5, 7)
    # Eight printed characters (a hyphen among them) in the width of seven narrow ones.
    assert widening(width, 30, LineRead.from_text("ABC-1234")) == pytest.approx(
        1.5 * 8 / 7, rel=0.02
    )
    assert widening(width, 30, LineRead.from_text("ABC 1234")) == pytest.approx(1.5, rel=0.02)


def test_a_read_too_short_to_measure_is_not_widened() -> None:
    narrow = _crop_width(TARGET_PITCH / 1.5, MIN_CHARACTERS)
    assert widening(narrow, 30, LineRead.from_text("ABC1"[:MIN_CHARACTERS])) > 1.0
    assert widening(narrow, 30, LineRead.from_text("ABC1"[: MIN_CHARACTERS - 1])) == 1.0
    assert widening(100, 30, LineRead(tokens=(), raw="")) == 1.0
    assert widening(100, 30, LineRead(tokens=(), raw="     ")) == 1.0
    assert widening(100, 0, LineRead.from_text("AB12")) == 1.0


def _condensed_plate(text: str, height: int) -> np.ndarray:
    """Dark characters on a light plate, squeezed to about a third of the font's width,
    ``height`` px high, on a grey ground."""
    big = np.full((120, 60 * len(text) + 60, 3), 235, np.uint8)
    cv2.putText(big, text, (30, 95), cv2.FONT_HERSHEY_SIMPLEX, 2.6, (40, 30, 30), 7, cv2.LINE_AA)
    width = round(big.shape[1] * 0.35 * height / 120)
    small = cv2.resize(big, (width, height), interpolation=cv2.INTER_AREA)
    scene = np.full((200, width + 200, 3), 90, np.uint8)
    scene[80 : 80 + height, 100 : 100 + width] = small
    return scene


@pytest.mark.parametrize("text", ["5DJ0529", "N359973", "8KMW352"])
def test_a_plate_of_condensed_characters_is_read_exactly(us_reader: PlateReader, text: str) -> None:
    """Characters about a third as wide as they are tall get two or three of the
    recogniser's steps each, and one is dropped in most crops (the reader before this
    read 50529, N35973 and 8KW352 here); the second look's widened reads outvote that."""
    reads = us_reader.read(_condensed_plate(text, 30))
    assert reads, "no read"
    assert reads[0].text == text
