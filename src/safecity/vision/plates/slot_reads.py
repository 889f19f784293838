"""A plate candidate read by the project's own whole-plate model (:mod:`slots`), and
when that read is sure enough to stand without PP-OCR."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from safecity.vision.plates.interpret import Interpretation, interpret
from safecity.vision.plates.localise import Candidate
from safecity.vision.plates.ocr import Image, crop_quad
from safecity.vision.plates.ranking import rank
from safecity.vision.plates.result import GENERIC_RULE, PlateRead
from safecity.vision.plates.rules import FormatRules
from safecity.vision.plates.slots import SlotRead, SlotRecogniser

SLOTS_SURE = 0.8
"""The own model's probability from which its reading that fits a format rule is sure."""
SLOT_PADS = ((0.06, 0.15), (0.12, 0.45))
"""A candidate's box as the whole-plate model is given it: a text detector's lines hug
the characters, the model was trained on boxes around the whole plate, loose or tight."""


def read_slots(
    slots: SlotRecogniser | None,
    rules: FormatRules,
    image: Image,
    candidate: Candidate,
    pads: tuple[tuple[float, float], ...] = SLOT_PADS,
) -> tuple[Interpretation | None, bool]:
    """The whole-plate model's reading of the candidate (best of a tight and a loose
    box, grown by ``pads``), and whether it is sure enough to skip PP-OCR; no reading
    without a model."""
    if slots is None:
        return None, False
    quad = _candidate_quad(candidate)
    crops = [crop_quad(image, quad, pad_x, pad_y) for pad_x, pad_y in pads]
    crops = [crop for crop in crops if min(crop.shape[:2]) >= 2]
    best: tuple[float, Interpretation, SlotRead] | None = None
    for read in slots.read(crops):
        found = interpret([read.line], rules) if read.line.tokens else None
        if found is None:
            continue
        score = rank(found) + read.confidence
        if best is None or score > best[0]:
            best = (score, found, read)
    if best is None:
        return None, False
    _, found, read = best
    sure = found.rule != GENERIC_RULE and read.confidence >= SLOTS_SURE
    return found, sure


def sure_slot_read(reads: Sequence[PlateRead]) -> bool:
    """The own model's best read of a region fits a format rule and the model was sure."""
    return bool(reads) and reads[0].rule != GENERIC_RULE and reads[0].confidence >= SLOTS_SURE


def _candidate_quad(candidate: Candidate) -> npt.NDArray[np.float32]:
    """One quadrilateral around all of a candidate's lines: the top line's upper edge
    and the bottom line's lower edge."""
    top, bottom = candidate.lines[0].quad, candidate.lines[-1].quad
    left = min(float(top[0][0]), float(bottom[3][0]))
    right = max(float(top[1][0]), float(bottom[2][0]))
    return np.array(
        [[left, top[0][1]], [right, top[1][1]], [right, bottom[2][1]], [left, bottom[3][1]]],
        dtype=np.float32,
    )
