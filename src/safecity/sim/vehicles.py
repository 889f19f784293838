"""Vehicle classes as the cameras see them: boxes, end details, colours and speeds (pure).

A vehicle is a few boxes in its own frame: ``u`` metres from its rear towards
its front, ``v`` metres across from its centre line, ``w`` metres up. The
cameras only ever see the end facing increasing corridor position (the front of
a vehicle in its lane, the rear of one driving the wrong way), the roof and one
side, so only that end carries details.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from safecity.sim.plates import Colour
from safecity.sim.truth import VehicleClass

Shade = Literal["body", "glass", "dark", "canopy", "cargo", "crown", "rider", "skin"]
DetailKind = Literal["glass", "headlight", "taillight", "grille", "board", "bumper"]


@dataclass(frozen=True)
class Part:
    rear: float
    front: float
    half_width: float
    bottom: float
    top: float
    shade: Shade


@dataclass(frozen=True)
class Detail:
    """A rectangle on the visible end of part ``part``: lateral ``v0..v1``, height ``w0..w1``."""

    part: int
    v0: float
    v1: float
    w0: float
    w1: float
    kind: DetailKind


@dataclass(frozen=True)
class VehicleModel:
    vehicle_class: VehicleClass
    length: float
    parts: tuple[Part, ...]
    order_front: tuple[int, ...]
    """Drawing order (farthest first) when the front faces the camera."""
    order_rear: tuple[int, ...]
    front_details: tuple[Detail, ...]
    rear_details: tuple[Detail, ...]
    plate_part: int
    plate_height: float
    """Height of the plate centre above the road, metres."""
    speed_kmh: tuple[float, float]
    colours: tuple[str, ...]
    share: float
    """Fraction of traffic of this class."""


def _lights(part: int, half: float, w0: float, w1: float, size: float) -> tuple[Detail, ...]:
    return tuple(
        Detail(part, s * half - size / 2, s * half + size / 2, w0, w1, "headlight") for s in (-1, 1)
    )


def _tails(part: int, half: float, w0: float, w1: float, size: float) -> tuple[Detail, ...]:
    return tuple(
        Detail(part, s * half - size / 2, s * half + size / 2, w0, w1, "taillight") for s in (-1, 1)
    )


CAR = VehicleModel(
    vehicle_class="car",
    length=4.2,
    parts=(Part(0.0, 4.2, 0.85, 0.25, 0.85, "body"), Part(1.0, 3.1, 0.75, 0.85, 1.45, "glass")),
    order_front=(0, 1),
    order_rear=(0, 1),
    front_details=(
        Detail(0, -0.85, 0.85, 0.25, 0.36, "bumper"),
        Detail(0, -0.35, 0.35, 0.58, 0.74, "grille"),
        *_lights(0, 0.62, 0.6, 0.74, 0.3),
    ),
    rear_details=(Detail(0, -0.85, 0.85, 0.25, 0.36, "bumper"), *_tails(0, 0.66, 0.6, 0.76, 0.26)),
    plate_part=0,
    plate_height=0.45,
    speed_kmh=(35.0, 70.0),
    colours=("white", "silver", "black", "grey", "red", "blue", "maroon", "beige"),
    share=0.42,
)

VAN = VehicleModel(
    vehicle_class="van",
    length=4.5,
    parts=(Part(0.0, 4.5, 0.85, 0.3, 1.95, "body"),),
    order_front=(0,),
    order_rear=(0,),
    front_details=(
        Detail(0, -0.8, 0.8, 1.15, 1.8, "glass"),
        Detail(0, -0.85, 0.85, 0.3, 0.42, "bumper"),
        *_lights(0, 0.62, 0.72, 0.88, 0.28),
    ),
    rear_details=(Detail(0, -0.7, 0.7, 1.2, 1.75, "glass"), *_tails(0, 0.7, 0.7, 0.95, 0.2)),
    plate_part=0,
    plate_height=0.52,
    speed_kmh=(35.0, 60.0),
    colours=("white", "silver", "grey", "blue"),
    share=0.1,
)

BUS = VehicleModel(
    vehicle_class="bus",
    length=11.0,
    parts=(Part(0.0, 11.0, 1.25, 0.35, 3.2, "body"),),
    order_front=(0,),
    order_rear=(0,),
    front_details=(
        Detail(0, -1.15, 1.15, 1.3, 2.75, "glass"),
        Detail(0, -0.9, 0.9, 2.85, 3.1, "board"),
        Detail(0, -1.25, 1.25, 0.35, 0.5, "bumper"),
        *_lights(0, 0.95, 0.75, 0.92, 0.36),
    ),
    rear_details=(Detail(0, -1.0, 1.0, 2.0, 2.9, "glass"), *_tails(0, 1.05, 0.8, 1.2, 0.22)),
    plate_part=0,
    plate_height=0.62,
    speed_kmh=(30.0, 50.0),
    colours=("white", "blue", "red", "green", "yellow"),
    share=0.06,
)

# Bedford-style truck: cab at the front with a decorated crown ("taj") above it,
# a high-sided cargo body behind.
TRUCK = VehicleModel(
    vehicle_class="truck",
    length=9.0,
    parts=(
        Part(0.0, 6.7, 1.2, 0.9, 3.0, "cargo"),
        Part(6.8, 9.0, 1.15, 0.5, 2.6, "body"),
        Part(8.5, 9.0, 1.2, 2.6, 3.7, "crown"),
    ),
    order_front=(0, 1, 2),
    order_rear=(1, 2, 0),
    front_details=(
        Detail(1, -1.0, 1.0, 1.65, 2.4, "glass"),
        Detail(1, -0.6, 0.6, 0.9, 1.5, "grille"),
        Detail(1, -1.15, 1.15, 0.5, 0.66, "bumper"),
        *_lights(1, 0.85, 1.0, 1.2, 0.3),
    ),
    rear_details=(*_tails(0, 1.0, 0.95, 1.15, 0.2),),
    plate_part=1,
    plate_height=0.82,
    speed_kmh=(25.0, 45.0),
    colours=("yellow", "red", "green", "orange", "blue"),
    share=0.1,
)

RICKSHAW = VehicleModel(
    vehicle_class="rickshaw",
    length=2.7,
    parts=(Part(0.0, 2.7, 0.65, 0.25, 1.0, "body"), Part(0.2, 2.2, 0.65, 1.0, 1.75, "canopy")),
    order_front=(0, 1),
    order_rear=(0, 1),
    front_details=(
        Detail(1, -0.55, 0.55, 1.05, 1.6, "glass"),
        Detail(0, -0.1, 0.1, 0.78, 0.92, "headlight"),
    ),
    rear_details=(*_tails(0, 0.5, 0.6, 0.72, 0.14),),
    plate_part=0,
    plate_height=0.45,
    speed_kmh=(20.0, 40.0),
    colours=("green", "yellow", "blue", "black"),
    share=0.14,
)

MOTORCYCLE = VehicleModel(
    vehicle_class="motorcycle",
    length=1.9,
    parts=(
        Part(0.0, 1.9, 0.2, 0.3, 0.9, "body"),
        Part(0.55, 1.05, 0.24, 0.9, 1.5, "rider"),
        Part(0.65, 0.95, 0.13, 1.5, 1.76, "skin"),
    ),
    order_front=(0, 1, 2),
    order_rear=(0, 1, 2),
    front_details=(Detail(0, -0.09, 0.09, 0.86, 0.98, "headlight"),),
    rear_details=(Detail(0, -0.07, 0.07, 0.8, 0.9, "taillight"),),
    plate_part=0,
    plate_height=0.6,
    speed_kmh=(25.0, 55.0),
    colours=("red", "black", "blue", "silver"),
    share=0.18,
)

MODELS: dict[VehicleClass, VehicleModel] = {
    model.vehicle_class: model for model in (CAR, VAN, BUS, TRUCK, RICKSHAW, MOTORCYCLE)
}

BODY_COLOURS: dict[str, Colour] = {
    "white": (235, 235, 232),
    "silver": (190, 188, 184),
    "grey": (110, 110, 108),
    "black": (35, 35, 38),
    "red": (40, 40, 190),
    "maroon": (40, 30, 110),
    "blue": (170, 90, 30),
    "green": (60, 150, 40),
    "yellow": (30, 200, 235),
    "orange": (20, 130, 240),
    "beige": (160, 195, 215),
}

# Truck-art palette: the bright enamel colours of Pakistani decorated trucks.
TRUCK_ART: tuple[Colour, ...] = (
    (30, 30, 220),
    (20, 200, 250),
    (60, 180, 30),
    (200, 120, 20),
    (180, 40, 180),
    (20, 140, 250),
    (240, 240, 240),
)

CLOTHES: tuple[Colour, ...] = (
    (220, 220, 215),
    (150, 130, 90),
    (70, 90, 140),
    (40, 40, 40),
    (120, 160, 120),
    (90, 60, 150),
    (180, 150, 120),
)

SKIN: Colour = (95, 135, 180)
