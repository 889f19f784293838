"""How the reader weighs reads: which is more plausible, which settles a vehicle, which
candidates to read first, and whether a read already covers a place."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from safecity.vision.plates.interpret import Interpretation
from safecity.vision.plates.localise import Candidate
from safecity.vision.plates.result import GENERIC_RULE, PixelBox, PlateRead

GOOD_ENOUGH = 0.93
"""A read that fits a format rule with at least this confidence needs no other look."""
_PLATE_ASPECT = 4.0


def rank(found: Interpretation) -> float:
    """Higher is more plausible: confident, cheap, and fitting a known format."""
    specific = 0.3 if found.rule != GENERIC_RULE else 0.0
    return found.confidence - 0.1 * found.cost + specific


def decisive(reads: Sequence[PlateRead]) -> bool:
    """A read that settles a vehicle: it fits a format rule and the recogniser was sure."""
    return any(read.rule != GENERIC_RULE and read.confidence >= GOOD_ENOUGH for read in reads)


def plate_like_first(found: Sequence[Candidate]) -> list[Candidate]:
    """Candidates most like a plate first: stacks of lines (their reads cover their single
    lines too), then lines by how close their shape is to a plate's, larger first."""

    def key(candidate: Candidate) -> tuple[int, float]:
        _, _, w, h = candidate.bounds()
        aspect = w / max(h, 1)
        shape = abs(np.log(max(aspect, 0.1) / _PLATE_ASPECT))
        return (-len(candidate.lines), shape - 0.002 * h)

    return sorted(found, key=key)


def covers(read: PixelBox, probe: PixelBox) -> bool:
    """The read's box overlaps the probe or holds its centre."""
    cx, cy = probe.centre
    inside = read.x <= cx <= read.x + read.w and read.y <= cy <= read.y + read.h
    return inside or read.iou(probe) > 0.2
