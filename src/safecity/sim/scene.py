"""The synthetic city: a corridor with cameras, signals, vehicles and pedestrians (pure).

Everything here follows from the seed through ``numpy.random.Generator``s; no
image is drawn. Vehicles keep their lane and a constant speed, so the time a
vehicle takes between two cameras is exactly their distance over its speed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from safecity.sim.geometry import CameraRig
from safecity.sim.plates import Colour, PlateDesign
from safecity.sim.signals import LightingTimeline, SignalPlan
from safecity.sim.truth import CameraView, Lighting
from safecity.sim.vehicles import VehicleModel

LANE_WIDTH_M = 3.5
LANE_COUNT = 3
ROAD_WIDTH_M = LANE_WIDTH_M * LANE_COUNT
FIRST_CAMERA_M = 200.0
STOP_LINE_AHEAD_M = 32.0
"""Stop lines lie this far ahead of a junction camera's pole, mid-frame."""
ZEBRA_M = (1.5, 5.5)
"""Zebra crossing, metres past the stop line."""
CORRIDOR_ORIGIN = (34.0085, 71.5249)
"""WGS84 point at corridor_m = 0 (Peshawar); the corridor runs east-south-east."""
CORRIDOR_BEARING_DEG = 100.0


def keyframe_interval(fps: int) -> int:
    """Frames between key frames: about two seconds, so recorders can cut clean segments."""
    return max(1, round(2 * fps))


def lane_centre(lane: int) -> float:
    """Lateral position of lane ``lane`` (1 = kerb lane) from the median edge."""
    return ROAD_WIDTH_M - (lane - 0.5) * LANE_WIDTH_M


@dataclass(frozen=True)
class CameraSite:
    id: str
    name: str
    rig: CameraRig
    signal_id: str | None
    signal: SignalPlan | None
    stop_line_m: float | None
    scenery_seed: int
    """Seed of the buildings, shops and trees drawn around this camera."""


@dataclass(frozen=True)
class PlateLook:
    """Per-vehicle plate degradation, each 0..1 (see ``truth.PlateEffects``)."""

    dirt: float
    wear: float
    glare: float
    motion_blur: float


@dataclass(frozen=True)
class Wait:
    """A halt: the leading end stands at ``position_m`` from ``from_s`` until ``until_s``."""

    position_m: float
    from_s: float
    until_s: float


@dataclass(frozen=True)
class Vehicle:
    """One vehicle's identity, look and motion: a constant speed, with halts.

    ``direction`` is +1 in the lane direction and -1 for a wrong-way vehicle. The
    leading end is at ``anchor_m`` at time ``anchor_s``; ``waits`` (in time order, all
    after ``anchor_s``) are the halts at red lights, stopping and starting at once.
    Motion stays piecewise linear, so positions and times invert exactly.
    """

    key: int
    model: VehicleModel
    plate: PlateDesign
    colour: str
    body: Colour
    art: tuple[Colour, ...]
    speed_m_s: float
    lane: int
    lateral_m: float
    direction: int
    anchor_m: float
    anchor_s: float
    ran_red_light: bool
    headlights: bool
    look: PlateLook
    texture_seed: int
    waits: tuple[Wait, ...] = ()

    @property
    def speed_kmh(self) -> float:
        return self.speed_m_s * 3.6

    def _moving_time(self, time_s: float) -> float:
        """Seconds spent moving between ``anchor_s`` and ``time_s``."""
        moving = time_s - self.anchor_s
        for wait in self.waits:
            if time_s >= wait.until_s:
                moving -= wait.until_s - wait.from_s
            elif time_s > wait.from_s:
                moving -= time_s - wait.from_s
        return moving

    def front_at(self, time_s: float) -> float:
        return self.anchor_m + self.direction * self.speed_m_s * self._moving_time(time_s)

    def time_front_at(self, position_m: float) -> float:
        """When the leading end first reaches ``position_m``."""
        time_s = self.anchor_s + (position_m - self.anchor_m) / (self.direction * self.speed_m_s)
        for wait in self.waits:
            if time_s > wait.from_s:
                time_s += wait.until_s - wait.from_s
        return time_s

    def standing_at(self, time_s: float) -> bool:
        return any(wait.from_s <= time_s < wait.until_s for wait in self.waits)

    def span_at(self, time_s: float) -> tuple[float, float]:
        """Corridor interval the body covers at ``time_s``."""
        front = self.front_at(time_s)
        if self.direction > 0:
            return front - self.model.length, front
        return front, front + self.model.length

    def interval_in(self, low_m: float, high_m: float) -> tuple[float, float]:
        """Times between which the body overlaps the corridor interval ``(low_m, high_m)``."""
        length = self.model.length
        if self.direction > 0:
            return self.time_front_at(low_m), self.time_front_at(high_m + length)
        return self.time_front_at(high_m), self.time_front_at(low_m - length)


@dataclass(frozen=True)
class Pedestrian:
    key: int
    camera: int
    """Index of the camera whose zebra crossing they use."""
    crossing_m: float
    from_lateral_m: float
    to_lateral_m: float
    start_s: float
    speed_m_s: float
    clothes: Colour
    height_m: float

    @property
    def end_s(self) -> float:
        return self.start_s + abs(self.to_lateral_m - self.from_lateral_m) / self.speed_m_s

    def lateral_at(self, time_s: float) -> float:
        walked = min(max(time_s - self.start_s, 0.0), self.end_s - self.start_s) * self.speed_m_s
        step = math.copysign(walked, self.to_lateral_m - self.from_lateral_m)
        return self.from_lateral_m + step


@dataclass(frozen=True)
class City:
    seed: int
    duration_s: float
    fps: int
    width: int
    height: int
    cameras: tuple[CameraSite, ...]
    vehicles: tuple[Vehicle, ...]
    pedestrians: tuple[Pedestrian, ...]
    lighting: LightingTimeline
    view: CameraView
    start_utc: str

    @property
    def frame_count(self) -> int:
        return max(1, round(self.duration_s * self.fps))


@dataclass(frozen=True)
class CityOptions:
    """What a render asks of the city; the rest comes from the seed."""

    seed: int
    duration_s: float
    cameras: int = 4
    width: int = 1280
    height: int = 720
    fps: int = 15
    vehicles_per_minute: float = 60.0
    lighting: Lighting | None = None
    """One condition throughout, or None for day, dusk then night."""
    view: CameraView = "overview"
    start_utc: str = "2026-03-14T12:30:00Z"
