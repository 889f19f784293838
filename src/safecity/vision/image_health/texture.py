"""Texture per cell, behind the covered check.

Something on or right in front of the lens is far out of focus, so it carries no
detail between the pixel scale (noise) and the frame scale (vignetting, light
leaking round a hand). A difference of Gaussians keeps just that middle band;
its mean absolute response per cell of a grid says which parts of the picture
still show a scene. Measured on the street photos in ../shared/data with added
noise, 0-26 % of cells read textureless in daylight, 3-43 % darkened to a fifth
of their light and 12-68 % to a tenth; a smooth dark blob with noise reads
99-100 %, and with a band of light leaking past it 88 %.

Noise would otherwise count as texture, so a cell is also textureless when its
response is within a few times what the frame's own noise would give. The noise
is estimated with Immerkaer's operator (a difference of Laplacians that cancels
linear shading), taking the median response so edges barely move it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

from safecity.vision.image_health.frame import GreyImage

FloatImage = npt.NDArray[np.float32]

# Band of the difference of Gaussians, in analysis pixels: the fine sigma
# averages pixel noise away, the coarse one removes shading and vignetting.
_FINE_SIGMA = 1.5
_COARSE_SIGMA = 4.5

# Mean absolute band response of unit-variance white noise, measured once
# (0.126 for the sigmas above); scales linearly with the noise level.
_NOISE_RESPONSE_PER_SIGMA = 0.126

_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)
# For Gaussian noise of deviation s the operator's response has deviation 6 s,
# and the median of its absolute value is 0.6745 times that.
_IMMERKAER_MEDIAN_PER_SIGMA = 6.0 * 0.6745


@dataclass(frozen=True)
class TextureStats:
    """How much of an analysis frame still shows texture."""

    textureless_fraction: float
    noise_sigma: float  # estimated sensor noise, grey levels
    cell_threshold: float  # band response below which a cell counted as textureless


def measure_texture(
    grey: GreyImage, *, grid_columns: int, texture_floor: float, noise_multiple: float
) -> TextureStats:
    """Fraction of grid cells without texture, and the noise estimate that set the bar."""
    image = grey.astype(np.float32)
    band = np.abs(_blur(image, _FINE_SIGMA) - _blur(image, _COARSE_SIGMA))
    noise_sigma = estimate_noise_sigma(grey)
    threshold = max(texture_floor, noise_multiple * _NOISE_RESPONSE_PER_SIGMA * noise_sigma)
    cells = _cell_means(band, grid_columns)
    return TextureStats(
        textureless_fraction=float(np.count_nonzero(cells < threshold)) / cells.size,
        noise_sigma=noise_sigma,
        cell_threshold=threshold,
    )


def estimate_noise_sigma(grey: GreyImage) -> float:
    """Standard deviation of the additive noise in a grey image, in grey levels."""
    # On 8-bit input the operator's response is a whole number within +-4080, so
    # a histogram gives the median in a fifth of the time a sort would take.
    response = cast(npt.NDArray[np.int16], cv2.filter2D(grey, cv2.CV_16S, _IMMERKAER))
    # The border rows mirror the image and would report too little noise.
    magnitudes = np.abs(response[1:-1, 1:-1].astype(np.int32)).ravel()
    cumulative = np.cumsum(np.bincount(magnitudes))
    median = int(np.searchsorted(cumulative, (magnitudes.size + 1) // 2))
    return median / _IMMERKAER_MEDIAN_PER_SIGMA


def _blur(image: FloatImage, sigma: float) -> FloatImage:
    return cast(FloatImage, cv2.GaussianBlur(image, (0, 0), sigma))


def _cell_means(values: FloatImage, grid_columns: int) -> FloatImage:
    """Means over square cells, ``grid_columns`` across; partial cells at the right and
    bottom edges are dropped (at most one cell's width of the frame)."""
    height, width = values.shape
    side = max(1, min(width // grid_columns, height))
    rows = max(1, height // side)
    columns = width // side
    trimmed = values[: rows * side, : columns * side]
    return cast(FloatImage, trimmed.reshape(rows, side, columns, side).mean(axis=(1, 3)))
