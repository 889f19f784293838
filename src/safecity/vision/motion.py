"""Motion gate: which parts of a frame changed, found cheaply on a downscaled copy.

A MOG2 background model runs on a grey frame scaled down to ``work_width``
pixels wide; the foreground mask is cleaned with an opening and a dilation and
its connected regions become boxes in full-frame pixels. The detector only
looks where this gate says something moved, and without a detector these
regions are what the tracker follows.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from safecity.vision.detections import Detections

MOTION_CLASS_ID = -1
"""Class id of a motion region (no detector class)."""


@dataclass(frozen=True)
class MotionSettings:
    work_width: int = 160
    """Width the frame is scaled to before background subtraction (height keeps the aspect)."""
    min_area_fraction: float = 0.0015
    """Regions smaller than this fraction of the frame are noise."""
    history: int = 100
    var_threshold: float = 25.0
    learning_rate: float = -1.0
    """-1 lets OpenCV pick the rate from ``history``."""
    warmup_frames: int = 3
    """Frames fed to the model before regions are reported (the first frame is all motion)."""
    global_change_fraction: float = 0.35
    """More foreground than this fraction of the frame is a change of light (clouds, dusk,
    headlights, the camera's exposure), not objects: the frame becomes the background."""

    def __post_init__(self) -> None:
        if self.work_width < 16:
            raise ValueError(f"work_width must be at least 16 pixels, got {self.work_width}")
        if not 0 <= self.min_area_fraction < 1:
            raise ValueError(f"min_area_fraction must be in [0, 1), got {self.min_area_fraction}")


class MotionGate:
    """Background subtraction for one camera; feed it every analysed frame in order."""

    def __init__(self, settings: MotionSettings | None = None) -> None:
        self._settings = settings or MotionSettings()
        self._reset()
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self._shape: tuple[int, int] | None = None

    def _reset(self) -> None:
        self._model = cv2.createBackgroundSubtractorMOG2(
            history=self._settings.history,
            varThreshold=self._settings.var_threshold,
            detectShadows=False,
        )
        self._frames = 0
        self.global_changes = 0
        """Frames dismissed as a change of light rather than motion."""

    def regions(self, image_bgr: npt.NDArray[np.uint8]) -> Detections:
        """Boxes (full-frame pixels) of the regions that moved since the background."""
        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3:
            raise ValueError(f"expected a BGR image (H, W, 3), got shape {image_bgr.shape}")
        height, width = image_bgr.shape[:2]
        if self._shape is not None and self._shape != (height, width):
            # A camera that changed resolution starts a new background.
            self._reset()
        self._shape = (height, width)
        scale = self._settings.work_width / width
        small = cv2.resize(
            image_bgr,
            (self._settings.work_width, max(1, round(height * scale))),
            interpolation=cv2.INTER_AREA,
        )
        grey = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (5, 5), 0)
        mask = self._model.apply(grey, learningRate=self._settings.learning_rate)
        self._frames += 1
        if self._frames <= self._settings.warmup_frames:
            return Detections.empty()
        if np.count_nonzero(mask) > self._settings.global_change_fraction * mask.size:
            self.global_changes += 1
            self._model.apply(grey, learningRate=1.0)
            return Detections.empty()
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._kernel)
        mask = cv2.dilate(mask, self._kernel, iterations=2)
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        min_area = self._settings.min_area_fraction * mask.shape[0] * mask.shape[1]
        boxes = [
            stats[label, :4]
            for label in range(1, count)
            if stats[label, cv2.CC_STAT_AREA] >= min_area
        ]
        if not boxes:
            return Detections.empty()
        xywh = np.array(boxes, dtype=np.float32)
        xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1) / scale
        xyxy = np.clip(xyxy, 0, [width, height, width, height])
        fill = np.array(
            [
                stats[label, cv2.CC_STAT_AREA]
                for label in range(1, count)
                if stats[label, cv2.CC_STAT_AREA] >= min_area
            ],
            dtype=np.float32,
        )
        # Confidence: how much of the box is foreground (a solid object scores near 1).
        confidence = np.clip(fill / np.maximum(xywh[:, 2] * xywh[:, 3], 1), 0, 1)
        return Detections.create(
            xyxy, confidence, np.full(len(boxes), MOTION_CLASS_ID, dtype=np.int32)
        )


def _span(low: float, high: float, limit: int, padding: float, minimum: int) -> tuple[int, int]:
    """[low, high] padded and widened to ``minimum`` (shifted away from the frame's edges)."""
    pad = (high - low) * padding
    low, high = low - pad, high + pad
    if high - low < minimum:
        grow = (minimum - (high - low)) / 2
        low, high = low - grow, high + grow
    if low < 0:
        low, high = 0, high - low
    if high > limit:
        low, high = low - (high - limit), limit
    return max(0, int(low)), min(limit, int(np.ceil(high)))


def union_box(
    regions: Detections, width: int, height: int, *, padding: float = 0.15, minimum: int = 0
) -> tuple[int, int, int, int] | None:
    """One box (x1, y1, x2, y2) around every region, padded, at least ``minimum`` pixels
    a side where the frame allows, inside the frame; None if there are no regions."""
    if not len(regions):
        return None
    x1, x2 = _span(
        float(regions.xyxy[:, 0].min()), float(regions.xyxy[:, 2].max()), width, padding, minimum
    )
    y1, y2 = _span(
        float(regions.xyxy[:, 1].min()), float(regions.xyxy[:, 3].max()), height, padding, minimum
    )
    return x1, y1, x2, y2
