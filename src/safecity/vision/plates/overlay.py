"""Text a camera burns into its own picture: dates and clock times, never a plate.

Surveillance cameras print the date and time in a corner of every frame (and some a
second stamp elsewhere). Read whole, a stamp is refused as a date; but the reader
tries every contiguous part of a line and every enlarged plate-like region, so parts
of a stamp (``17083822`` of ``2014-06-17 08:38:22``, or the second line ``06:43:07``
under a date) still passed as generic registrations and outranked the real plate.

The recogniser's raw text keeps the separators that make a stamp unmistakable: a
date written with ``-``, ``/`` or ``.`` between year, month and day, or a clock time
with a colon. No registration format prints either. A line that carries one marks an
*overlay zone* around itself (the block of stamp text it belongs to); nothing read
inside a zone is a plate.

A stamp printed along the picture's top or bottom edge is one row of an on-screen
display that usually carries more than the time: the camera's name (``CAM-02``, which
reads as a registration), a frame or channel number. Such fields sit anywhere along the
row, often far from the date, so a stamp in the edge band marks its rows across the
whole width. A vehicle's plate in that band is cut by the picture's edge and is read on
another frame.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from safecity.vision.plates.result import PixelBox

_SEPARATED_DATE = re.compile(
    r"(?:(?:19|20)\d{2}[-/.]\d{1,2}[-/.]\d{1,2})|(?:\d{1,2}[-/.]\d{1,2}[-/.](?:19|20)\d{2})"
)
_CLOCK_TIME = re.compile(r"\d{1,2}\s?:\s?\d{2}")

# A stamp's block: its own line, the lines just above and below it (a date over a time),
# and a little to either side (a second field printed after a gap).
_ZONE_GROW_X = 1.5
_ZONE_GROW_Y = 1.2
EDGE_BAND = 0.1
"""A stamp line within this share of the picture's height from its top or bottom edge is
a row of the on-screen display."""


def is_overlay_text(raw: str) -> bool:
    """The recogniser's raw text of a line carries a separated date or a clock time."""
    return bool(_SEPARATED_DATE.search(raw) or _CLOCK_TIME.search(raw))


def overlay_zone(
    line: tuple[int, int, int, int], picture: tuple[int, int] | None = None
) -> PixelBox:
    """The block around a stamp line (x, y, w, h) in which no read is a plate. With the
    size of the whole ``picture`` (width, height) the line lies in, the display's whole
    row where the stamp runs along the picture's top or bottom edge (a crop's edges are
    not the display's)."""
    x, y, w, h = line
    grow_x, grow_y = round(_ZONE_GROW_X * h), round(_ZONE_GROW_Y * h)
    left, top = max(0, x - grow_x), max(0, y - grow_y)
    right, bottom = x + w + grow_x, y + h + grow_y
    if picture is not None:
        width, height = picture
        bottom = max(y + h, min(height, bottom))
        if y <= EDGE_BAND * height or y + h >= (1 - EDGE_BAND) * height:
            left, right = 0, max(width, right)
    return PixelBox(left, top, right - left, bottom - top)


def inside_overlay(box: PixelBox, zones: Iterable[PixelBox]) -> bool:
    """The box's centre lies in one of the zones."""
    cx, cy = box.centre
    return any(z.x <= cx <= z.x + z.w and z.y <= cy <= z.y + z.h for z in zones)
