"""Unit API shapes: the roster, GPS fixes and status reports."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from safecity.command.units_models import UNIT_STATUSES

UnitStatus = Literal[UNIT_STATUSES]  # type: ignore[valid-type]
Latitude = Annotated[float, Field(ge=-90, le=90, description="WGS84 latitude")]
Longitude = Annotated[float, Field(ge=-180, le=180, description="WGS84 longitude")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UnitCreate(_Strict):
    callsign: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}$", description="Radio call sign."
    )
    kind: str = Field(max_length=40, description="Unit kind code from the catalogue.")
    district: str = Field(pattern=r"^[a-z0-9-]{1,64}$", description="Home district slug.")
    capabilities: list[str] | None = Field(
        default=None, description="Default: the kind's capabilities."
    )
    username: str | None = Field(
        default=None, max_length=150, description="Field-unit account that reports for it."
    )


class UnitUpdate(_Strict):
    capabilities: list[str] | None = Field(default=None, description="What it can answer.")
    district: str | None = Field(
        default=None, pattern=r"^[a-z0-9-]{1,64}$", description="Home district slug."
    )
    username: str | None = Field(default=None, max_length=150, description="Reporting account.")
    active: bool | None = Field(default=None, description="False takes it off the roster.")


class PositionReport(_Strict):
    recorded_at: AwareDatetime = Field(description="When the fix was taken (device clock, UTC).")
    latitude: Latitude
    longitude: Longitude
    speed_kmh: float | None = Field(default=None, ge=0, le=300, description="Ground speed.")
    heading_deg: float | None = Field(default=None, ge=0, lt=360, description="Course.")

    @model_validator(mode="after")
    def _has_a_fix(self) -> Self:
        # 0,0 is what receivers without a fix send: never a unit in Pakistan.
        if self.latitude == 0 and self.longitude == 0:
            raise ValueError("0,0 is not a position (GPS without a fix)")
        return self


class PositionResult(_Strict):
    unit_id: int
    stored: bool = Field(description="False: this fix was already stored (a resend).")
    current: bool = Field(
        description="True if it became the unit's position; False if an older fix arrived late."
    )
    message: str


MAX_BATCH_FIXES = 500
FixOutcome = Literal["stored", "duplicate", "late", "refused"]


class PositionBatch(_Strict):
    fixes: list[Any] = Field(
        min_length=1,
        max_length=MAX_BATCH_FIXES,
        description=(
            "GPS fixes of this one unit, each shaped like a single position report. Each "
            "is checked on its own: a bad fix is refused with its reason and the good "
            "ones are still stored."
        ),
    )


class FixResult(_Strict):
    index: int = Field(description="Where the fix was in the request (from 0).")
    recorded_at: datetime | None = Field(description="The fix's time, if it could be read.")
    outcome: FixOutcome = Field(
        description=(
            "stored; duplicate (already stored, a resend); late (stored in the track, "
            "older than the unit's position); refused (not stored: see message)."
        )
    )
    message: str


class PositionBatchResult(_Strict):
    unit_id: int
    current: bool = Field(description="True if the batch moved the unit's position.")
    counts: dict[FixOutcome, int] = Field(description="How many fixes had each outcome.")
    results: list[FixResult] = Field(description="One per fix, in the request's order.")


class StatusReport(_Strict):
    status: UnitStatus = Field(description="New status code.")
    at: AwareDatetime | None = Field(default=None, description="When (UTC); default: now.")
    note: str = Field(default="", max_length=500, description="Free text, kept in the timeline.")


class UnitPublic(_Strict):
    id: int
    callsign: str
    kind: str
    agency: str
    capabilities: list[str]
    district: str
    status: UnitStatus
    status_at: datetime
    latitude: float | None
    longitude: float | None
    position_at: datetime | None
    incident_id: int | None = Field(description="The incident it is working, if any.")
    active: bool
    version: int


class TrackPoint(_Strict):
    recorded_at: datetime
    latitude: float
    longitude: float
