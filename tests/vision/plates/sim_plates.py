"""Plates drawn by the simulator (``sim.plate_render``) on a plain vehicle-like ground, as
the reader's tests place them."""

from __future__ import annotations

import cv2
import numpy as np

from safecity.sim.plate_render import draw_plate
from safecity.sim.plates import PlateDesign


def plate_scene(
    design: PlateDesign, plate_height: int, seed: int
) -> tuple[np.ndarray, tuple[int, int]]:
    """The plate at ``plate_height`` pixels on a noisy grey 'vehicle', and where it is."""
    small = scaled_plate(design, plate_height)
    rng = np.random.default_rng(seed)
    canvas = rng.normal(90, 6, size=(260, 380, 3)).clip(0, 255).astype(np.uint8)
    x, y = 60 + seed % 40, 90 + seed % 30
    canvas[y : y + small.shape[0], x : x + small.shape[1]] = small
    return canvas, (x, y)


def scaled_plate(design: PlateDesign, plate_height: int) -> np.ndarray:
    """The simulator's drawing of the plate, shrunk to ``plate_height`` pixels high."""
    plate = draw_plate(design)
    scale = plate_height / plate.shape[0]
    return np.asarray(
        cv2.resize(
            plate, (round(plate.shape[1] * scale), plate_height), interpolation=cv2.INTER_AREA
        ),
        np.uint8,
    )
