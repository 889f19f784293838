"""Change between consecutive samples, behind the frozen check.

A live camera never repeats its pixels: sensor noise survives any encoder, and
measured on a street photo with noise of 0.3 grey levels (a very clean camera)
and JPEG at quality 40 to 95, 18-74 % of the analysis pixels change between two
samples. A frozen encoder, or a decoder repeating its last picture, gives 0 %.
So the check counts changed pixels rather than averaging differences, which
also leaves room for an on-screen clock ticking over a frozen picture.
"""

from __future__ import annotations

from typing import cast

import cv2
import numpy as np

from safecity.vision.image_health.frame import GreyImage


def changed_fraction(previous: GreyImage, current: GreyImage, *, tolerance: int) -> float | None:
    """Fraction of pixels whose grey level moved by more than ``tolerance``; None when
    the two frames differ in size (the stream changed resolution) and cannot be compared."""
    if previous.shape != current.shape:
        return None
    difference = cast(GreyImage, cv2.absdiff(previous, current))
    return float(np.count_nonzero(difference > tolerance)) / difference.size
