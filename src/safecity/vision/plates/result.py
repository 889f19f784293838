"""The one value a plate read produces, and the box it is found in."""

from __future__ import annotations

from dataclasses import dataclass

GENERIC_RULE = "generic"
"""Rule name of a read that matched no specific format, only the generic shape."""


@dataclass(frozen=True)
class PixelBox:
    """An axis-aligned rectangle in image pixels: left, top, width, height."""

    x: int
    y: int
    w: int
    h: int

    def __post_init__(self) -> None:
        if self.w < 0 or self.h < 0:
            raise ValueError(f"box width and height must not be negative, got {self.w}x{self.h}")

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.x, self.y, self.w, self.h)

    @property
    def area(self) -> int:
        return self.w * self.h

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y + self.h / 2)

    def iou(self, other: PixelBox) -> float:
        """Intersection over union; 0 for boxes that do not overlap or have no area."""
        left, top = max(self.x, other.x), max(self.y, other.y)
        right = min(self.x + self.w, other.x + other.w)
        bottom = min(self.y + self.h, other.y + other.h)
        inter = max(0, right - left) * max(0, bottom - top)
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0


@dataclass(frozen=True)
class PlateRead:
    """One plate read from one image, or fused from the reads of one vehicle track.

    ``text`` holds the registration only: upper-case A-Z and 0-9, a two-line plate
    as its upper line then its lower line, without province words or year tags.
    ``lines`` keeps the registration lines as printed (after normalisation), top
    to bottom. ``rule`` names the format rule that matched, or ``"generic"``.
    ``frames`` counts the reads fused into this one (1 for a single image).
    """

    text: str
    confidence: float
    box: PixelBox
    lines: tuple[str, ...]
    rule: str
    frames: int = 1

    def __post_init__(self) -> None:
        if not self.text or not (self.text.isascii() and self.text.isalnum()):
            raise ValueError(f"plate text must be non-empty A-Z0-9, got {self.text!r}")
        if self.text != self.text.upper():
            raise ValueError(f"plate text must be upper case, got {self.text!r}")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must lie in 0..1, got {self.confidence}")
        if self.frames < 1:
            raise ValueError(f"frames must be at least 1, got {self.frames}")
