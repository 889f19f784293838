"""Motion smear on a plate: found from the image alone, and undone before the plate is read.

A vehicle moving while the shutter is open is smeared along its image motion: each
point becomes a short straight streak, the same for the whole plate (the plate is flat
and small, so its motion is one vector). Characters smeared by a tenth of the plate's
height lose their strokes, and past a fifth they run into one another; that is most of
what the reader misses on moving traffic (docs/BENCHMARKS.md).

Such a streak is a kernel of known shape with two unknowns, its length and direction,
and both show in the image's power cepstrum: a straight box blur of length ``L``
multiplies the spectrum by a sinc whose zeros repeat every ``1/L`` along the motion,
which leaves a sharp negative peak at distance ``L`` in that direction of the cepstrum
(the classical blind estimate of linear motion blur). :func:`find_smear` looks for that
peak in a ring of the plausible lengths around the plate and reports how far it stands
out from the rest of the ring; a sharp plate has no such peak. :func:`unsmeared` then
undoes the smear with a Wiener filter (deconvolution that damps the frequencies the
smear erased instead of amplifying their noise).

Costs about a millisecond a plate: the cut-outs are small.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt
import scipy.fft

from safecity.vision.plates.image import MIN_SIDE, surroundings
from safecity.vision.plates.ocr import Image
from safecity.vision.plates.result import PixelBox

SHORTEST = 3
"""The shortest smear looked for, pixels: shorter ones do not hide a character."""
LONGEST = 25
"""The longest smear looked for, pixels."""
STANDS_OUT = 4.0
"""How many standard deviations below the ring's mean the cepstral dip must lie to be
taken for a smear (sharp plates measured 3.1-3.6 on development renders, smeared ones
mostly 4-13)."""
FLATTER_ALONG = 0.6
"""A smear flattens the image along its direction: the mean squared gradient along the
found direction must be at most this share of that across it. A sharp plate's cepstrum
can dip by chance (often where rows of characters repeat), but its strokes change as
fast one way as the other (0.64-1.15 on sharp simulator plates at the found direction,
0.17-0.57 on ones smeared by 7 pixels or more)."""
NOISE_TO_SIGNAL = 0.005
"""The Wiener filter's noise-to-signal power ratio: lower restores more detail and more
noise. Through the pipeline on development renders 0.005 read 51 vehicles exactly with
19 false reads, 0.01 50 / 22, 0.03 45 / 21 (docs/BENCHMARKS.md)."""


@dataclass(frozen=True, slots=True)
class Smear:
    """A straight motion smear: its length in pixels, its direction and how sure."""

    length: float
    angle: float
    """Direction of the motion, radians (a smear has no sense: angle and angle + pi are one)."""
    strength: float
    """Depth of the cepstral dip in standard deviations of the ring around it."""


def find_smear(
    bgr: Image,
    *,
    shortest: int = SHORTEST,
    longest: int = LONGEST,
    stands_out: float = STANDS_OUT,
    flatter_along: float = FLATTER_ALONG,
) -> Smear | None:
    """The straight motion smear over ``bgr`` (a plate and a little of its surroundings),
    or None when no smear of ``shortest`` to ``longest`` pixels stands out in its
    cepstrum and flattens the image along its direction."""
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    height, width = grey.shape
    if min(height, width) < MIN_SIDE:
        return None
    # A window against the spectrum of the cut-out's edges; zero padding so the ring of
    # lengths fits inside a small plate's cepstrum.
    windowed = (grey - grey.mean()) * np.outer(np.hanning(height), np.hanning(width))
    side_y, side_x = max(height, 2 * longest + 8), max(width, 2 * longest + 8)
    padded = np.zeros((side_y, side_x), np.float32)
    padded[:height, :width] = windowed
    spectrum = np.abs(np.fft.fft2(padded))
    cepstrum = np.fft.fftshift(np.real(np.fft.ifft2(np.log1p(spectrum))))
    centre_y, centre_x = side_y // 2, side_x // 2
    rows, cols = np.mgrid[0:side_y, 0:side_x]
    dy, dx = rows - centre_y, cols - centre_x
    radius = np.hypot(dx, dy)
    # The cepstrum is symmetric about its centre: one half-plane holds every direction.
    ring = (radius >= shortest) & (radius <= longest) & ((dy < 0) | ((dy == 0) & (dx > 0)))
    values = cepstrum[ring]
    deepest = int(np.argmin(values))
    spread = float(values.std())
    if spread <= 0:
        return None
    strength = (float(values.mean()) - float(values[deepest])) / spread
    if strength < stands_out:
        return None
    at_x, at_y = float(dx[ring][deepest]), float(dy[ring][deepest])
    angle = math.atan2(at_y, at_x)
    if _flatness(grey, angle) > flatter_along:
        return None
    return Smear(length=math.hypot(at_x, at_y), angle=angle, strength=round(strength, 2))


def _flatness(grey: npt.NDArray[np.float32], angle: float) -> float:
    """Mean squared gradient of ``grey`` along ``angle`` over that across it."""
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1)
    cos, sin = math.cos(angle), math.sin(angle)
    along = float(np.mean((gx * cos + gy * sin) ** 2))
    across = float(np.mean((gy * cos - gx * sin) ** 2))
    return along / across if across > 0 else math.inf


def smear_kernel(smear: Smear) -> npt.NDArray[np.float32]:
    """The point spread of ``smear``: a straight streak of its length through the centre
    of an odd square, summing to one (points along it, spread over their four pixels)."""
    size = math.ceil(smear.length) | 1
    kernel = np.zeros((size, size), np.float32)
    centre = size // 2
    steps = max(2, math.ceil(smear.length * 4))
    ux, uy = math.cos(smear.angle), math.sin(smear.angle)
    for t in np.linspace(-smear.length / 2, smear.length / 2, steps):
        x, y = centre + t * ux, centre + t * uy
        x0, y0 = math.floor(x), math.floor(y)
        fx, fy = x - x0, y - y0
        for px, py, weight in (
            (x0, y0, (1 - fx) * (1 - fy)),
            (x0 + 1, y0, fx * (1 - fy)),
            (x0, y0 + 1, (1 - fx) * fy),
            (x0 + 1, y0 + 1, fx * fy),
        ):
            if 0 <= px < size and 0 <= py < size:
                kernel[py, px] += weight
    return cast(npt.NDArray[np.float32], kernel / kernel.sum())


def unsmeared(bgr: Image, smear: Smear, noise_to_signal: float = NOISE_TO_SIGNAL) -> Image:
    """``bgr`` with ``smear`` undone by a Wiener filter (edges mirrored so they do not ring)."""
    kernel = smear_kernel(smear)
    size = kernel.shape[0]
    mirrored = cv2.copyMakeBorder(bgr, size, size, size, size, cv2.BORDER_REFLECT)
    height, width = mirrored.shape[:2]
    spread = np.zeros((height, width), np.float32)
    spread[:size, :size] = kernel
    spread = np.roll(spread, (-(size // 2), -(size // 2)), axis=(0, 1))
    # Real transforms in single precision: the pixels are real and 8-bit, and this halves
    # the work of numpy's complex double-precision transforms.
    transfer = scipy.fft.rfft2(spread)
    inverse = np.conj(transfer) / (np.abs(transfer) ** 2 + np.float32(noise_to_signal))
    channels = scipy.fft.rfft2(mirrored.astype(np.float32), axes=(0, 1))
    restored = scipy.fft.irfft2(channels * inverse[:, :, None], s=(height, width), axes=(0, 1))
    restored = restored[size : height - size, size : width - size]
    return cast(Image, np.clip(np.rint(restored), 0, 255).astype(np.uint8))


def unsmear_plates(bgr: Image, plates: list[PixelBox]) -> tuple[Image, int]:
    """``bgr`` with each plate's surroundings unsmeared where a smear is found there (a
    copy; ``bgr`` itself is never changed), and how many plates were unsmeared."""
    restored: Image | None = None
    count = 0
    for box in plates:
        cutout = surroundings(bgr, box, box.w // 4, box.h // 2)
        smear = find_smear(cutout.image)
        if smear is None:
            continue
        if restored is None:
            restored = bgr.copy()
        x, y = cutout.x, cutout.y
        height, width = cutout.image.shape[:2]
        restored[y : y + height, x : x + width] = unsmeared(cutout.image, smear)
        count += 1
    return (restored if restored is not None else bgr), count
