"""Recording API shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class SegmentPublic(BaseModel):
    id: int
    camera_id: int
    started_at: datetime
    ended_at: datetime
    duration_seconds: float
    size_bytes: int
    sha256: str = Field(description="SHA-256 of the file as recorded")
    codec: str
    width: int
    height: int
    gap_before_seconds: float | None
    url: str = Field(description="Where to play it (signed-in, audited)")


class CameraHealthPublic(BaseModel):
    camera_id: int
    state: str
    state_since: datetime
    fps: float
    bitrate_bps: float
    last_frame_at: datetime | None
    reconnects: int
    recording: bool
    problems: list[dict[str, object]]
    reported_at: datetime
    clock_offset_seconds: float | None = Field(
        None, description="Camera clock minus ours (s), where the stream carries wall-clock time"
    )


class LegalHoldCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    starts_at: AwareDatetime = Field(description="Start of the footage to keep (with zone)")
    ends_at: AwareDatetime = Field(description="End of the footage to keep (with zone)")
    case_reference: str = Field(
        min_length=3, max_length=120, description="FIR or case number the hold serves"
    )
    reason: str = Field(min_length=3, max_length=500, description="Why the footage must be kept")


class LegalHoldPublic(BaseModel):
    id: int
    camera_id: int
    starts_at: datetime
    ends_at: datetime
    case_reference: str
    reason: str
    created_by: str
    created_at: datetime
    released_at: datetime | None
    released_by: str | None
