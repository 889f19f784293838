"""Where plates may be: text lines from the detector, grouped into plate candidates.

A plate is one line (most cars) or a stack of two or three lines of similar
width (two-line plates, a province band above the number). The detector finds
lines; lines that sit one above the other, overlap horizontally and have
similar heights are grouped, and every single line is a candidate too, so the
format rules decide which lines carry the registration.
"""

from __future__ import annotations

from dataclasses import dataclass

from safecity.vision.plates.ocr import TextBox

_MAX_STACK = 3
_MIN_OVERLAP = 0.5
_MAX_GAP = 1.0
_HEIGHT_RATIO = 2.6
_MIN_LINE_HEIGHT = 6.0


@dataclass(frozen=True)
class Candidate:
    """Lines of one possible plate, top to bottom."""

    lines: tuple[TextBox, ...]

    def bounds(self) -> tuple[int, int, int, int]:
        boxes = [line.bounds() for line in self.lines]
        x0 = min(box[0] for box in boxes)
        y0 = min(box[1] for box in boxes)
        x1 = max(box[0] + box[2] for box in boxes)
        y1 = max(box[1] + box[3] for box in boxes)
        return x0, y0, x1 - x0, y1 - y0


def candidates(boxes: list[TextBox]) -> list[Candidate]:
    """Every usable line alone, plus stacks of 2-3 lines that look like one plate."""
    lines = [
        box for box in boxes if box.height >= _MIN_LINE_HEIGHT and box.width >= box.height * 0.8
    ]
    lines.sort(key=lambda box: box.bounds()[1])
    found = [Candidate((line,)) for line in lines]
    for index, top in enumerate(lines):
        stack = [top]
        for other in lines[index + 1 :]:
            if len(stack) == _MAX_STACK:
                break
            if _stacked(stack[-1], other):
                stack.append(other)
                found.append(Candidate(tuple(stack)))
    return found


def _stacked(upper: TextBox, lower: TextBox) -> bool:
    ux, uy, uw, uh = upper.bounds()
    lx, ly, lw, lh = lower.bounds()
    overlap = min(ux + uw, lx + lw) - max(ux, lx)
    if overlap < _MIN_OVERLAP * min(uw, lw):
        return False
    gap = ly - (uy + uh)
    if gap > _MAX_GAP * max(uh, lh) or ly + lh / 2 <= uy + uh / 2:
        return False
    ratio = max(uh, lh) / max(1, min(uh, lh))
    return ratio <= _HEIGHT_RATIO and max(uw, lw) <= 2.5 * min(uw, lw)
