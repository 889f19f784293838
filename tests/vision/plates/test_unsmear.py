"""Contract of ``vision.plates.unsmear``: a straight motion smear over a plate is found from
the image alone (length and direction), a sharp plate is left alone, and undoing the
smear brings the plate back closer to what it was; the caller's image is never changed.

Plates are the simulator's own plate drawings (``sim.plate_render``) at the sizes a
camera sees them, smeared with the product's kernel of a known length and direction."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from safecity.sim.plate_render import draw_plate
from safecity.sim.plates import generate_plate
from safecity.vision.plates import PlateReader
from safecity.vision.plates.image import surroundings
from safecity.vision.plates.result import PixelBox
from safecity.vision.plates.unsmear import (
    Smear,
    find_smear,
    smear_kernel,
    unsmear_plates,
    unsmeared,
)


def _plate_scene(seed: int, height: int) -> tuple[np.ndarray, PixelBox]:
    """A simulator plate ``height`` px high on a grey background, and its box."""
    design = generate_plate(np.random.default_rng(seed), "car")
    plate = draw_plate(design)
    scale = height / plate.shape[0]
    small = cv2.resize(plate, (round(plate.shape[1] * scale), height), interpolation=cv2.INTER_AREA)
    image = np.full((height * 3, small.shape[1] * 2, 3), 90, np.uint8)
    x, y = small.shape[1] // 2, height
    image[y : y + height, x : x + small.shape[1]] = small
    return image, PixelBox(x, y, small.shape[1], height)


def _smeared(image: np.ndarray, length: float, angle: float) -> np.ndarray:
    kernel = smear_kernel(Smear(length, angle, 0.0))
    return cv2.filter2D(image, -1, kernel, borderType=cv2.BORDER_REPLICATE)


def _around(image: np.ndarray, box: PixelBox) -> np.ndarray:
    return surroundings(image, box, box.w // 4, box.h // 2).image


def _same_direction(a: float, b: float) -> float:
    """Angle between two smear directions (a smear has no sense), radians."""
    difference = abs(a - b) % math.pi
    return min(difference, math.pi - difference)


@pytest.mark.parametrize(
    ("seed", "height", "length", "angle"),
    [
        (11, 22, 7, math.pi / 2),  # straight down the picture, as traffic towards a camera
        (12, 30, 11, 1.2),
        (13, 24, 15, 2.0),
        (14, 18, 9, 0.2),
        (15, 28, 5, 1.9),
    ],
)
def test_a_smear_is_found_with_its_length_and_direction(
    seed: int, height: int, length: int, angle: float
) -> None:
    image, box = _plate_scene(seed, height)
    found = find_smear(_around(_smeared(image, length, angle), box))
    assert found is not None
    assert abs(found.length - length) <= 1.5
    assert _same_direction(found.angle, angle) <= 0.25


def test_sharp_plates_are_left_alone() -> None:
    """Of 30 sharp plates at three sizes, at most a few show a smear by chance (the
    cepstrum alone found one on about half of them, the flatness check removes those)."""
    found = 0
    for seed in range(10):
        for height in (16, 22, 30):
            image, box = _plate_scene(100 + seed, height)
            found += find_smear(_around(image, box)) is not None
    assert found <= 2


def test_undoing_a_smear_brings_the_plate_back() -> None:
    image, box = _plate_scene(21, 26)
    blurred = _smeared(image, 9, math.pi / 2)
    cutout = _around(blurred, box)
    found = find_smear(cutout)
    assert found is not None
    restored = unsmeared(cutout, found)
    original = _around(image, box).astype(np.float32)
    # Inside the plate, away from the cut-out's edges, where the filter has both sides.
    inner = (slice(box.h // 2 + 2, box.h // 2 + box.h - 2), slice(box.w // 4 + 2, -box.w // 4 - 2))
    before = np.abs(cutout.astype(np.float32) - original)[inner].mean()
    after = np.abs(restored.astype(np.float32) - original)[inner].mean()
    assert after < 0.7 * before


def test_unsmear_plates_copies_and_counts() -> None:
    image, box = _plate_scene(31, 24)
    blurred = _smeared(image, 11, 1.4)
    kept = blurred.copy()
    restored, count = unsmear_plates(blurred, [box])
    assert count == 1
    assert np.array_equal(blurred, kept)
    assert not np.array_equal(restored, blurred)
    # Outside the plate's surroundings nothing changed.
    assert np.array_equal(restored[:, : box.x - box.w // 4], blurred[:, : box.x - box.w // 4])
    sharp, none = unsmear_plates(image, [box])
    assert none == 0
    assert sharp is image


def test_a_tiny_or_flat_cutout_has_no_smear() -> None:
    assert find_smear(np.zeros((5, 40, 3), np.uint8)) is None
    assert find_smear(np.full((30, 80, 3), 128, np.uint8)) is None


_SMEARED_PLATES = [(5300, 13), (5306, 11), (5311, 11), (5312, 9), (5319, 9)]
"""(plate seed, smear px) of 26 px one-line plates smeared straight down the picture on
which the reader, located plate and all, read nothing before it unsmeared them."""


def _smeared_vehicle(seed: int, length: int) -> tuple[np.ndarray, str]:
    design = generate_plate(np.random.default_rng(seed), "car")
    assert design.layout == "one_line"
    plate = draw_plate(design)
    scale = 26 / plate.shape[0]
    small = cv2.resize(plate, (round(plate.shape[1] * scale), 26), interpolation=cv2.INTER_AREA)
    image = np.full((260, 380, 3), 90, np.uint8)
    image[170:196, 90 : 90 + small.shape[1]] = small
    return _smeared(image, length, math.pi / 2), design.registration


def test_a_reader_that_unsmears_reads_smeared_plates_it_read_nothing_on() -> None:
    region = (40, 40, 320, 210)
    unsmearing = PlateReader(locator="first", unsmear=True)
    as_seen = PlateReader(locator="first")
    assert not as_seen.unsmear, "off by default"
    for seed, length in _SMEARED_PLATES:
        image, registration = _smeared_vehicle(seed, length)
        assert as_seen.read(image, region) == [], (seed, length)
        reads = unsmearing.read(image, region)
        assert reads, (seed, length)
        assert reads[0].text == registration, (seed, length)


def test_unsmearing_leaves_a_plate_read_as_seen_alone() -> None:
    """A smeared plate the reader reads as it is gets the same reads with ``unsmear``."""
    image, _ = _smeared_vehicle(5314, 9)
    region = (40, 40, 320, 210)
    plain = PlateReader(locator="first").read(image, region)
    assert plain
    assert PlateReader(locator="first", unsmear=True).read(image, region) == plain
