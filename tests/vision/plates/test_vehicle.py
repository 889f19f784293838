"""Which readings of a vehicle track may be its plate: the reader on drawn frames where a
camera's on-screen name is read through the box of a vehicle entering the picture."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from safecity.sim.plate_render import draw_plate
from safecity.sim.plates import generate_plate
from safecity.vision.plates import PlateReader, fuse_reads
from safecity.vision.plates.vehicle import (
    PLATE_LOWEST_TOP,
    Sighting,
    on_vehicle,
    plate_sightings,
    still_sightings,
)

OSD = "CAM01"


def _frame(step: int, plate: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A 640x360 frame: the on-screen camera name burned in at the top, a vehicle coming
    down from the top edge (its box cut by it) with its plate near its bottom."""
    rng = np.random.default_rng(step)
    frame = rng.normal(70, 5, size=(360, 640, 3)).clip(0, 255).astype(np.uint8)
    bottom = 150 + 40 * step
    x0, x1 = 20, 300
    body = frame[0:bottom, x0:x1]
    body[:] = np.clip(body.astype(np.int16) + 60, 0, 255).astype(np.uint8)
    # The camera burns its name in over whatever passes under it.
    for colour, weight in (((0, 0, 0), 4), ((255, 255, 255), 2)):
        cv2.putText(frame, OSD, (40, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.9, colour, weight)
    height = 30
    small = cv2.resize(plate, (round(plate.shape[1] * height / plate.shape[0]), height))
    top, left = bottom - height - 12, 100
    frame[top : top + height, left : left + small.shape[1]] = small
    return frame, (x0, 0, x1 - x0, bottom)


def test_a_vehicle_region_reads_its_plate_not_the_on_screen_name_above_it(
    pk_reader: PlateReader,
) -> None:
    """Before the reader skipped text above a plate's place, it read the name first in
    each of these regions, took it as decisive and never read the plate."""
    design = generate_plate(np.random.default_rng(1), "car")
    plate = draw_plate(design)
    reads = []
    for step in range(3):
        frame, box = _frame(step, plate)
        # The name is readable text (the whole frame, no vehicle region, reads it) ...
        assert OSD in {read.text for read in pk_reader.read(frame)}
        # ... but in the vehicle's region only the plate is read.
        found = pk_reader.read(frame, region=box)
        assert [read.text for read in found] == [design.registration]
        reads.append(found[0])
    sightings = [
        Sighting(float(step), read.text, read.box.as_tuple(), _frame(step, plate)[1])
        for step, read in enumerate(reads)
    ]
    verdict = plate_sightings(sightings)
    assert verdict.kept == (0, 1, 2)
    fused = fuse_reads(reads)
    assert fused is not None
    assert fused.text == design.registration


def test_a_reading_of_the_on_screen_name_is_dropped_before_fusion() -> None:
    """A track's readings as the reader gave them before it skipped text above a plate's
    place (seed 8502, vehicle VAH8156 of the development renders): the name once, with
    more confidence than the plate once, so fusion chose the name."""
    name = Sighting(0.0, "AM01", (805.0, 12.0, 84.0, 30.0), (805.0, 0.0, 475.0, 431.0))
    plate = Sighting(1.0, "VAH8156", (960.0, 560.0, 90.0, 28.0), (700.0, 80.0, 520.0, 560.0))
    verdict = plate_sightings([name, plate])
    assert verdict.kept == (1,)
    assert (verdict.stood_still, verdict.off_vehicle) == (0, 1)


def test_a_plate_lies_low_on_its_vehicle() -> None:
    vehicle = (100.0, 50.0, 200.0, 100.0)
    assert on_vehicle((180.0, 120.0, 40.0, 12.0), vehicle)  # on the bumper
    top_line = 50.0 + PLATE_LOWEST_TOP * 100.0
    assert on_vehicle((180.0, top_line - 6.0, 40.0, 12.0), vehicle)  # centre on the line
    assert not on_vehicle((180.0, 55.0, 40.0, 12.0), vehicle)  # route board, sign, clock
    assert not on_vehicle((20.0, 120.0, 40.0, 12.0), vehicle)  # beside the vehicle
    # Reaching out of the box by half its own height at most: a reader's margin...
    assert on_vehicle((266.0, 120.0, 40.0, 12.0), vehicle)
    # ...not text whose centre is on the vehicle but which runs on past it.
    assert not on_vehicle((270.0, 120.0, 60.0, 12.0), vehicle)
    assert not on_vehicle((180.0, 120.0, 40.0, 12.0), (100.0, 50.0, 0.0, 100.0))


@pytest.mark.parametrize(
    ("plate_boxes", "vehicle_boxes", "still"),
    [
        # the text kept its place while the vehicle moved 200 px: burned in
        (
            [(40.0, 10.0, 80.0, 20.0)] * 3,
            [(0.0, 100.0 * i, 300.0, 150.0) for i in range(3)],
            True,
        ),
        # the text moved with the vehicle: a plate
        (
            [(100.0, 120.0 + 100 * i, 80.0, 20.0) for i in range(3)],
            [(0.0, 100.0 * i, 300.0, 150.0) for i in range(3)],
            False,
        ),
        # neither moved (a stopped vehicle): nothing to tell, kept
        ([(100.0, 120.0, 80.0, 20.0)] * 3, [(0.0, 0.0, 300.0, 150.0)] * 3, False),
    ],
)
def test_text_that_stands_still_while_the_vehicle_moves_is_not_its_plate(
    plate_boxes: list[tuple[float, float, float, float]],
    vehicle_boxes: list[tuple[float, float, float, float]],
    still: bool,
) -> None:
    sightings = [
        Sighting(float(i), "LEB1234", plate, vehicle)
        for i, (plate, vehicle) in enumerate(zip(plate_boxes, vehicle_boxes, strict=True))
    ]
    assert still_sightings(sightings) == ({0, 1, 2} if still else set())
    # One frame alone never makes a text stand still.
    assert still_sightings(sightings[:1]) == set()


def test_a_clock_whose_digits_change_stands_still_where_it_is_read() -> None:
    """Readings are grouped by place, not text: the on-screen clock reads differently on
    every frame, in the same place, while the vehicle's plate moves with the vehicle."""
    sightings = [
        Sighting(
            float(i), f"D00{10 + i}", (230.0, 6.0, 56.0, 14.0), (224.0 - 16 * i, 0.0, 52.0, 20.0)
        )
        for i in range(2)
    ] + [Sighting(1.0, "PBR854", (225.0, 13.0, 20.0, 8.0), (208.0, 0.0, 52.0, 20.0))]
    assert still_sightings(sightings) == {0, 1}
    assert plate_sightings(sightings).kept == (2,)


def test_a_plate_read_where_a_sign_was_read_is_still_a_plate() -> None:
    """Place alone does not make text stand still: a vehicle's plate read once where a
    painted sign was read on an earlier frame (the vehicle has moved on since) is kept."""
    sign = (200.0, 150.0, 60.0, 14.0)
    sightings = [
        Sighting(0.0, "BUSLANE", sign, (150.0, 40.0, 160.0, 140.0)),
        Sighting(1.0, "LEB1234", (205.0, 151.0, 50.0, 12.0), (150.0, 80.0, 160.0, 140.0)),
    ]
    assert still_sightings(sightings) == set()
    assert plate_sightings(sightings).kept == (0, 1)
