"""Plate reads, rule events and hotlists: what the data plane saw, and what to look for."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal, get_args

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    select,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from safecity.core.clock import utcnow
from safecity.db.base import Base
from safecity.identity.models import User
from safecity.identity.permissions import Principal
from safecity.registry.models import Camera

HotlistCategory = Literal["stolen", "wanted", "expired_registration"]
HOTLIST_CATEGORIES: tuple[str, ...] = get_args(HotlistCategory)


def _camera_scope(column: Any, principal: Principal) -> ColumnElement[bool]:
    # A read or event belongs to the district of the camera that saw it.
    result: ColumnElement[bool] = column.in_(
        select(Camera.id).where(Camera.scope_clause(principal))
    )
    return result


class PlateReadRecord(Base):
    """One vehicle's plate as a camera read it; personal data, kept per retention."""

    __tablename__ = "plate_reads"
    __table_args__ = (
        Index("ix_plate_reads_text_at", "text", "at"),
        Index("ix_plate_reads_key_at", "plate_key", "at"),
        Index("ix_plate_reads_reversed_at", "text_reversed", "at"),
        Index("ix_plate_reads_camera_at", "camera_id", "at"),
        Index("ix_plate_reads_at", "at"),
    )
    scope_kind: ClassVar[str] = "camera"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    track_id: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(12))
    # The text with O/0, I/1, B/8, S/5, Z/2, G/6 folded together (events.plates).
    plate_key: Mapped[str] = mapped_column(String(12))
    # The text backwards, so that "ends with ..." is an index range too.
    text_reversed: Mapped[str] = mapped_column(String(12))
    confidence: Mapped[float] = mapped_column(Float)
    rule: Mapped[str] = mapped_column(String(40))
    frames: Mapped[int] = mapped_column(Integer)
    box: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    vehicle_class: Mapped[str | None] = mapped_column(String(40))
    plate_crop: Mapped[str | None] = mapped_column(String(400))
    vehicle_image: Mapped[str | None] = mapped_column(String(400))
    # Ids of the hotlist entries it matched; a read that hit is kept longer.
    hotlist_hits: Mapped[list[int]] = mapped_column(JSON, default=list)
    hit: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

    camera: Mapped[Camera] = relationship(lazy="joined")

    @classmethod
    def scope_clause(cls, principal: Principal) -> ColumnElement[bool]:
        # "+ 0" keeps the planner off the camera index for the scope test alone: a scope
        # of a district's cameras covers a large share of all reads, and SQLite (no value
        # histogram) would walk it rather than the plate index that narrows to a few rows.
        # A search by camera or district filters camera_id itself and still uses it.
        return _camera_scope(cls.camera_id + 0, principal)


class RuleEventRecord(Base):
    """A rule that fired on a camera (intrusion, loitering, a line crossed...)."""

    __tablename__ = "rule_events"
    __table_args__ = (
        Index("ix_rule_events_camera_at", "camera_id", "at"),
        Index("ix_rule_events_at", "at"),
    )
    scope_kind: ClassVar[str] = "camera"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    rule: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime]
    track_id: Mapped[int | None] = mapped_column(Integer)
    object_class: Mapped[str | None] = mapped_column(String(40))
    box: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    frame_width: Mapped[int] = mapped_column(Integer)
    frame_height: Mapped[int] = mapped_column(Integer)
    value: Mapped[float | None] = mapped_column(Float)
    direction: Mapped[str | None] = mapped_column(String(20))
    snapshot: Mapped[str | None] = mapped_column(String(400))
    clip_start: Mapped[datetime]
    clip_end: Mapped[datetime]
    alerted: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

    camera: Mapped[Camera] = relationship(lazy="joined")

    @classmethod
    def scope_clause(cls, principal: Principal) -> ColumnElement[bool]:
        return _camera_scope(cls.camera_id, principal)


class HotlistEntry(Base):
    """A plate to look out for. Province-wide: any camera that reads it raises an alert."""

    __tablename__ = "hotlist_entries"
    __table_args__ = (Index("ix_hotlist_entries_key", "plate_key", "active"),)
    scope_kind: ClassVar[str] = "province"

    id: Mapped[int] = mapped_column(primary_key=True)
    plate: Mapped[str] = mapped_column(String(12))
    plate_key: Mapped[str] = mapped_column(String(12))
    category: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(String(500))
    source_agency: Mapped[str] = mapped_column(String(120))
    priority: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime | None]
    # The officer answerable for the entry (who keeps it true and removes it when done).
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(150))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    owner: Mapped[User | None] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    @classmethod
    def scope_clause(cls, principal: Principal) -> ColumnElement[bool]:
        # Hotlists are shared across the province; the permission is what limits them.
        return true()

    def live_at(self, when: datetime) -> bool:
        return self.active and (self.expires_at is None or self.expires_at > when)
