"""A 1280x720 street sequence a real detector sees: a car from a real photo driven across it.

YOLOX-nano finds nothing in the simulator's drawn vehicles, so the detector cadence is
tested on real pixels: the street photo of ``../shared/data/street`` (parked cars and
people standing, i.e. still objects) with its bottom rows mirrored into a lane, and the
photo's yellow taxi cut out and moved along that lane, first left to right, then (mirrored)
right to left (or driven in and parked), with a little sensor noise on every frame.
Deterministic; the true box of the moving car is known on every frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

WIDTH, HEIGHT = 1280, 720
PHOTO_HEIGHT = 650
TAXI = (455, 628, 100, 450)
"""Rows and columns of the taxi in the photo (y1, y2, x1, x2)."""

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Shot:
    image: Image
    car: tuple[int, int, int, int] | None
    """True box (x1, y1, x2, y2) of the moving car's visible part, None when none is in view."""
    heading: str | None
    """'right' or 'left' while a car is in view."""


class _Street:
    """The street, the taxi sprite (and its mirror image), and seeded sensor noise."""

    def __init__(self, shared: Path) -> None:
        photo = cv2.imread(str(shared / "data/street/hpc203_street.png"))
        if photo is None:
            raise FileNotFoundError("hpc203_street.png is missing from the shared data")
        top = cv2.resize(photo, (WIDTH, PHOTO_HEIGHT), interpolation=cv2.INTER_AREA)
        lane = top[-(HEIGHT - PHOTO_HEIGHT) :][::-1]
        self.background = np.ascontiguousarray(np.vstack([top, lane]))
        y1, y2, x1, x2 = TAXI
        scale_x, scale_y = WIDTH / photo.shape[1], PHOTO_HEIGHT / photo.shape[0]
        crop = photo[y1:y2, x1:x2]
        self.taxi = np.asarray(
            cv2.resize(crop, None, fx=scale_x, fy=scale_y, interpolation=cv2.INTER_AREA),
            np.uint8,
        )
        self.mirrored = np.ascontiguousarray(self.taxi[:, ::-1])
        self._rng = np.random.default_rng(3)

    def shot(self, x: int | None, sprite: Image | None = None, heading: str | None = None) -> Shot:
        """The street with ``sprite`` (default: the taxi) at column ``x`` (None: no car)."""
        sprite = self.taxi if sprite is None else sprite
        image = self.background.astype(np.int16)
        box = None
        if x is not None:
            height, width = sprite.shape[:2]
            top_y = HEIGHT - height - 4
            left, right = max(0, x), min(WIDTH, x + width)
            if right > left:
                image[top_y : top_y + height, left:right] = sprite[:, left - x : right - x]
                box = (left, top_y, right, top_y + height)
        image += self._rng.normal(0, 2, image.shape).astype(np.int16)
        return Shot(np.clip(image, 0, 255).astype(np.uint8), box, heading if box else None)


def street_sequence(shared: Path, *, quiet_frames: int = 10) -> list[Shot]:
    """Quiet street, car A crosses left to right (30 px a frame), a pause, car B (the same
    car mirrored) crosses right to left (40 px a frame), a pause."""
    street = _Street(shared)
    shots = [street.shot(None) for _ in range(quiet_frames)]
    shots += [street.shot(x, heading="right") for x in range(-320, 1300, 30)]
    shots += [street.shot(None) for _ in range(5)]
    shots += [street.shot(x, street.mirrored, "left") for x in range(1290, -330, -40)]
    shots += [street.shot(None) for _ in range(5)]
    return shots


def parking_sequence(shared: Path, *, parked_frames: int = 50) -> list[Shot]:
    """Quiet street, the car drives in from the left (30 px a frame) and stops with its
    left edge at x = 500 for ``parked_frames`` frames."""
    street = _Street(shared)
    shots = [street.shot(None) for _ in range(10)]
    shots += [street.shot(x, heading="right") for x in range(-320, 500, 30)]
    shots += [street.shot(500, heading="right") for _ in range(parked_frames)]
    return shots
