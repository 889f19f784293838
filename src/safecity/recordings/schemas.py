"""Recording API shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


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
