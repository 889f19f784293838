"""How a vehicle region's two readings of a located plate combine (``located``): the own
model's sure read and PP-OCR's reads."""

from __future__ import annotations

import pytest

from safecity.vision.plates.located import with_second_opinion
from safecity.vision.plates.result import PixelBox, PlateRead

PLATE = PixelBox(100, 200, 80, 20)
"""The located plate's box, as the own model's read carries it."""
LINE = PixelBox(104, 203, 70, 14)
"""PP-OCR's text line inside that plate."""
ELSEWHERE = PixelBox(10, 20, 60, 16)
"""A text line away from the plate (another located plate)."""
TWO_LINE = PixelBox(300, 200, 40, 30)
"""A located two-line plate (a motorcycle's)."""
BOTH_LINES = PixelBox(303, 202, 33, 24)
"""PP-OCR's read of both its lines."""


def _read(text: str, confidence: float, box: PixelBox) -> PlateRead:
    return PlateRead(text, confidence, box, (text,), "pk-punjab")


@pytest.mark.parametrize(
    ("own", "ppocr", "expected"),
    [
        # No sure own read: PP-OCR's reads as they are.
        (None, [("LEB3656", 0.95, LINE)], ["LEB3656"]),
        (None, [], []),
        # The same text: both, the own first (two votes for the track).
        (("LEB3656", 0.9, PLATE), [("LEB3656", 0.95, LINE)], ["LEB3656", "LEB3656"]),
        # Read differently: the more confident alone.
        (("PAW62", 0.84, PLATE), [("PAW82", 0.99, LINE)], ["PAW82"]),
        (("PM574", 0.92, PLATE), [("PT74", 0.52, LINE)], ["PM574"]),
        # A tie keeps the own read (it was the region's read before PP-OCR's look).
        (("PK999", 0.9, PLATE), [("PK899", 0.9, LINE)], ["PK999"]),
        # PP-OCR read nothing there: the own read.
        (("LEB3656", 0.9, PLATE), [], ["LEB3656"]),
        # PP-OCR's read lies elsewhere (another plate): both, nothing outvoted.
        (("LEB3656", 0.9, PLATE), [("QR77", 0.99, ELSEWHERE)], ["LEB3656", "QR77"]),
        # Only the read on the plate competes; another plate's read stays.
        (
            ("PAW62", 0.84, PLATE),
            [("QR77", 0.99, ELSEWHERE), ("PAW82", 0.99, LINE)],
            ["QR77", "PAW82"],
        ),
        (
            ("PM574", 0.92, PLATE),
            [("PT74", 0.52, LINE), ("QR77", 0.99, ELSEWHERE)],
            ["PM574", "QR77"],
        ),
        # PP-OCR read the plate twice (the locator found it twice): its most confident
        # read there competes, and the reads of the plate that lose go with it.
        (
            ("PAW62", 0.84, PLATE),
            [("PAW62", 0.70, LINE), ("PAW82", 0.99, LINE)],
            ["PAW82"],
        ),
        (
            ("PM574", 0.92, PLATE),
            [("PT74", 0.52, LINE), ("PM574", 0.60, LINE)],
            ["PM574", "PM574"],
        ),
        # A two-line plate: PP-OCR's read spans both lines, its centre on the plate.
        (("AB123", 0.9, TWO_LINE), [("AB128", 0.95, BOTH_LINES)], ["AB128"]),
    ],
)
def test_the_more_confident_reading_of_one_plate_stands(
    own: tuple[str, float, PixelBox] | None,
    ppocr: list[tuple[str, float, PixelBox]],
    expected: list[str],
) -> None:
    reads = with_second_opinion(_read(*own) if own else None, [_read(*read) for read in ppocr])
    assert [read.text for read in reads] == expected
