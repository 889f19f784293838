"""One analysed frame: small grey copies for the cheap stages, colour only when a stage asks.

The motion gate and the box follower look at grey copies a quarter to an eighth of the
frame's width; only the detector, the plate reader and event snapshots need the colour
image, and they run on a fraction of the frames. Converting a decoded 1280x720 frame
to BGR costs 1-2 ms and scaling the colour image down for the motion gate another
1.7 ms (docs/BENCHMARKS.md), so a ``Picture`` made from a decoder's planar YUV frame
scales its luma plane instead and converts to colour at most once, on first use.

Grey copies are full range (0-255) whatever the source: video luma is usually limited
range (16-235), and the motion gate's thresholds and the follower's contrast floor were
set on grey converted from BGR, which is full range.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import numpy.typing as npt

Grey = npt.NDArray[np.uint8]
Colour = npt.NDArray[np.uint8]

# Limited-range luma (16 black, 235 white) stretched to 0-255 as BT.601 conversion does.
_FULL_RANGE = np.clip(np.round((np.arange(256) - 16) * 255 / 219), 0, 255).astype(np.uint8)


class Picture:
    """A frame of ``width`` x ``height`` pixels; build with ``from_bgr`` or ``from_luma``."""

    def __init__(
        self,
        width: int,
        height: int,
        *,
        bgr: Colour | None = None,
        luma: Grey | None = None,
        limited_range: bool = False,
        to_bgr: Callable[[], Colour] | None = None,
    ) -> None:
        if bgr is None and (luma is None or to_bgr is None):
            raise ValueError("a picture needs its BGR image, or its luma and a way to colour")
        self.width = width
        self.height = height
        self._bgr = bgr
        self._luma = luma
        self._limited = limited_range
        self._to_bgr = to_bgr
        self._greys: dict[tuple[int, int], Grey] = {}
        self._lumas: dict[tuple[int, int], Grey] = {}
        """Luma scaled by halving (before any range stretch), kept for the next halving."""

    @classmethod
    def from_bgr(cls, image: Colour) -> Picture:
        """A picture of a BGR image (H, W, 3); raises ValueError for any other shape."""
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected a BGR image (H, W, 3), got shape {image.shape}")
        return cls(int(image.shape[1]), int(image.shape[0]), bgr=image)

    @classmethod
    def from_luma(cls, luma: Grey, to_bgr: Callable[[], Colour], *, limited_range: bool) -> Picture:
        """A picture of a decoded frame: its luma plane (H, W) now, ``to_bgr()`` if asked."""
        if luma.ndim != 2:
            raise ValueError(f"expected a luma plane (H, W), got shape {luma.shape}")
        return cls(
            int(luma.shape[1]),
            int(luma.shape[0]),
            luma=luma,
            limited_range=limited_range,
            to_bgr=to_bgr,
        )

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width), as a NumPy image's shape starts."""
        return self.height, self.width

    @property
    def has_colour(self) -> bool:
        """Whether the colour image exists already (asking for it costs nothing more)."""
        return self._bgr is not None

    @property
    def bgr(self) -> Colour:
        """The colour image (H, W, 3), converted on first use and kept."""
        if self._bgr is None:
            assert self._to_bgr is not None  # guaranteed by the constructor
            image = np.asarray(self._to_bgr(), dtype=np.uint8)
            if image.shape != (self.height, self.width, 3):
                raise ValueError(
                    f"the frame converted to {image.shape}, not {(self.height, self.width, 3)}"
                )
            self._bgr = image
            self._to_bgr = None
        return self._bgr

    def grey(self, size: tuple[int, int]) -> Grey:
        """A full-range grey copy scaled (area average) to ``size`` = (width, height).

        A size the frame's is a power-of-two multiple of is reached by halving, each step
        kept: the motion gate's 160x90 and the box follower's 640x360 of a 1280x720 frame
        share their first halving, and OpenCV's area resize is several times faster by
        two than by four or eight. Each halving rounds, so such a copy may differ by one
        grey level from a single resize."""
        found = self._greys.get(size)
        if found is not None:
            return found
        if self._luma is not None:
            if _halvings((self.width, self.height), size):
                grey = self._halved(size)
            else:
                grey = self._scaled(self._luma, size)
            if self._limited:
                grey = np.asarray(cv2.LUT(grey, _FULL_RANGE), dtype=np.uint8)
        else:
            assert self._bgr is not None
            grey = np.asarray(
                cv2.cvtColor(self._scaled(self._bgr, size), cv2.COLOR_BGR2GRAY), np.uint8
            )
        self._greys[size] = grey
        return grey

    def _halved(self, size: tuple[int, int]) -> Grey:
        """The luma at ``size``, a power-of-two fraction of the frame's, by halving."""
        assert self._luma is not None
        if size == (self.width, self.height):
            return self._luma  # (only ever resized: padded rows need no copy)
        found = self._lumas.get(size)
        if found is None:
            larger = self._halved((size[0] * 2, size[1] * 2))
            found = np.asarray(cv2.resize(larger, size, interpolation=cv2.INTER_AREA), np.uint8)
            self._lumas[size] = found
        return found

    def _scaled(self, image: npt.NDArray[np.uint8], size: tuple[int, int]) -> npt.NDArray[np.uint8]:
        if size == (self.width, self.height):
            return np.ascontiguousarray(image)
        return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def _halvings(full: tuple[int, int], size: tuple[int, int]) -> bool:
    """Whether ``size`` is ``full`` halved one or more times, (width, height) both exactly."""
    width, height = full
    while width % 2 == 0 and height % 2 == 0 and (width, height) != size:
        width, height = width // 2, height // 2
    return (width, height) == size and size != full


def as_picture(image: Picture | Colour) -> Picture:
    """``image`` itself if it is a Picture, else a Picture of the BGR array."""
    return image if isinstance(image, Picture) else Picture.from_bgr(image)
