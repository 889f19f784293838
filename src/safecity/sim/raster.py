"""Small OpenCV drawing helpers shared by the backdrop and the frame renderer."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from safecity.sim.plates import Colour
from safecity.sim.truth import Lighting

Image = NDArray[np.uint8]
_SHIFT = 4
"""Sub-pixel bits for polygon vertices: edges move smoothly from frame to frame."""
_TINT: dict[Lighting, tuple[float, float, float]] = {
    "day": (1.0, 1.0, 1.0),
    # Dusk is warm and dim; night is dim and blue under sodium-free LED lamps.
    "dusk": (0.46, 0.52, 0.66),
    "night": (0.26, 0.21, 0.19),
}


def as_image(mat: cv2.typing.MatLike) -> Image:
    """An OpenCV result as the 8-bit image it is (OpenCV's stubs return a union type)."""
    return np.asarray(mat, dtype=np.uint8)


def tone(colour: Colour, lighting: Lighting, level: float | None = None) -> Colour:
    """A day colour as it looks under ``lighting`` (optionally scaled to a light ``level``)."""
    blue, green, red = _TINT[lighting]
    scale = 1.0 if level is None else level
    return (
        min(int(colour[0] * blue * scale), 255),
        min(int(colour[1] * green * scale), 255),
        min(int(colour[2] * red * scale), 255),
    )


def fill(image: Image, pixels: NDArray[np.float64], colour: Colour) -> None:
    """Fill a convex polygon given in (fractional) pixel coordinates."""
    points = np.round(pixels * (1 << _SHIFT)).astype(np.int32)
    cv2.fillConvexPoly(image, points, colour, cv2.LINE_AA, _SHIFT)


def add_glow(
    image: Image, centre: tuple[float, float], radius: float, colour: Colour, strength: float
) -> None:
    """Add a soft round light (headlight, street lamp) without a full-frame blur."""
    size = int(radius * 3) + 1
    cx, cy = int(centre[0]), int(centre[1])
    x0, y0 = max(cx - size, 0), max(cy - size, 0)
    x1, y1 = min(cx + size + 1, image.shape[1]), min(cy + size + 1, image.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    ys, xs = np.ogrid[y0:y1, x0:x1]
    distance2 = ((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) / max(radius, 0.5) ** 2
    glow = (np.exp(-distance2) * strength).astype(np.float32)[..., None]
    region = image[y0:y1, x0:x1].astype(np.float32) + glow * np.array(colour, np.float32)
    image[y0:y1, x0:x1] = np.minimum(region, 255.0).astype(np.uint8)
