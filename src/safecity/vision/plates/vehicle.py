"""Which of a vehicle track's readings can be its plate, before they are fused.

A reader given a vehicle's box reads any text inside it. Two kinds of text in a
vehicle box are not its plate, and fusing them with the plate's readings costs the
vehicle its read (the fused length follows the most confident reads, so one
confident ``CAM01`` outvotes a plate read once):

- text high up the box. A plate is mounted on a bumper or a fender, in the lower
  part of the vehicle seen from the front or the back; what is read in the top of
  the box is a bus's route board, a shop sign behind a low car, or, most often, the
  camera's own on-screen name or clock when the vehicle enters the picture and its
  box is cut by the frame's top edge (the box then starts at the picture's top row,
  where the on-screen display is burned in);
- text that stands still while the vehicle moves: the on-screen display or a sign
  read through the box in several frames.

The reader applies :func:`on_vehicle` itself to the candidates of a vehicle region
(a confident ``CAM01`` otherwise settles the region before its plate is read); the
ANPR stage applies :func:`plate_sightings` to a track's readings before fusing them.

Development (seeds 8501-8503, anpr view, never reported as test): the 8 reads of the
on-screen display through vehicle boxes had their centre at 5-66 % of the box's height
from its top (6 of them under 20 %), every plate read at 73 % or lower.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from safecity.vision.plates.tracks import STATIONARY_MOVE, displacement

XYWH = tuple[float, float, float, float]

PLATE_LOWEST_TOP = 0.35
"""A plate's centre lies at least this share of its vehicle box's height below the box's
top. Kept far from the 0.73 the lowest development plate read had: a motorcycle's
front plate sits higher on its box than a car's."""


PLATE_OVERHANG = 0.5
"""A plate is part of its vehicle: its box may reach out of the vehicle's box by this share
of its own height, no more. This project's reader clips what it reads to the region it is
given, so this guards other readers (one that reads with a margin around the region, or
the whole frame): text reaching further was read beside the vehicle, such as the
on-screen display next to a small box coming in at the picture's top."""


@dataclass(frozen=True)
class Sighting:
    """One reading of a track with the vehicle box it was read in (both (x, y, w, h) in
    the frame's pixels) and the frame it came from."""

    frame: float
    text: str
    plate_box: XYWH
    vehicle_box: XYWH


def on_vehicle(plate_box: XYWH, vehicle_box: XYWH) -> bool:
    """The plate box lies inside the vehicle box (give or take ``PLATE_OVERHANG`` of its
    height), its centre below the box's top part."""
    px, py, pw, ph = plate_box
    vx, vy, vw, vh = vehicle_box
    if vw <= 0 or vh <= 0:
        return False
    slack = PLATE_OVERHANG * ph
    if px < vx - slack or py < vy - slack or px + pw > vx + vw + slack:
        return False
    if py + ph > vy + vh + slack:
        return False
    return (py + ph / 2 - vy) / vh >= PLATE_LOWEST_TOP


def still_sightings(sightings: Sequence[Sighting]) -> set[int]:
    """Indices of the readings of a text that stood still while the vehicle's box moved:
    read at one place on two or more frames as the box moved, burned into the picture
    or fixed in the scene. Readings at one place are grouped if their texts are alike
    (``_alike``), not only equal, so a clock whose digits change from frame to frame
    stands still as much as the camera's name; a plate and a sign read at one place on
    different frames are not grouped."""
    still: set[int] = set()
    for index, sighting in enumerate(sightings):
        here = [
            other
            for other in sightings
            if _same_place(sighting.plate_box, other.plate_box)
            and _alike(sighting.text, other.text)
        ]
        if len({other.frame for other in here}) < 2:
            continue
        if displacement([other.vehicle_box for other in here]) >= STATIONARY_MOVE:
            still.add(index)
    return still


def _same_place(one: XYWH, other: XYWH) -> bool:
    """Box centres closer than ``STATIONARY_MOVE`` heights of the taller box on each axis."""
    reach = STATIONARY_MOVE * max(1.0, one[3], other[3])
    return (
        abs(one[0] + one[2] / 2 - other[0] - other[2] / 2) < reach
        and abs(one[1] + one[3] / 2 - other[1] - other[3] / 2) < reach
    )


def _alike(one: str, other: str) -> bool:
    """Same length, at most half the characters different (a clock's changing digits)."""
    if len(one) != len(other):
        return False
    return 2 * sum(a != b for a, b in zip(one, other, strict=True)) <= len(one)


@dataclass(frozen=True)
class Kept:
    """Indices of the sightings that may be the plate, and why the others were dropped."""

    kept: tuple[int, ...]
    stood_still: int
    off_vehicle: int


def plate_sightings(sightings: Sequence[Sighting]) -> Kept:
    """The sightings that may be the vehicle's plate: not a text that stood still, not
    read above the plate's place on the vehicle."""
    still = still_sightings(sightings)
    kept: list[int] = []
    stood_still = off_vehicle = 0
    for index, sighting in enumerate(sightings):
        if index in still:
            stood_still += 1
        elif not on_vehicle(sighting.plate_box, sighting.vehicle_box):
            off_vehicle += 1
        else:
            kept.append(index)
    return Kept(tuple(kept), stood_still, off_vehicle)
