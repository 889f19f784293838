"""Luminance statistics behind the black and overexposed checks.

Fractions of dark and bright pixels, rather than the mean alone, separate a
black picture from a night street: the street keeps lamps, signs and their glow
above the dark level even when its mean is as low as a black frame's. Measured
on the street photos in ../shared/data (darkened to a fifth of their light),
the dark fraction stays at or below 0.85 while a capped lens gives 1.0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from safecity.vision.image_health.frame import GreyImage


@dataclass(frozen=True)
class LuminanceStats:
    """How light is spread over one analysis frame (grey levels 0-255)."""

    mean: float
    contrast: float  # standard deviation of grey levels
    dark_fraction: float
    bright_fraction: float


def measure_luminance(grey: GreyImage, *, dark_level: int, bright_level: int) -> LuminanceStats:
    """Mean, contrast and the fractions of pixels at or below ``dark_level`` / at or above
    ``bright_level``."""
    # One histogram answers every question about the grey levels in a single
    # pass; for 57,600 pixels that is cheaper than four separate reductions.
    counts = np.bincount(grey.ravel(), minlength=256).astype(np.float64)
    total = float(counts.sum())
    levels = np.arange(256, dtype=np.float64)
    mean = float(counts @ levels) / total
    variance = float(counts @ np.square(levels - mean)) / total
    return LuminanceStats(
        mean=mean,
        contrast=float(np.sqrt(variance)),
        dark_fraction=float(counts[: dark_level + 1].sum()) / total,
        bright_fraction=float(counts[bright_level:].sum()) / total,
    )
