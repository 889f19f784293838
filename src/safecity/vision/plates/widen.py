"""How much wider a line must be for the recogniser to tell its characters apart.

PP-OCR's recogniser sees a line 48 px high and scores one character column per 8 px
of its width (a CTC step). Plate fonts are often condensed: a US plate's characters
are about half as wide as they are tall, so each gets two or three steps, and a
character whose distinguishing stroke is narrow is read as its look-alike in every
crop however it is cut (6 as G, 4 as L, W as N or V: the same error from every margin
and detection scale). Stretching the line sideways until each character spans about
:data:`TARGET_PITCH` pixels gives the recogniser the steps it needs; a line whose
characters already span that much (a wide font, like Brazil's) is left as it is.

Where a line's characters are too narrow is measured from a plain read of it: the
printed characters it found over the crop's width. The whole image's second look
(:mod:`second_look`) reads such lines both ways and lets every read vote.
"""

from __future__ import annotations

from safecity.vision.plates.lattice import LineRead
from safecity.vision.plates.ocr import REC_HEIGHT

TARGET_PITCH = 32.0
"""Recogniser pixels per character (four CTC steps) a line is widened to."""
MAX_WIDEN = 2.0
"""At most this much wider: beyond it the characters' own shapes are distorted."""
MIN_CHARACTERS = 4
"""A read with fewer printed characters measures no pitch: one character more or less
(a frame edge, a merged pair) would change it by a third or more. Such a line (a
two-line plate's letters or district, on a small plate) is read as it is; a widened
read of it mostly repeated the plain read's error and outvoted the right one (a
simulated KP plate's BQ over 28, read 0O28)."""


def widening(crop_width: int, crop_height: int, read: LineRead) -> float:
    """How many times wider a line crop (``crop_width`` x ``crop_height``) should be
    read, from what the recogniser read in it: 1.0 (as it is) when it read fewer than
    :data:`MIN_CHARACTERS` or its characters already span :data:`TARGET_PITCH`
    recogniser pixels each.

    Every printed character of the read counts, symbols included (a hyphen or an
    emblem read as a glyph takes width too)."""
    characters = sum(1 for char in read.raw if not char.isspace())
    if characters < MIN_CHARACTERS or crop_height <= 0:
        return 1.0
    pitch = REC_HEIGHT * crop_width / crop_height / characters
    if pitch >= TARGET_PITCH:
        return 1.0
    return min(MAX_WIDEN, TARGET_PITCH / pitch)
