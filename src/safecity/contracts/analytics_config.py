"""A camera's analytics configuration, and the message that carries it to the camera's worker.

The control plane stores it per camera (``registry.analytics_service``) and,
after every committed change, publishes ``AnalyticsConfigChanged`` with the
whole configuration; a worker applies the newest version it has seen and
never opens the database. Coordinates are fractions of the frame (0 to 1,
origin top left), so zones drawn on a snapshot fit any resolution.
"""

from __future__ import annotations

from itertools import combinations
from typing import Annotated, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from safecity.contracts.base import Message
from safecity.contracts.ingest import CAMERA_ID_PATTERN

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,79}$"

Fraction = Annotated[float, Field(ge=0, le=1)]
Point = tuple[Fraction, Fraction]
MIN_POLYGON_AREA = 1e-6
"""Smallest polygon accepted, as a fraction of the frame's area."""
MOTION_CLASS = "motion"
"""The class of a moving region no detector explained (every object without a detector);
a rule may name it beside a detector's classes."""
CARRIED_OBJECT_CLASSES = ("backpack", "handbag", "suitcase", "bag", "luggage", "box", "parcel")
"""What an object_left rule watches unless it names classes: things people carry and may
leave behind (COCO's backpack, handbag and suitcase, and names other detectors use)."""
PEOPLE_AND_VEHICLE_CLASSES = frozenset(
    {
        "person",
        "pedestrian",
        "rider",
        "bicycle",
        "car",
        "van",
        "bus",
        "truck",
        "motorcycle",
        "motorbike",
        "rickshaw",
        "train",
    }
)
"""Classes an object_left rule refuses: a person standing or a car waiting at a red light
is not an object left behind (stopped_vehicle and loitering are the rules for them)."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ZoneConfig(_Strict):
    """A polygon zone drawn on the camera's picture."""

    name: str = Field(pattern=NAME_PATTERN, description="Unique name of the zone on this camera.")
    points: tuple[Point, ...] = Field(
        min_length=3, max_length=64, description="Corners as (x, y) fractions of the frame."
    )

    @model_validator(mode="after")
    def _has_area(self) -> Self:
        if len(set(self.points)) < 3:
            raise ValueError("a polygon needs at least 3 distinct corners")
        if _on_one_line(self.points):
            raise ValueError("a polygon's corners must not all lie on one line")
        if _self_crossing(self.points) is not None:
            # Refused where a configuration comes in (`outline_crossing`, in the
            # configuration service), not here: an outline stored before that check must
            # still load, so its camera keeps running and the zone can be mended. Before
            # the area, which a symmetric bow tie's halves cancel out.
            return self
        # Shoelace formula: corners all on one line enclose nothing.
        twice_area = sum(
            x1 * y2 - x2 * y1
            for (x1, y1), (x2, y2) in zip(
                self.points, self.points[1:] + self.points[:1], strict=True
            )
        )
        if abs(twice_area) / 2 < MIN_POLYGON_AREA:
            raise ValueError("a polygon's corners must not all lie on one line")
        return self


def _on_one_line(points: tuple[Point, ...]) -> bool:
    """Whether every corner lies on the line through the first and the one farthest from
    it (within the smallest area accepted)."""
    x0, y0 = points[0]
    far_x, far_y = max(points, key=lambda p: (p[0] - x0) ** 2 + (p[1] - y0) ** 2)
    return all(
        abs((far_x - x0) * (y - y0) - (far_y - y0) * (x - x0)) <= 2 * MIN_POLYGON_AREA
        for x, y in points
    )


def _cross(o: Point, a: Point, b: Point) -> float:
    """Twice the signed area of the triangle o, a, b (0: on one line)."""
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _on_segment(p: Point, a: Point, b: Point) -> bool:
    """Whether ``p`` lies on the segment a-b (within rounding)."""
    return (
        abs(_cross(a, b, p)) <= _TOUCHING
        and min(a[0], b[0]) - _TOUCHING <= p[0] <= max(a[0], b[0]) + _TOUCHING
        and min(a[1], b[1]) - _TOUCHING <= p[1] <= max(a[1], b[1]) + _TOUCHING
    )


def _segments_meet(a: Point, b: Point, c: Point, d: Point) -> bool:
    side_c, side_d = _cross(a, b, c), _cross(a, b, d)
    side_a, side_b = _cross(c, d, a), _cross(c, d, b)
    if side_c * side_d < 0 and side_a * side_b < 0:
        return True
    return any(
        _on_segment(p, *segment)
        for p, segment in ((c, (a, b)), (d, (a, b)), (a, (c, d)), (b, (c, d)))
    )


_TOUCHING = 1e-12
"""Cross products (frame fractions squared) this small count as on the line."""


def outline_crossing(points: tuple[Point, ...]) -> str | None:
    """Why a zone's outline is not a simple polygon (it crosses or touches itself), or
    None if it is one."""
    crossing = _self_crossing(points)
    if crossing is None:
        return None
    (a, b), (c, d) = crossing
    return (
        f"a polygon's outline must not cross or touch itself: its edge from corner {a} to "
        f"corner {b} meets its edge from corner {c} to corner {d}; list the corners in "
        "order around the zone (a bow tie is two zones)"
    )


def _self_crossing(
    points: tuple[Point, ...],
) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """Two edges of the closed outline that cross or touch, as pairs of corner numbers
    (from 1), or None for a simple polygon. A corner repeated at once (clicked twice)
    is one corner."""
    corners = [
        (number, point)
        for number, point in enumerate(points, start=1)
        if point != points[number - 2]  # the previous corner; the first's is the last
    ]
    edges = list(zip(corners, corners[1:] + corners[:1], strict=True))
    for (i, ((n1, a), (n2, b))), (j, ((n3, c), (n4, d))) in combinations(enumerate(edges), 2):
        if j == i + 1 or (i == 0 and j == len(edges) - 1):
            # Neighbours share a corner; they meet elsewhere only by doubling back.
            shared, far_first, far_second = (b, a, d) if j == i + 1 else (a, b, c)
            doubled = _on_segment(far_second, shared, far_first) or _on_segment(
                far_first, shared, far_second
            )
            if doubled:
                return (n1, n2), (n3, n4)
        elif _segments_meet(a, b, c, d):
            return (n1, n2), (n3, n4)
    return None


class LineConfig(_Strict):
    """A tripwire: crossing from its left to its right (walking start -> end) is 'in'."""

    name: str = Field(pattern=NAME_PATTERN, description="Unique name of the line on this camera.")
    start: Point = Field(description="First end point, (x, y) fractions of the frame.")
    end: Point = Field(description="Second end point, (x, y) fractions of the frame.")

    @model_validator(mode="after")
    def _two_points(self) -> Self:
        if self.start == self.end:
            raise ValueError("a line needs two different end points")
        return self


class _RuleBase(_Strict):
    name: str = Field(pattern=NAME_PATTERN, description="Unique name of the rule on this camera.")
    classes: tuple[str, ...] = Field(
        default=(),
        max_length=20,
        description="Detector classes the rule watches (e.g. person, car); empty means all.",
    )


class ZoneIntrusionRule(_RuleBase):
    kind: Literal["zone_intrusion"] = Field(description="An object enters the zone.")
    zone: str = Field(description="Name of the zone.")


class LoiteringRule(_RuleBase):
    kind: Literal["loitering"] = Field(description="An object stays in the zone too long.")
    zone: str = Field(description="Name of the zone.")
    seconds: float = Field(gt=0, le=3600, description="Dwell time that fires the rule.")


class CrowdRule(_RuleBase):
    kind: Literal["crowd"] = Field(description="Too many objects at once.")
    zone: str | None = Field(default=None, description="Zone counted; none counts the frame.")
    threshold: int = Field(ge=1, le=1000, description="Count that fires the rule.")
    hold_seconds: float = Field(
        default=1.0,
        ge=0,
        le=600,
        description="The count must stay at the threshold or above this long before the "
        "rule fires (a crowd on one frame is usually a detector's mistake); dips shorter "
        "than half of it (a person missed on a frame) do not start the wait again.",
    )
    rearm_seconds: float = Field(
        default=10.0,
        ge=0,
        le=3600,
        description="After firing, the count must stay below the threshold this long before "
        "the rule can fire again, so a count hovering at the threshold fires once.",
    )


class LineCrossingRule(_RuleBase):
    kind: Literal["line_crossing"] = Field(description="Objects crossing a line, by direction.")
    line: str = Field(description="Name of the line.")


class WrongWayRule(_RuleBase):
    kind: Literal["wrong_way"] = Field(description="Movement against the allowed direction.")
    zone: str | None = Field(default=None, description="Zone watched; none watches the frame.")
    line: str = Field(description="Line whose start -> end is the allowed direction.")
    tolerance_degrees: float = Field(
        default=60, gt=0, lt=90, description="How far from straight backwards still counts."
    )


class StoppedVehicleRule(_RuleBase):
    kind: Literal["stopped_vehicle"] = Field(description="A vehicle stops in a no-stopping zone.")
    zone: str = Field(description="Name of the no-stopping zone.")
    seconds: float = Field(gt=0, le=3600, description="Stopped time that fires the rule.")


class ObjectLeftRule(_RuleBase):
    kind: Literal["object_left"] = Field(description="An object is left behind.")
    classes: tuple[str, ...] = Field(
        default=(),
        max_length=20,
        description="Detector classes of carried objects the rule watches (e.g. suitcase); "
        "empty means the carried-object classes the detector has (backpack, handbag, "
        "suitcase, bag, luggage, box, parcel). People and vehicles are refused.",
    )
    zone: str | None = Field(default=None, description="Zone watched; none watches the frame.")
    seconds: float = Field(gt=0, le=3600, description="Time unmoved that fires the rule.")


RuleConfig = Annotated[
    ZoneIntrusionRule
    | LoiteringRule
    | CrowdRule
    | LineCrossingRule
    | WrongWayRule
    | StoppedVehicleRule
    | ObjectLeftRule,
    Field(discriminator="kind"),
]


class CameraAnalyticsConfig(_Strict):
    """Everything a camera's analytics worker needs to know besides the stream itself."""

    enabled: bool = Field(default=False, description="Run analytics on this camera.")
    analysed_fps: float = Field(
        default=5.0, gt=0, le=25, description="Frames per second analysed (the rest are skipped)."
    )
    detector: str | None = Field(
        default=None,
        max_length=80,
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        description="Name of a detector model the operator installed; none tracks motion only.",
    )
    detector_refresh_seconds: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description="With a detector: between its runs on new or unexplained motion, run it "
        "at least this often while anything moves or is tracked, and follow the tracks "
        "without it in between; 0 runs it on every analysed frame with motion.",
    )
    plates: bool = Field(default=False, description="Read number plates of vehicle tracks.")
    plate_single_read_floor: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="A vehicle's plate read that no second frame agrees with is published "
        "only if at least this confident (0 publishes every read). Raising it trades right "
        "reads for fewer false ones: on the simulator's renders 0.8 kept 31 of 31 and 36 of "
        "37 right reads and dropped 5 of 26 and 6 of 28 false ones (docs/BENCHMARKS.md).",
    )
    zones: tuple[ZoneConfig, ...] = Field(default=(), max_length=32, description="Zones.")
    ignore: tuple[ZoneConfig, ...] = Field(
        default=(),
        max_length=32,
        description="Ignore regions: polygons where motion is ignored, no object is formed "
        "and no plate is read (the camera's on-screen name and clock, a flag, a screen). "
        "Rules cannot name them.",
    )
    lines: tuple[LineConfig, ...] = Field(default=(), max_length=32, description="Tripwires.")
    rules: tuple[RuleConfig, ...] = Field(default=(), max_length=64, description="Rules.")

    @model_validator(mode="after")
    def _references(self) -> Self:
        for label, items in (
            ("zone", self.zones),
            ("ignore region", self.ignore),
            ("line", self.lines),
            ("rule", self.rules),
        ):
            names = [item.name for item in items]
            duplicates = sorted({name for name in names if names.count(name) > 1})
            if duplicates:
                raise ValueError(f"{label} names must be unique, repeated: {duplicates}")
        zones = {zone.name for zone in self.zones}
        lines = {line.name for line in self.lines}
        for rule in self.rules:
            zone = getattr(rule, "zone", None)
            if zone is not None and zone not in zones:
                raise ValueError(f"rule {rule.name!r} names zone {zone!r}, which is not defined")
            line = getattr(rule, "line", None)
            if line is not None and line not in lines:
                raise ValueError(f"rule {rule.name!r} names line {line!r}, which is not defined")
        return self


class AnalyticsConfigChanged(Message):
    """A camera's analytics configuration after a committed change (the whole of it)."""

    subject: ClassVar[str] = "analytics.config.changed"
    schema_version: ClassVar[int] = 1

    camera_id: str = Field(pattern=CAMERA_ID_PATTERN, description="Camera code.")
    version: int = Field(ge=1, description="Configuration version; workers ignore older ones.")
    config: CameraAnalyticsConfig = Field(description="The configuration now in force.")


class AnalyticsWorkerStats(Message):
    """A periodic report of one analytics worker: per-stage timings, drops, counts."""

    subject: ClassVar[str] = "analytics.worker.stats"
    schema_version: ClassVar[int] = 1

    camera_id: str = Field(pattern=CAMERA_ID_PATTERN, description="Camera code.")
    config_version: int = Field(ge=0, description="Configuration version in force (0: none).")
    frames_analysed: int = Field(ge=0, description="Frames analysed since the worker started.")
    frames_dropped: int = Field(
        ge=0, description="Decoded frames dropped (oldest first) because analysis fell behind."
    )
    analysed_fps: float = Field(
        ge=0, description="Frames analysed per second over the last 10 seconds."
    )
    stage_ms: dict[str, float] = Field(
        default_factory=dict,
        description="Mean milliseconds per analysed frame of each stage (decode: the "
        "reader's decoding of every frame since the last analysed one; motion, detect, "
        "track, rules, plates: the hand-off to the plate reader), recent window; plate_ocr: "
        "mean milliseconds of the group's plate reader per job of this camera.",
    )
    events: int = Field(ge=0, description="Rule events published since start.")
    plate_reads: int = Field(ge=0, description="Plate reads published since start.")
    plate_jobs_dropped: int = Field(
        default=0,
        ge=0,
        description="Plate reads of this camera dropped unread (oldest first) because the "
        "worker's shared plate reader was behind; the track is tried again on later frames.",
    )
    plate_jobs_answered: int = Field(
        default=0, ge=0, description="Plate reads of this camera the shared reader ran."
    )
    plate_frames_skipped: dict[str, int] = Field(
        default_factory=dict,
        description="Frames of vehicle tracks not offered to the plate reader, by reason: "
        "small (box too narrow for a plate), settled (the track already has a confident "
        "read), capped (the track was read as often as allowed), superseded (a waiting read "
        "replaced by a better frame of its track); and readings or tracks not published: "
        "plate_at_edge (the plate touched the picture's side), unconfirmed (a track the "
        "tracker never confirmed), unsure_alone (one frame's read under the camera's "
        "plate_single_read_floor), repeat (a text the camera published for a track that "
        "ended moments before: the same vehicle tracked again).",
    )
    detector_runs: dict[str, int] = Field(
        default_factory=dict,
        description="Detector runs since start, by reason: new_motion (motion no live track "
        "or dismissed region explains), lost_lock (a moving track could not be followed), "
        "refresh (the periodic check), confirm (the frame after a run that began a track, "
        "so a vehicle first found standing still is confirmed), motion (every frame with "
        "motion: refresh 0), start (the frames the motion gate learns its first background "
        "on).",
    )
    detector_frames_skipped: int = Field(
        default=0,
        ge=0,
        description="Frames with motion or live tracks on which the detector did not run "
        "(the tracks were followed without it).",
    )
    detector: str | None = Field(default=None, max_length=120, description="Detector in use.")
    detector_error: str | None = Field(
        default=None, max_length=300, description="Why the configured detector is not in use."
    )
    frames_rejected: int = Field(
        default=0,
        ge=0,
        description="Frames not analysed since start: of an unexpected shape or size, or whose "
        "analysis failed (last_error says why); the camera goes on with the next frame.",
    )
    plate_reads_rejected: int = Field(
        default=0,
        ge=0,
        description="Fused plate reads dropped as garbage (text that is no registration: "
        "lower case, symbols, too long) instead of being published.",
    )
    last_error: str | None = Field(
        default=None,
        max_length=200,
        description="The camera's last frame or detector error, shortened, with every URL "
        "replaced by <url> (never a stream URL or its credentials).",
    )
    messages_lost: int = Field(
        default=0,
        ge=0,
        description="Messages of this camera (rule events, plate reads, these reports) the "
        "worker process lost: its outgoing queue was full, or the bus refused them after "
        "retries.",
    )
