"""The one input every check reads: a small, read-only grey copy of a camera frame.

Reducing once per sample keeps every check cheap (a 320 px wide frame is 1/36 of
1080p) and makes checks comparable across cameras of different resolutions.
Area averaging is used for the reduction because it is deterministic (an
identical input gives an identical output, which the frozen check relies on)
and averages sensor noise away rather than aliasing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

GreyImage = npt.NDArray[np.uint8]

# Below this the checks have too few pixels to say anything (a cell grid of 16
# columns needs at least 4 px per cell).
MIN_SOURCE_SIDE = 64


class InvalidFrame(ValueError):
    """A frame is not a BGR uint8 image the checks can read."""


@dataclass(frozen=True, eq=False)
class AnalysisFrame:
    """A camera frame reduced to a read-only grey image of the analysis width.

    ``source_width`` and ``source_height`` keep the camera's own resolution, so a
    change of stream resolution is visible to callers.
    """

    grey: GreyImage
    source_width: int
    source_height: int

    def __post_init__(self) -> None:
        grey = self.grey
        if not isinstance(grey, np.ndarray) or grey.dtype != np.uint8 or grey.ndim != 2:
            raise InvalidFrame(f"analysis frame must be a 2-D uint8 array, got {_describe(grey)}")
        if grey.flags.writeable:
            raise InvalidFrame("analysis frame must be read-only; use prepare_frame()")
        if self.source_width < 1 or self.source_height < 1:
            raise InvalidFrame(
                f"source size must be positive, got {self.source_width}x{self.source_height}"
            )

    @property
    def width(self) -> int:
        return int(self.grey.shape[1])

    @property
    def height(self) -> int:
        return int(self.grey.shape[0])


def prepare_frame(bgr: npt.NDArray[np.uint8], width: int) -> AnalysisFrame:
    """Reduce a BGR uint8 frame of shape (height, width, 3) to an analysis frame.

    The caller's array is only read. Raises :class:`InvalidFrame` for anything
    else (grey or RGBA arrays, other dtypes, frames smaller than 64 px a side).
    """
    if not isinstance(bgr, np.ndarray) or bgr.dtype != np.uint8:
        raise InvalidFrame(f"frame must be a uint8 numpy array, got {_describe(bgr)}")
    if bgr.ndim != 3 or bgr.shape[2] != 3:
        raise InvalidFrame(f"frame must have shape (height, width, 3) in BGR, got {bgr.shape}")
    source_height, source_width = int(bgr.shape[0]), int(bgr.shape[1])
    if min(source_height, source_width) < MIN_SOURCE_SIDE:
        raise InvalidFrame(
            f"frame must be at least {MIN_SOURCE_SIDE} px a side, got "
            f"{source_width}x{source_height}"
        )
    if width < MIN_SOURCE_SIDE:
        raise InvalidFrame(f"analysis width must be at least {MIN_SOURCE_SIDE} px, got {width}")
    height = max(1, round(source_height * width / source_width))
    # Converting after reducing would touch three channels at the small size,
    # but converting first lets one single-channel resize do the averaging;
    # measured on 1080p the order below is the cheaper one.
    grey = cast(GreyImage, cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    if (width, height) != (source_width, source_height):
        shrinking = width < source_width
        interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        grey = cast(GreyImage, cv2.resize(grey, (width, height), interpolation=interpolation))
    grey.setflags(write=False)
    return AnalysisFrame(grey=grey, source_width=source_width, source_height=source_height)


def _describe(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"array of dtype {value.dtype} and shape {value.shape}"
    return type(value).__name__
