"""Incident API shapes, one per direction; validation does no I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from safecity.command.incidents_models import INCIDENT_STATUSES

IncidentStatus = Literal[INCIDENT_STATUSES]  # type: ignore[valid-type]
Latitude = Annotated[float, Field(ge=-90, le=90, description="WGS84 latitude")]
Longitude = Annotated[float, Field(ge=-180, le=180, description="WGS84 longitude")]
# Pakistani numbers as callers give them: 03XX-XXXXXXX, +92 3XX XXXXXXX, landlines, 15.
PHONE_PATTERN = r"^\+?[0-9][0-9 -]{1,18}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IncidentCreate(_Strict):
    """A call to 15, or an incident raised by another system through the API."""

    district: str = Field(pattern=r"^[a-z0-9-]{1,64}$", description="District slug.")
    type: str = Field(max_length=40, description="Incident type code from the catalogue.")
    priority: int | None = Field(
        default=None, ge=1, le=9, description="1 most urgent; default: the type's priority."
    )
    latitude: Latitude
    longitude: Longitude
    landmark: str = Field(default="", max_length=200, description="Landmark the caller gave.")
    caller_number: str | None = Field(
        default=None, pattern=PHONE_PATTERN, description="Caller's number (Emergency 15 calls)."
    )
    narrative: str = Field(default="", max_length=4000, description="What the caller said.")
    received_at: AwareDatetime | None = Field(
        default=None, description="When the call was answered (UTC); default: now."
    )

    @model_validator(mode="after")
    def _has_a_place(self) -> Self:
        if self.latitude == 0 and self.longitude == 0:
            raise ValueError("0,0 is not a location: click the map or give coordinates")
        return self


class IncidentFromAlert(_Strict):
    type: str = Field(max_length=40, description="Incident type code from the catalogue.")
    priority: int | None = Field(default=None, ge=1, le=9, description="Default: the type's.")
    narrative: str = Field(default="", max_length=4000, description="Operator's note.")


class StatusChange(_Strict):
    """Move an incident by hand: clear, close with a disposition, or triage it out."""

    status: Literal["cleared", "closed", "cancelled", "duplicate", "hoax"] = Field(
        description="Target status."
    )
    disposition: str | None = Field(
        default=None, max_length=300, description="Required to close: how it ended."
    )
    duplicate_of: int | None = Field(
        default=None, description="Required for 'duplicate': the incident it repeats."
    )
    note: str = Field(default="", max_length=1000, description="Why (kept in the timeline).")


class Referral(_Strict):
    agency: str = Field(pattern=r"^[a-z0-9-]{1,60}$", description="Agency slug to refer to.")
    type: str = Field(max_length=40, description="Incident type for the receiving agency.")
    note: str = Field(default="", max_length=1000, description="Why it is referred.")


class DispatchRequest(_Strict):
    unit_id: int = Field(description="The unit to send.")
    note: str = Field(default="", max_length=1000, description="Instructions to the unit.")


class TimelineEntry(_Strict):
    at: datetime
    actor: str
    kind: str
    status: str | None
    unit_id: int | None
    note: str


class IncidentPublic(_Strict):
    id: int
    district: str = Field(description="District slug.")
    agency: str
    type: str
    type_label: str
    priority: int
    status: IncidentStatus
    disposition: str | None
    source: str
    caller_number: str | None
    landmark: str
    latitude: float
    longitude: float
    narrative: str
    alert_id: int | None
    parent_id: int | None
    duplicate_of_id: int | None
    received_at: datetime
    created_at: datetime
    dispatched_at: datetime | None
    en_route_at: datetime | None
    on_scene_at: datetime | None
    cleared_at: datetime | None
    closed_at: datetime | None
    unit_ids: list[int] = Field(description="Units currently assigned.")
    version: int = Field(description="Send as If-Match to change it (412 if stale).")


class IncidentDetail(IncidentPublic):
    timeline: list[TimelineEntry]


class Recommendation(_Strict):
    unit_id: int
    callsign: str
    kind: str
    status: str
    rank: int = Field(description="1 is the best.")
    estimated_seconds: float = Field(description="Estimated travel time to the incident.")
    distance_m: float = Field(description="Straight-line distance.")
