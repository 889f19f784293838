"""Registrations and plate designs follow the Pakistani formats in DOMAIN.md."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from safecity.sim.plate_render import draw_plate, plate_images, weather_plate
from safecity.sim.plates import PLATE_LETTERS, PlateDesign, generate_plate, plate_size_m
from safecity.sim.scene import PlateLook
from safecity.sim.truth import VehicleClass

REGISTRATION = re.compile(r"^([A-Z]{2,4})([0-9]{2,4})$")
CLASSES: tuple[VehicleClass, ...] = ("car", "van", "bus", "truck", "rickshaw", "motorcycle")


def _plates(count: int = 3000) -> list[tuple[VehicleClass, PlateDesign]]:
    rng = np.random.default_rng(2024)
    return [
        (CLASSES[i % len(CLASSES)], generate_plate(rng, CLASSES[i % len(CLASSES)]))
        for i in range(count)
    ]


def test_the_alphabet_leaves_out_i_o_and_u() -> None:
    assert set(PLATE_LETTERS) == set("ABCDEFGHIJKLMNOPQRSTUVWXYZ") - {"I", "O", "U"}


def test_registrations_are_two_to_four_letters_then_two_to_four_digits() -> None:
    for _, design in _plates():
        match = REGISTRATION.match(design.registration)
        assert match, design.registration
        assert not set(match.group(1)) & {"I", "O", "U"}, design.registration
        assert (match.group(1), match.group(2)) == (design.letters, design.digits)


def test_every_province_category_and_layout_occurs() -> None:
    designs = [design for _, design in _plates()]
    assert {d.province for d in designs} == {"punjab", "sindh", "kp", "ict"}
    assert {d.category for d in designs} == {"private", "commercial", "government"}
    assert {(d.province, d.layout) for d in designs} >= {
        ("punjab", "one_line"),
        ("punjab", "two_line"),
        ("sindh", "one_line"),
        ("kp", "one_line"),
        ("ict", "one_line"),
    }


@pytest.mark.parametrize("vehicle_class", ["motorcycle", "rickshaw"])
def test_small_vehicles_carry_small_two_line_plates(vehicle_class: VehicleClass) -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        design = generate_plate(rng, vehicle_class)
        assert design.small
        assert design.layout == "two_line"
        assert plate_size_m(design)[0] < 0.3


def test_printed_lines_show_the_registration_province_word_and_year() -> None:
    for _, design in _plates():
        lines = design.lines()
        printed = "".join(lines).replace(" ", "").replace("-", "")
        assert design.letters in printed
        assert design.digits in printed
        assert design.word in lines
        if design.province == "punjab":
            assert lines[0] == "PUNJAB"
            assert design.year is not None
            assert 2007 <= design.year <= 2025
            assert f"{design.letters} {design.year % 100:02d}" in " ".join(lines)
        else:
            assert design.year is None
        if design.province == "sindh":
            assert lines[-1] == "SINDH"
            if design.layout == "one_line":
                assert lines[0] == f"{design.letters}-{design.digits}"
        if design.province == "ict":
            assert lines[0] == "ISLAMABAD"


def test_plate_colours_follow_the_province_and_category() -> None:
    for _, design in _plates():
        yellow = design.field[2] > 200 and design.field[0] < 60
        green = design.field[1] > design.field[0] and design.field[1] > design.field[2]
        if design.province == "sindh" and design.category == "private":
            assert yellow
        if design.province == "kp" and design.category == "commercial":
            assert yellow
        if design.category == "government" and design.province != "punjab":
            assert green
        if design.province in ("punjab", "ict") and design.category != "government":
            assert design.field[0] > 200
            assert design.field[1] > 200
            assert design.field[2] > 200
        if design.province == "punjab":
            assert design.band is not None


def test_a_drawn_plate_has_its_physical_aspect_and_dark_lettering() -> None:
    for _, design in _plates(60):
        image = draw_plate(design)
        width_m, height_m = plate_size_m(design)
        assert image.shape[1] / image.shape[0] == pytest.approx(width_m / height_m, rel=0.03)
        grey = image.mean(axis=2)
        # Lettering covers a real share of the plate and contrasts with the field.
        assert grey.std() > 40


def test_effects_change_the_plate_and_are_seeded() -> None:
    design = generate_plate(np.random.default_rng(1), "car")
    clean = draw_plate(design)
    look = PlateLook(dirt=0.8, wear=0.7, glare=0.9, motion_blur=0.0)
    first = weather_plate(clean, look, np.random.default_rng(5))
    again = weather_plate(clean, look, np.random.default_rng(5))
    assert np.array_equal(first, again)
    assert np.abs(first.astype(int) - clean.astype(int)).mean() > 10
    levels = plate_images(design, look, 5)
    assert levels[0].shape == clean.shape
    assert all(b.shape[1] < a.shape[1] for a, b in itertools.pairwise(levels))
