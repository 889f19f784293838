"""Follow known boxes from one frame to the next by template matching, without a detector.

Between two detector runs a track's box is moved to where its picture went: the
box's pixels in the previous frame (a grey template, on a copy of the frame
scaled down to ``work_width``) are searched for around where the box's last
movement predicts it, with normalised cross-correlation. A match scoring below
``min_score`` means the object changed too much (turned, occluded, left the
picture) to be followed; the caller then asks the detector.

This is the cheap half of running the detector only when needed: one match
costs well under a millisecond on a 1280x720 frame, the detector 18 ms.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from safecity.vision.picture import Picture, as_picture

Grey = npt.NDArray[np.uint8]
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class FollowSettings:
    work_width: int = 480
    """The frame is halved while it stays at least this wide (1920 -> 480, 1280 -> 640,
    640 stays 640)."""
    min_score: float = 0.6
    """Lowest normalised correlation accepted as the same object."""
    search_margin: float = 0.35
    """How far around the predicted box to search, as a fraction of the box's size."""
    min_template_pixels: int = 6
    """A box narrower or lower than this at work scale is too small to follow."""
    min_contrast: float = 4.0
    """A box whose grey levels vary less than this (standard deviation) has nothing to
    match on: correlation of a flat patch says nothing about where it went."""

    def __post_init__(self) -> None:
        if self.work_width < 32:
            raise ValueError(f"work_width must be at least 32 pixels, got {self.work_width}")
        if not 0 < self.min_score <= 1:
            raise ValueError(f"min_score must be in (0, 1], got {self.min_score}")
        if self.search_margin <= 0:
            raise ValueError(f"search_margin must be positive, got {self.search_margin}")


@dataclass(frozen=True)
class WorkFrame:
    """A frame prepared for matching: grey, scaled by ``scale`` (work pixels per pixel)."""

    grey: Grey
    scale: float
    width: int
    height: int


@dataclass(frozen=True)
class Followed:
    """Where a box went (frame pixels) and how well its picture matched there (0 to 1)."""

    xyxy: Box
    score: float


class BoxFollower:
    """Prepares frames and follows boxes between them; holds no per-object state."""

    def __init__(self, settings: FollowSettings | None = None) -> None:
        self.settings = settings or FollowSettings()

    def prepare(self, image: Picture | npt.NDArray[np.uint8]) -> WorkFrame:
        """The frame (a Picture or a BGR image) grey at work scale."""
        picture = as_picture(image)
        height, width = picture.shape
        # A power-of-two reduction: OpenCV's area resize has a fast path for whole factors
        # (0.3 ms for 1280x720 -> 640x360, against 1.5-3 ms for a factor like 2.67).
        factor = 1
        while width // (factor * 2) >= self.settings.work_width:
            factor *= 2
        grey = picture.grey((max(1, width // factor), max(1, height // factor)))
        scale = grey.shape[1] / width
        return WorkFrame(grey, scale, width, height)

    def template(self, frame: WorkFrame, xyxy: Box) -> Grey | None:
        """The box's pixels at work scale, or None if the box is too small to follow."""
        x1, y1, x2, y2 = _work_box(frame, xyxy)
        if min(x2 - x1, y2 - y1) < self.settings.min_template_pixels:
            return None
        patch = frame.grey[y1:y2, x1:x2]
        if float(patch.std()) < self.settings.min_contrast:
            return None
        return patch.copy()

    def follow(
        self, frame: WorkFrame, template: Grey, xyxy: Box, velocity: tuple[float, float]
    ) -> Followed | None:
        """Where the object of ``template`` (last seen at ``xyxy``, moving ``velocity``
        pixels a frame) is in ``frame``; None when the search window leaves no room."""
        x1, y1, x2, y2 = xyxy
        dx, dy = velocity
        px1, py1, px2, py2 = x1 + dx, y1 + dy, x2 + dx, y2 + dy
        # An object leaving the picture: match only the part of it predicted to stay in.
        height, width = template.shape
        cut_left = _pixels_outside(-px1 * frame.scale, width)
        cut_top = _pixels_outside(-py1 * frame.scale, height)
        cut_right = _pixels_outside((px2 - frame.width) * frame.scale, width)
        cut_bottom = _pixels_outside((py2 - frame.height) * frame.scale, height)
        template = template[cut_top : height - cut_bottom, cut_left : width - cut_right]
        if min(template.shape) < self.settings.min_template_pixels:
            return None
        margin_x = self.settings.search_margin * (x2 - x1) + 4 / frame.scale
        margin_y = self.settings.search_margin * (y2 - y1) + 4 / frame.scale
        sx1, sy1, sx2, sy2 = _work_box(
            frame, (px1 - margin_x, py1 - margin_y, px2 + margin_x, py2 + margin_y)
        )
        if sx2 - sx1 < template.shape[1] or sy2 - sy1 < template.shape[0]:
            return None
        scores = cv2.matchTemplate(frame.grey[sy1:sy2, sx1:sx2], template, cv2.TM_CCOEFF_NORMED)
        _, best, _, (bx, by) = cv2.minMaxLoc(scores)
        if not np.isfinite(best):
            return None  # a flat template (one shade) matches everywhere and nowhere
        # Keep the box's own size: the template is the old box at work scale.
        left = (sx1 + bx - cut_left) / frame.scale
        top = (sy1 + by - cut_top) / frame.scale
        box = (
            max(0.0, left),
            max(0.0, top),
            min(float(frame.width), left + (x2 - x1)),
            min(float(frame.height), top + (y2 - y1)),
        )
        return Followed(box, float(best))


def _pixels_outside(overhang: float, size: int) -> int:
    """Whole work pixels of a template of ``size`` lying beyond the edge (0 if none)."""
    return int(np.clip(np.ceil(overhang), 0, size))


def _work_box(frame: WorkFrame, xyxy: Box) -> tuple[int, int, int, int]:
    """A frame-pixel box at work scale, as whole pixels inside the work frame."""
    height, width = frame.grey.shape
    x1, y1, x2, y2 = (value * frame.scale for value in xyxy)
    return (
        int(np.clip(round(x1), 0, width)),
        int(np.clip(round(y1), 0, height)),
        int(np.clip(round(x2), 0, width)),
        int(np.clip(round(y2), 0, height)),
    )
