"""The images the reader accepts, and the image operations its reading paths share.

:func:`as_bgr` checks what a caller passed (a non-image raises :class:`InvalidImage`);
the rest works on images already checked: contrast evened out for one line
(:func:`normalise_contrast`) or a whole image (:func:`equalise_image`), and the
surroundings of a box cut out for a closer look (:func:`surroundings`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np

from safecity.vision.plates.ocr import Image
from safecity.vision.plates.result import PixelBox

MIN_SIDE = 8
"""An image, region or cut-out with a side shorter than this many pixels is not read."""


class InvalidImage(ValueError):
    """The input is not an image the reader can use (wrong type, dtype or shape)."""


def as_bgr(image: object) -> Image:
    """A contiguous BGR uint8 copy-free view of ``image``, or :class:`InvalidImage`."""
    if not isinstance(image, np.ndarray):
        raise InvalidImage(f"image must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise InvalidImage(f"image must be uint8, got dtype {image.dtype}")
    if image.ndim == 2:
        return cast(Image, cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)) if image.size else _empty()
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise InvalidImage(
            f"image must have shape (h, w), (h, w, 3) or (h, w, 4); got {image.shape}"
        )
    if image.size == 0:
        return _empty()
    if image.shape[2] == 4:
        return cast(Image, cv2.cvtColor(image, cv2.COLOR_BGRA2BGR))
    return cast(Image, np.ascontiguousarray(image))


def _empty() -> Image:
    return np.zeros((0, 0, 3), dtype=np.uint8)


def normalise_contrast(crop: Image) -> Image:
    """Grey, contrast-limited histogram equalisation, back to three channels."""
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(2, 8))
    equalised = clahe.apply(grey)
    return cast(Image, cv2.cvtColor(equalised, cv2.COLOR_GRAY2BGR))


def equalise_image(bgr: Image) -> Image:
    """The image with its lightness contrast-limited and equalised in 8 x 8 tiles (colour
    kept): local contrast raised where it is low, so faint text stands out."""
    lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2LAB)
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    lab[:, :, 0] = clahe.apply(np.ascontiguousarray(lab[:, :, 0]))
    return cast(Image, cv2.cvtColor(lab, cv2.COLOR_LAB2BGR))


def whole(image: Image) -> PixelBox:
    """The whole image as a box: a vehicle region's own box in its crop's pixels."""
    return PixelBox(0, 0, int(image.shape[1]), int(image.shape[0]))


@dataclass(frozen=True, eq=False)
class Cutout:
    """Part of an image (contiguous pixels) and where its top-left corner sits in it."""

    image: Image
    x: int
    y: int

    def to_image(self, box: PixelBox) -> PixelBox:
        """A box in the cut-out's pixels moved to the pixels of the image it was cut from."""
        return PixelBox(self.x + box.x, self.y + box.y, box.w, box.h)

    def from_image(self, box: PixelBox) -> PixelBox:
        """A box in the image's pixels moved to the cut-out's."""
        return PixelBox(box.x - self.x, box.y - self.y, box.w, box.h)


def surroundings(image: Image, box: PixelBox, margin_x: int, margin_y: int) -> Cutout:
    """``box`` grown by ``margin_x`` left and right and ``margin_y`` above and below, cut
    to the image, as a cut-out."""
    height, width = image.shape[:2]
    x0, y0 = max(0, box.x - margin_x), max(0, box.y - margin_y)
    x1, y1 = min(width, box.x + box.w + margin_x), min(height, box.y + box.h + margin_y)
    return Cutout(np.ascontiguousarray(image[y0:y1, x0:x1]), x0, y0)
