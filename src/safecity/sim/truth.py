"""The ground-truth sidecar (``ground_truth.json``) of a simulated city render.

This is the interface other packages test against (issue 3, "Interfaces others
rely on"): cameras with positions, and vehicles with their registration, the
lines printed on the plate, class, colour, speed and every appearance on every
camera as 0-based frame numbers and seconds from the start of the render.
Frame ``n`` of every camera is shown at ``n / fps`` seconds and carries the
number ``n`` in its burned-in frame counter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

Lighting = Literal["day", "dusk", "night"]
CameraView = Literal["overview", "anpr"]
SignalState = Literal["green", "amber", "red"]
VehicleClass = Literal["car", "van", "bus", "truck", "rickshaw", "motorcycle"]
Province = Literal["punjab", "sindh", "kp", "ict"]
PlateCategory = Literal["private", "commercial", "government"]
PlateLayout = Literal["one_line", "two_line"]


class _Truth(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, serialize_by_alias=True
    )


class Box(_Truth):
    """An axis-aligned pixel rectangle, clipped to the frame."""

    x: int = Field(description="left column, pixels")
    y: int = Field(description="top row, pixels")
    w: int = Field(description="width, pixels")
    h: int = Field(description="height, pixels")


class GeoPoint(_Truth):
    corridor_m: float = Field(description="distance along the corridor from its origin, metres")
    lateral_m: float = Field(description="offset across the road from the median edge, metres")
    height_m: float = Field(description="height above the road, metres")
    latitude: float = Field(description="WGS84 latitude of the pole")
    longitude: float = Field(description="WGS84 longitude of the pole")


class CameraTruth(_Truth):
    id: str = Field(description="camera id; the video is <id>.mp4")
    name: str = Field(description="human-readable site name")
    file: str = Field(description="video file name beside ground_truth.json")
    position: GeoPoint = Field(description="where the camera is mounted")
    facing: Literal["oncoming"] = Field(
        description="looks back along the corridor at traffic travelling in the lane direction"
    )
    view: CameraView = Field(description="overview of the junction, or zoomed for ANPR")
    tilt_deg: float = Field(description="downward tilt of the optical axis, degrees")
    hfov_deg: float = Field(description="horizontal field of view, degrees")
    signal_id: str | None = Field(description="traffic signal at this camera, if a junction")
    stop_line_m: float | None = Field(description="corridor position of the stop line, metres")


class Lane(_Truth):
    number: int = Field(description="1 is the kerb lane")
    direction: Literal["increasing"] = Field(
        description="legal direction of travel: towards increasing corridor_m"
    )
    centre_m: float = Field(description="lateral position of the lane centre, metres")


class Road(_Truth):
    lane_width_m: float = Field(description="width of one lane, metres")
    lanes: list[Lane] = Field(description="lanes from the kerb to the median")


class Phase(_Truth):
    state: SignalState = Field(description="signal aspect shown to traffic")
    start_s: float = Field(description="phase start, seconds from the render start")
    end_s: float = Field(description="phase end (exclusive), seconds from the render start")


class SignalTruth(_Truth):
    id: str = Field(description="signal id")
    camera_id: str = Field(description="camera watching this junction")
    stop_line_m: float = Field(description="corridor position of the stop line, metres")
    green_s: float = Field(description="green time per cycle, seconds")
    amber_s: float = Field(description="amber time per cycle, seconds")
    red_s: float = Field(description="red time per cycle, seconds")
    phases: list[Phase] = Field(description="the phases covering the whole render, in order")


class LightingPeriod(_Truth):
    condition: Lighting = Field(description="day, dusk or night")
    start_s: float = Field(description="period start, seconds")
    end_s: float = Field(description="period end (exclusive), seconds")


class FrameCounterTruth(_Truth):
    corner: Literal["top_left"] = Field(description="where the counter is burned in")
    data_bits: int = Field(description="bits of the frame number, most significant first")
    block_px: float = Field(description="side of one block in pixels (height / blocks_per_height)")
    blocks_per_height: int = Field(description="frame height divided by the block side")
    pattern: str = Field(
        description="block sequence left to right: guard 101, data bits, even parity, guard 01"
    )
    value: Literal["frame_index"] = Field(description="the counter equals the 0-based frame index")


class PlateSample(_Truth):
    frame: int = Field(description="0-based frame index")
    time_s: float = Field(description="frame time, seconds")
    vehicle_box: Box = Field(description="the vehicle body in the frame")
    plate_box: Box | None = Field(description="the whole plate, or null when it is off-frame")
    plate_height_px: float | None = Field(description="plate height in pixels (unclipped)")
    plate_occluded: bool = Field(description="a nearer vehicle or pedestrian overlaps the plate")
    # Optional so files written before it load; code older than it refuses files that
    # carry it (unknown fields are refused): re-render a bench's cached clips before
    # comparing with an older checkout.
    smear_px: int | None = Field(
        default=None,
        description="length of the motion blur drawn over the vehicle and its plate, pixels "
        "(0: none); null in files written before it was recorded (2026-12-07), which stay "
        "readable",
    )


class Appearance(_Truth):
    camera_id: str = Field(description="camera id")
    first_frame: int = Field(description="first frame showing any part of the vehicle, 0-based")
    last_frame: int = Field(description="last frame showing any part of the vehicle, 0-based")
    first_time_s: float = Field(description="first_frame / fps")
    last_time_s: float = Field(description="last_frame / fps")
    passes_camera_s: float = Field(
        description="when the vehicle's leading end passes the pole (may be outside the render)"
    )
    stop_line_s: float | None = Field(
        description="when the leading end crosses the stop line, if this camera has one"
    )
    lighting: Lighting = Field(description="lighting at the middle of the appearance")
    plate_height_px: float | None = Field(description="plate height at the middle plate sample")
    samples: list[PlateSample] = Field(
        description="boxes at the first, quarter, middle, three-quarter and last frame "
        "where the whole plate is in the frame"
    )


class PlateEffects(_Truth):
    dirt: float = Field(description="0 clean .. 1 heavily soiled")
    wear: float = Field(description="0 new .. 1 faded and scratched")
    glare: float = Field(description="0 none .. 1 strong specular highlight")
    motion_blur: float = Field(description="shutter fraction of a frame interval, 0 .. 1")


class VehicleTruth(_Truth):
    id: str = Field(description="vehicle id, in order of first appearance")
    plate: str = Field(description="registration only: upper-case letters then digits")
    plate_lines: list[str] = Field(
        description="text printed on the plate, top to bottom (a side-band word comes first); "
        "items on one row are separated by a space"
    )
    province: Province = Field(description="issuing province or territory")
    plate_category: PlateCategory = Field(description="private, commercial or government")
    plate_layout: PlateLayout = Field(description="one or two lines of registration")
    plate_style: str = Field(description="province and category, e.g. kp_commercial")
    plate_year: int | None = Field(description="registration year printed on the plate")
    plate_effects: PlateEffects = Field(description="how the plate is degraded")
    vehicle_class: VehicleClass = Field(alias="class", description="vehicle class")
    colour: str = Field(description="main body colour")
    speed_kmh: float = Field(description="constant speed, km/h")
    lane: int = Field(description="lane number (1 = kerb lane)")
    wrong_way: bool = Field(description="travels against the lane direction")
    ran_red_light: bool = Field(description="crosses a stop line while its signal is red")
    headlights: bool = Field(description="uses headlights at dusk and night")
    lighting: Lighting = Field(description="lighting at the vehicle's first appearance")
    length_m: float = Field(description="vehicle length, metres")
    appearances: list[Appearance] = Field(description="appearances in order of time")


class PedestrianTruth(_Truth):
    id: str = Field(description="pedestrian id")
    camera_id: str = Field(description="camera that sees the crossing")
    corridor_m: float = Field(description="where they cross, metres along the corridor")
    start_s: float = Field(description="steps off the kerb, seconds")
    end_s: float = Field(description="reaches the other side, seconds")
    speed_m_s: float = Field(description="walking speed, m/s")
    first_frame: int | None = Field(description="first frame showing them, if any")
    last_frame: int | None = Field(description="last frame showing them, if any")


class GroundTruth(_Truth):
    schema_version: Literal[1] = Field(description="version of this file's structure")
    seed: int = Field(description="seed of the render")
    duration_s: float = Field(description="requested duration, seconds")
    fps: int = Field(description="frames per second of every camera")
    frame_count: int = Field(description="frames in every video")
    width: int = Field(description="frame width, pixels")
    height: int = Field(description="frame height, pixels")
    keyframe_interval: int = Field(description="frames between key frames")
    start_utc: str = Field(description="wall-clock time of frame 0 shown in the overlay, UTC")
    frame_counter: FrameCounterTruth = Field(description="the burned-in frame counter")
    road: Road = Field(description="the corridor's carriageway")
    lighting: list[LightingPeriod] = Field(description="lighting timeline")
    cameras: list[CameraTruth] = Field(description="cameras in corridor order")
    signals: list[SignalTruth] = Field(description="traffic signals")
    vehicles: list[VehicleTruth] = Field(description="vehicles seen by at least one camera")
    pedestrians: list[PedestrianTruth] = Field(description="pedestrians crossing at junctions")


def load_ground_truth(path: Path) -> GroundTruth:
    """Read and validate a ``ground_truth.json``."""
    return GroundTruth.model_validate_json(path.read_text(encoding="utf-8"))


def dump_ground_truth(truth: GroundTruth, path: Path) -> None:
    path.write_text(truth.model_dump_json(indent=1, by_alias=True) + "\n", encoding="utf-8")
