"""What the ANPR stage needs of a plate reader: the small protocols it talks to it through.

The stage (``analytics.plates``) never imports the reader: a worker passes in
``vision.plates``' reader and its ``fuse_reads``, tests pass oracles, and any reader whose
readings carry a text, a confidence and a box fits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt


class PlateReading(Protocol):
    """What the plate reader returns for one plate in one image."""

    @property
    def text(self) -> str: ...
    @property
    def confidence(self) -> float: ...
    @property
    def box(self) -> Any:
        """(x, y, w, h) in frame pixels: a tuple, or an object with x, y, w, h."""

    @property
    def lines(self) -> Sequence[str]: ...
    @property
    def rule(self) -> str: ...


class PlateReaderLike(Protocol):
    def read(
        self, image_bgr: npt.NDArray[np.uint8], region: tuple[int, int, int, int] | None = None
    ) -> Sequence[Any]: ...


FuseReads = Callable[[Sequence[Any]], Any]


def box_xywh(box: Any) -> tuple[int, int, int, int]:
    """A reader's box as (x, y, w, h) ints, whether it is a tuple or a PixelBox-like object."""
    if hasattr(box, "x"):
        return int(box.x), int(box.y), int(box.w), int(box.h)
    x, y, w, h = box
    return int(x), int(y), int(w), int(h)
