"""Which frames of a vehicle track deserve a plate read: a cheap quality score per box.

A plate read costs tens of milliseconds of CPU, and a camera sees a vehicle on ten or
more analysed frames; a busy worker can read only a few of them. Reading the best
frame of a track once is worth more than reading whichever frame came up.

A frame is a candidate for a vehicle when its box is wide enough to hold a readable
plate. Its quality is the box's width (a plate's size in pixels grows with its
vehicle's, and a vehicle coming towards the camera grows from frame to frame) times
four factors in 0..1:

- sharpness, from the variance of the Laplacian over the lower half of the box, which
  motion blur and defocus lower; it saturates: past sharp enough, only size counts;
- shape: a box much wider than it is tall, or much taller than it is wide, is more
  likely several vehicles merged (motion regions merge) than one, and the reader,
  which scales a region's longest side to a fixed size before looking for plates,
  finds a plate that is small in its region badly;
- a discount (``BOTTOM_CUT``) for a box cut by the bottom edge: the plate sits low on
  a vehicle but above the bottom of its box, and on the simulator's ANPR view the
  largest frames that still read are often cut there, so it stays a candidate, but a
  frame as large and whole goes first. A tall vehicle cut at the top keeps its plate.
- a larger discount (``SIDE_CUT``) for a box cut by the left or right edge: its plate,
  in the middle of the vehicle, is often still whole (on the simulator's ANPR view
  some vehicles are never seen otherwise), but half a plate reads as another
  registration, so the ANPR stage drops a reading whose plate touches the picture's
  side (``plate_at_edge``).

Costs well under a millisecond a box: the half-box is subsampled to at most
``SAMPLE_WIDTH`` pixels across.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np
import numpy.typing as npt

EDGE_MARGIN = 2
"""A box this close (pixels) to an edge of the picture is cut by it."""
SHARPNESS_HALF = 40.0
"""Laplacian variance (grey levels squared) at which the sharpness factor is one half."""
SAMPLE_WIDTH = 160
"""The lower half of a box is subsampled to at most this many pixels across."""
BOTTOM_CUT = 0.8
"""Factor on the quality of a box cut by the bottom edge (its plate may be gone)."""
SIDE_CUT = 0.5
"""Factor on the quality of a box cut by the left or right edge (its plate may be cut)."""
WIDEST = 1.8
"""Boxes wider than this many times their height lose quality in proportion."""
TALLEST = 1.6
"""Boxes taller than this many times their width lose quality in proportion."""


class Skip(StrEnum):
    """Why a frame of a track was not a candidate for a plate read (a metric's key)."""

    SMALL = "small"
    """The box is narrower than a readable plate needs."""


@dataclass(frozen=True, slots=True)
class FrameQuality:
    """How good one frame is for reading one vehicle's plate (higher is better)."""

    width: int
    height: int
    sharpness: float
    """Variance of the Laplacian over the lower half of the box."""
    cut_at_bottom: bool = False
    cut_at_side: bool = False

    @property
    def score(self) -> float:
        cut = (BOTTOM_CUT if self.cut_at_bottom else 1.0) * (SIDE_CUT if self.cut_at_side else 1.0)
        height = max(1, self.height)
        shape = min(1.0, WIDEST * height / self.width, TALLEST * self.width / height)
        sharp = self.sharpness / (self.sharpness + SHARPNESS_HALF)
        return cut * shape * sharp * self.width


def frame_quality(
    image: npt.NDArray[np.uint8], xyxy: tuple[int, int, int, int], *, min_width: int
) -> FrameQuality | Skip:
    """The quality of ``image`` for reading the plate of the vehicle boxed by ``xyxy``
    (pixels, may lie partly outside the picture), or why it is no candidate."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = xyxy
    cut_at_side = x1 < EDGE_MARGIN or x2 > width - EDGE_MARGIN
    cut_at_bottom = y2 > height - EDGE_MARGIN
    x1, x2, y2 = max(0, x1), min(width, x2), min(y2, height)
    if x2 - x1 < min_width:
        return Skip.SMALL
    top = max(0, y1 + (y2 - y1) // 2)
    step = max(1, (x2 - x1) // SAMPLE_WIDTH)
    lower = image[top:y2:step, x1:x2:step]
    if lower.shape[0] < 3 or lower.shape[1] < 3:
        return Skip.SMALL
    grey = cv2.cvtColor(np.ascontiguousarray(lower), cv2.COLOR_BGR2GRAY)
    sharpness = float(cv2.Laplacian(grey, cv2.CV_32F).var())
    return FrameQuality(
        width=x2 - x1,
        height=y2 - y1,
        sharpness=sharpness,
        cut_at_bottom=cut_at_bottom,
        cut_at_side=cut_at_side,
    )


def at_side(box: tuple[int, int, int, int], width: int) -> bool:
    """A plate box (x, y, w, h) touching the picture's left or right edge: it may be cut."""
    x, _, w, _ = box
    return x < EDGE_MARGIN or x + w > width - EDGE_MARGIN
