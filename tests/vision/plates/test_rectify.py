"""Rectification: a plate seen by an oblique camera (perspective and shear) is warped back
upright by ``crop_quad`` from its four corners, and the upright plate reads right.

The plate is the simulator's own drawing, so the rectified crop can be compared with
the picture the camera "saw" before the warp; a plain axis-aligned crop of the same
region keeps the slant and does not match it.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from safecity.sim.plate_render import draw_plate
from safecity.sim.plates import generate_plate
from safecity.vision.plates import PlateReader
from safecity.vision.plates.ocr import crop_quad

# Where an oblique camera (looking from the left, from above, tilted) puts the plate's
# top-left, top-right, bottom-right and bottom-left corners: the far (right) end is
# smaller, and the whole plate is sheared and turned by about 12 degrees.
OBLIQUE = np.array([[90, 150], [370, 90], [378, 152], [102, 236]], dtype=np.float32)
CANVAS = (400, 520)  # height, width
BACKGROUND = 70


def _plate(seed: int) -> tuple[npt.NDArray[np.uint8], str]:
    design = generate_plate(np.random.default_rng(seed), "car")
    return draw_plate(design), design.registration


def _seen_obliquely(plate: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    height, width = plate.shape[:2]
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(corners, OBLIQUE)
    canvas = np.full((*CANVAS, 3), BACKGROUND, np.uint8)
    cv2.warpPerspective(
        plate,
        matrix,
        (CANVAS[1], CANVAS[0]),
        dst=canvas,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_TRANSPARENT,
    )
    return canvas


def _likeness(image: npt.NDArray[np.uint8], plate: npt.NDArray[np.uint8]) -> float:
    """Normalised correlation of two pictures in grey, ``image`` scaled to ``plate``'s size."""
    size = (plate.shape[1], plate.shape[0])
    a = cv2.cvtColor(cv2.resize(image, size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
    b = cv2.cvtColor(plate, cv2.COLOR_BGR2GRAY)
    x = a.astype(np.float64) - a.mean()
    y = b.astype(np.float64) - b.mean()
    return float((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum()))


@pytest.mark.parametrize("seed", [21, 22, 23])  # 23: a two-line plate
def test_an_oblique_plate_is_warped_back_upright_and_reads_right(
    pk_reader: PlateReader, seed: int
) -> None:
    plate, registration = _plate(seed)
    picture = _seen_obliquely(plate)
    rectified = crop_quad(picture, OBLIQUE)
    x0, y0 = np.floor(OBLIQUE.min(axis=0)).astype(int)
    x1, y1 = np.ceil(OBLIQUE.max(axis=0)).astype(int)
    axis_aligned = picture[y0:y1, x0:x1]
    rectified_likeness = _likeness(rectified, plate)
    aligned_likeness = _likeness(axis_aligned, plate)
    assert rectified_likeness > 0.95, (rectified_likeness, aligned_likeness)
    assert aligned_likeness < 0.4, (rectified_likeness, aligned_likeness)
    reads = pk_reader.read(rectified)
    assert [read.text for read in reads][:1] == [registration]
