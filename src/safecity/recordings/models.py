"""The segment index, legal holds, and each camera's latest health."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnElement,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column

from safecity.core.clock import utcnow
from safecity.db.base import Base
from safecity.identity.permissions import Principal
from safecity.registry.models import Camera


def _camera_scope(column: Any, principal: Principal) -> ColumnElement[bool]:
    result: ColumnElement[bool] = column.in_(
        select(Camera.id).where(Camera.scope_clause(principal))
    )
    return result


class RecordingSegment(Base):
    __tablename__ = "recording_segments"
    __table_args__ = (Index("ix_recording_segments_camera_time", "camera_id", "started_at"),)
    scope_kind: ClassVar[str] = "camera"

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String(400), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="continuous")
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    duration_seconds: Mapped[float] = mapped_column(Float)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    codec: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    frames: Mapped[int] = mapped_column(Integer)
    gap_before_seconds: Mapped[float | None] = mapped_column(Float)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]

    @classmethod
    def scope_clause(cls, principal: Principal) -> ColumnElement[bool]:
        return _camera_scope(cls.camera_id, principal)


class LegalHold(Base):
    """Footage of one camera over a time range that retention must never delete."""

    __tablename__ = "legal_holds"
    scope_kind: ClassVar[str] = "camera"

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="RESTRICT"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    case_reference: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(150))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_at: Mapped[datetime | None]
    released_by: Mapped[str | None] = mapped_column(String(150))

    @classmethod
    def scope_clause(cls, principal: Principal) -> ColumnElement[bool]:
        return _camera_scope(cls.camera_id, principal)


class CameraHealthState(Base):
    """The latest health report of each camera (the history is in health episodes)."""

    __tablename__ = "camera_health"
    scope_kind: ClassVar[str] = "camera"

    camera_id: Mapped[int] = mapped_column(
        ForeignKey("cameras.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(20))
    state_since: Mapped[datetime]
    fps: Mapped[float] = mapped_column(Float)
    bitrate_bps: Mapped[float] = mapped_column(Float)
    last_frame_at: Mapped[datetime | None]
    reconnects: Mapped[int] = mapped_column(Integer)
    recording: Mapped[bool] = mapped_column(Boolean)
    problems: Mapped[list[Any]] = mapped_column(JSON, default=list)
    reported_at: Mapped[datetime]
    # Camera clock minus ours where the stream carries wall-clock time (RTCP).
    clock_offset_seconds: Mapped[float | None] = mapped_column(Float)

    @classmethod
    def scope_clause(cls, principal: Principal) -> ColumnElement[bool]:
        return _camera_scope(cls.camera_id, principal)


class HealthEpisode(Base):
    """One problem of one camera from when it was first reported until it cleared."""

    __tablename__ = "camera_health_episodes"
    __table_args__ = (Index("ix_camera_health_episodes_camera", "camera_id", "started_at"),)
    scope_kind: ClassVar[str] = "camera"

    id: Mapped[int] = mapped_column(primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(String(300), default="")
    started_at: Mapped[datetime]
    cleared_at: Mapped[datetime | None]

    @classmethod
    def scope_clause(cls, principal: Principal) -> ColumnElement[bool]:
        return _camera_scope(cls.camera_id, principal)
