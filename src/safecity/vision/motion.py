"""Motion gate: which parts of a frame changed, found cheaply on a downscaled copy.

A MOG2 background model runs on a grey frame scaled down to ``work_width``
pixels wide; the foreground mask is cleaned with an opening and a dilation and
its connected regions become boxes in full-frame pixels. The detector only
looks where this gate says something moved, and without a detector these
regions are what the tracker follows.

Ignore regions (polygons in fractions of the frame: a camera's on-screen clock and
name) mask the foreground: they do not count towards a change of light, and a region
lying mostly inside one is dropped. A region mostly outside is kept whole, so an
object leaving an ignore region is not seen cut at its edge (which would upset the
tracker's young track).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from safecity.vision.detections import Detections
from safecity.vision.picture import Picture, as_picture
from safecity.vision.zones import Polygon, raster

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

    def __init__(
        self, settings: MotionSettings | None = None, *, ignore: Sequence[Polygon] = ()
    ) -> None:
        """``ignore``: polygons in fractions of the frame (0 to 1) where motion is not seen."""
        self._settings = settings or MotionSettings()
        self._ignore = tuple(ignore)
        for shape in self._ignore:
            if not all(0 <= x <= 1 and 0 <= y <= 1 for x, y in shape.points):
                raise ValueError("ignore polygons must be given in fractions of the frame (0 to 1)")
        self._reset()
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self._shape: tuple[int, int] | None = None
        self._watched: npt.NDArray[np.bool_] | None = None
        """Pixels of the downscaled frame outside every ignore region (None: all of them)."""

    def _reset(self) -> None:
        self._model = cv2.createBackgroundSubtractorMOG2(
            history=self._settings.history,
            varThreshold=self._settings.var_threshold,
            detectShadows=False,
        )
        self._frames = 0
        self.global_changes = 0
        """Frames dismissed as a change of light rather than motion."""

    @property
    def warming_up(self) -> bool:
        """The last frame given to ``regions`` was one of the first ``warmup_frames`` (it
        reported no regions: without a background the gate cannot tell what moved)."""
        return self._frames <= self._settings.warmup_frames

    def regions(self, image: Picture | npt.NDArray[np.uint8]) -> Detections:
        """Boxes (full-frame pixels) of the regions that moved since the background;
        ``image`` is a Picture or a BGR image (H, W, 3)."""
        picture = as_picture(image)
        height, width = picture.shape
        if self._shape is not None and self._shape != (height, width):
            # A camera that changed resolution starts a new background.
            self._reset()
        scale = self._settings.work_width / width
        work_size = (self._settings.work_width, max(1, round(height * scale)))
        if self._shape != (height, width):
            self._watched = self._watched_pixels(*work_size)
        self._shape = (height, width)
        grey = cv2.GaussianBlur(picture.grey(work_size), (5, 5), 0)
        mask = self._model.apply(grey, learningRate=self._settings.learning_rate)
        self._frames += 1
        if self._frames <= self._settings.warmup_frames:
            return Detections.empty()
        watched_area = mask.size
        if self._watched is not None:
            watched_area = max(1, int(np.count_nonzero(self._watched)))
        if np.count_nonzero(mask[self._watched] if self._watched is not None else mask) > (
            self._settings.global_change_fraction * watched_area
        ):
            self.global_changes += 1
            self._model.apply(grey, learningRate=1.0)
            return Detections.empty()
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._kernel)
        mask = cv2.dilate(mask, self._kernel, iterations=2)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        min_area = self._settings.min_area_fraction * mask.shape[0] * mask.shape[1]
        keep = stats[:, cv2.CC_STAT_AREA] >= min_area
        if self._watched is not None:
            # A region mostly inside an ignore region is dropped; one mostly outside is kept
            # whole, so an object leaving the region is not seen cut at its edge.
            ignored = np.bincount(labels[~self._watched], minlength=count)
            keep &= ignored * 2 <= stats[:, cv2.CC_STAT_AREA]
        boxes = [stats[label, :4] for label in range(1, count) if keep[label]]
        if not boxes:
            return Detections.empty()
        xywh = np.array(boxes, dtype=np.float32)
        xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1) / scale
        xyxy = np.clip(xyxy, 0, [width, height, width, height])
        fill = np.array(
            [stats[label, cv2.CC_STAT_AREA] for label in range(1, count) if keep[label]],
            dtype=np.float32,
        )
        # Confidence: how much of the box is foreground (a solid object scores near 1).
        confidence = np.clip(fill / np.maximum(xywh[:, 2] * xywh[:, 3], 1), 0, 1)
        return Detections.create(
            xyxy, confidence, np.full(len(boxes), MOTION_CLASS_ID, dtype=np.int32)
        )

    def _watched_pixels(self, width: int, height: int) -> npt.NDArray[np.bool_] | None:
        if not self._ignore:
            return None
        ignored = raster([shape.scaled(width, height) for shape in self._ignore], width, height)
        watched: npt.NDArray[np.bool_] = ~ignored
        return watched
