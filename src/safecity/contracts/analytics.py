"""Analytics facts: rule events and number-plate reads, published by per-camera workers.

A worker owns its cameras, decodes and analyses their frames, writes the
snapshot and crops into the media folder and publishes one of these. The
control plane (``events``) stores them, matches plates against hotlists and
decides what becomes an operator alert. Frames never travel on the bus.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from safecity.contracts.base import Message
from safecity.contracts.ingest import CAMERA_ID_PATTERN
from safecity.contracts.media import MediaPath

RuleKind = Literal[
    "zone_intrusion",
    "loitering",
    "crowd",
    "line_crossing",
    "wrong_way",
    "stopped_vehicle",
    "object_left",
]


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


class Box(BaseModel):
    """An axis-aligned box in pixels of the analysed frame."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    x: int = Field(ge=0, description="Left edge in pixels.")
    y: int = Field(ge=0, description="Top edge in pixels.")
    w: int = Field(ge=1, description="Width in pixels.")
    h: int = Field(ge=1, description="Height in pixels.")


class RuleEvent(Message):
    """A rule fired on one camera: who (track), what (rule), where (box) and when."""

    subject: ClassVar[str] = "analytics.event"
    schema_version: ClassVar[int] = 1
    # One subject per camera: an events-mode recorder receives only its own camera's.
    routing_field: ClassVar[str | None] = "camera_id"

    camera_id: str = Field(pattern=CAMERA_ID_PATTERN, description="Camera code.")
    kind: RuleKind = Field(description="Which kind of rule fired.")
    rule: str = Field(
        min_length=1, max_length=80, description="Name of the configured rule (zone or line)."
    )
    at: AwareDatetime = Field(description="When the rule fired (UTC, camera clock corrected).")
    track_id: int | None = Field(default=None, ge=0, description="Tracker id of the object.")
    object_class: str | None = Field(
        default=None, max_length=40, description="Detector class, or 'motion' without a model."
    )
    box: Box | None = Field(default=None, description="The object's box when the rule fired.")
    frame_width: int = Field(ge=1, description="Width of the analysed frame in pixels.")
    frame_height: int = Field(ge=1, description="Height of the analysed frame in pixels.")
    value: float | None = Field(
        default=None,
        description="The measured quantity: dwell seconds, crowd count, crossings so far.",
    )
    direction: str | None = Field(
        default=None, max_length=20, description="Line crossings: 'in' or 'out'."
    )
    snapshot: MediaPath | None = Field(default=None, description="JPEG of the frame.")
    clip_start: AwareDatetime = Field(description="Start of the footage around the event (UTC).")
    clip_end: AwareDatetime = Field(description="End of the footage around the event (UTC).")

    @field_validator("at", "clip_start", "clip_end")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return _utc(value)

    @model_validator(mode="after")
    def _clip_in_order(self) -> Self:
        if self.clip_end < self.clip_start:
            raise ValueError("clip_end is before clip_start")
        return self


class PlateRead(Message):
    """One vehicle's number plate, read once per track by fusing several frames."""

    subject: ClassVar[str] = "analytics.plate.read"
    schema_version: ClassVar[int] = 1

    camera_id: str = Field(pattern=CAMERA_ID_PATTERN, description="Camera code.")
    at: AwareDatetime = Field(description="Time of the best frame of the track (UTC).")
    first_seen: AwareDatetime = Field(description="First frame of the plate in the track (UTC).")
    last_seen: AwareDatetime = Field(description="Last frame of the plate in the track (UTC).")
    track_id: int | None = Field(default=None, ge=0, description="Tracker id of the vehicle.")
    text: str = Field(
        pattern=r"^[A-Z0-9]{2,12}$",
        description="Registration number: upper-case letters and digits only, no province "
        "words or year tags; a two-line plate is the upper line then the lower line.",
    )
    confidence: float = Field(ge=0, le=1, description="Fused confidence of the whole text.")
    rule: str = Field(
        default="generic",
        min_length=1,
        max_length=40,
        description="Name of the plate-format rule the text matched ('generic' if none).",
    )
    lines: tuple[str, ...] = Field(
        default=(), max_length=4, description="The plate's lines as printed, when known."
    )
    frames: int = Field(ge=1, description="How many frames' readings were fused.")
    box: Box | None = Field(default=None, description="Plate box in the best frame.")
    vehicle_class: str | None = Field(default=None, max_length=40, description="Detector class.")
    plate_crop: MediaPath | None = Field(default=None, description="JPEG of the plate.")
    vehicle_image: MediaPath | None = Field(default=None, description="JPEG of the vehicle.")

    @field_validator("at", "first_seen", "last_seen")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return _utc(value)

    @model_validator(mode="after")
    def _seen_in_order(self) -> Self:
        if self.last_seen < self.first_seen:
            raise ValueError("last_seen is before first_seen")
        return self
