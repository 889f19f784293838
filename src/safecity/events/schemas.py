"""API shapes for plate reads, rule events and hotlist entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from safecity.contracts.analytics import Box
from safecity.events.models import HotlistCategory
from safecity.events.plates import is_plate_text, normalise


def _plate(value: str) -> str:
    text = normalise(value)
    if not is_plate_text(text):
        raise ValueError("a plate is 2 to 12 letters and digits (spaces and '-' are ignored)")
    return text


class PlateReadPublic(BaseModel):
    id: int = Field(description="Id of the stored read.")
    camera_id: int = Field(description="Id of the camera that read it.")
    camera_code: str = Field(description="Code of that camera.")
    district: str = Field(description="District slug of that camera.")
    at: datetime = Field(description="Time of the best frame (UTC).")
    first_seen: datetime = Field(description="First frame with the plate (UTC).")
    last_seen: datetime = Field(description="Last frame with the plate (UTC).")
    text: str = Field(description="The plate as read.")
    confidence: float = Field(description="Fused confidence, 0 to 1.")
    rule: str = Field(description="Plate-format rule the text matched.")
    vehicle_class: str | None = Field(description="Detector class of the vehicle.")
    hit: bool = Field(description="Whether it matched a hotlist entry.")
    hotlist_hits: list[int] = Field(description="Ids of the hotlist entries it matched.")
    crop_url: str | None = Field(description="The plate crop (JPEG), if the reader kept one.")
    vehicle_url: str | None = Field(description="The vehicle image (JPEG), if kept.")
    playback_url: str = Field(description="The recording around the read.")


class RuleEventPublic(BaseModel):
    id: int = Field(description="Id of the stored event.")
    camera_id: int = Field(description="Id of the camera.")
    camera_code: str = Field(description="Code of the camera.")
    district: str = Field(description="District slug of the camera.")
    kind: str = Field(description="Kind of rule that fired.")
    rule: str = Field(description="Name of the configured zone or line.")
    at: datetime = Field(description="When it fired (UTC).")
    track_id: int | None = Field(description="Tracker id of the object.")
    object_class: str | None = Field(description="Detector class, or 'motion'.")
    value: float | None = Field(description="Dwell seconds, crowd count or crossings.")
    direction: str | None = Field(description="Line crossings: 'in' or 'out'.")
    value_text: str = Field(description="The value as a person reads it (with its unit).")
    box: Box | None = Field(description="The object that fired it, in pixels of the frame.")
    frame_width: int = Field(description="Width of the analysed frame in pixels.")
    frame_height: int = Field(description="Height of the analysed frame in pixels.")
    alerted: bool = Field(description="Whether it raised an operator alert.")
    snapshot_url: str | None = Field(description="The frame (JPEG), if kept.")
    playback_url: str = Field(description="The recording, the player starting at the event.")
    clip_start: datetime = Field(description="Start of the event's short clip (UTC).")
    clip_end: datetime = Field(description="End of the event's short clip (UTC).")
    clip_url: str = Field(
        description="The short clip as one MP4 (needs the footage.export permission)."
    )
    page_url: str = Field(description="The event's page.")


class HotlistEntryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plate: str = Field(description="Registration number; spaces and '-' are ignored.")
    category: HotlistCategory = Field(description="Why the plate is listed.")
    reason: str = Field(min_length=1, max_length=500, description="What the vehicle is wanted for.")
    source_agency: str = Field(
        min_length=1, max_length=120, description="Agency that asked for the entry."
    )
    priority: int = Field(
        default=2, ge=1, le=5, description="Priority of the alert it raises (1 most urgent)."
    )
    expires_at: AwareDatetime | None = Field(
        default=None, description="After this the entry no longer matches (empty: never)."
    )
    owner: str | None = Field(
        default=None, description="Username of the officer answerable for the entry (you if empty)."
    )

    @field_validator("plate")
    @classmethod
    def _plate(cls, value: str) -> str:
        return _plate(value)


class HotlistEntryUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plate: str | None = Field(default=None, description="Registration number.")
    category: HotlistCategory | None = Field(default=None, description="Why it is listed.")
    reason: str | None = Field(default=None, min_length=1, max_length=500, description="Reason.")
    source_agency: str | None = Field(
        default=None, min_length=1, max_length=120, description="Requesting agency."
    )
    priority: int | None = Field(default=None, ge=1, le=5, description="Alert priority.")
    expires_at: AwareDatetime | None = Field(default=None, description="New expiry.")
    owner: str | None = Field(default=None, description="Username of the answerable officer.")
    active: bool | None = Field(
        default=None,
        description="True puts an entry taken off back on the list (with relist_reason); "
        "to take one off, use DELETE with a reason (false is refused here).",
    )
    relist_reason: str | None = Field(
        default=None,
        min_length=3,
        max_length=500,
        description="Why an entry taken off the list is listed again (the car was stolen "
        "again, the request renewed...); required with active: true on such an entry, "
        "refused otherwise, and kept in the audit record. Its old alerts stay as the "
        "removal left them: the next read raises a new alert.",
    )

    @field_validator("plate")
    @classmethod
    def _plate(cls, value: str | None) -> str | None:
        return None if value is None else _plate(value)

    @field_validator("relist_reason", mode="before")
    @classmethod
    def _stripped(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value


class HotlistEntryRemove(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(
        min_length=3,
        max_length=500,
        description="Why the entry comes off the list (recovered, request withdrawn...); "
        "kept in the audit record.",
    )


class HotlistEntryPublic(BaseModel):
    id: int = Field(description="Id of the entry.")
    plate: str = Field(description="Registration number.")
    category: str = Field(description="stolen, wanted or expired_registration.")
    reason: str = Field(description="What the vehicle is wanted for.")
    source_agency: str = Field(description="Agency that asked for the entry.")
    priority: int = Field(description="Alert priority, 1 most urgent.")
    expires_at: datetime | None = Field(description="When it stops matching.")
    owner: str | None = Field(description="Username of the answerable officer.")
    active: bool = Field(description="Whether it is on the list.")
    live: bool = Field(description="Active and not expired: it matches reads now.")
    created_by: str = Field(description="Who added it.")
    created_at: datetime = Field(description="When it was added.")
    updated_at: datetime = Field(description="Last change.")
    version: int = Field(description="Send as If-Match to change it.")


class ImportProblem(BaseModel):
    row: int = Field(description="Row number in the file (the header is row 1).")
    field: str | None = Field(description="Column at fault, if one is.")
    message: str = Field(description="What is wrong.")


class HotlistImportReport(BaseModel):
    created: int = Field(default=0, description="Entries added.")
    rows: int = Field(default=0, description="Data rows read (blank rows are not counted).")
    skipped: int = Field(
        default=0,
        description="Rows left out on purpose: taken off the list (active=no) or already "
        "on the list unchanged; each has a warning.",
    )
    problems: list[ImportProblem] = Field(
        default_factory=list, description="Rows not imported and why."
    )
    warnings: list[ImportProblem] = Field(
        default_factory=list,
        description="Notes on rows that were imported or skipped (an expiry already past, "
        "a row taken off the list in the file); not errors.",
    )

    @property
    def failed(self) -> int:
        return len({problem.row for problem in self.problems})


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_unset=True)
