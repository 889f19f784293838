"""Alert tables: one row per alert an operator handles, and one per bus message folded
into it (deduplication by message id, and the history of a correlated alert)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    ColumnElement,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    or_,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from safecity.core.clock import utcnow
from safecity.db.base import Base
from safecity.identity.permissions import Principal, district_clause
from safecity.registry.models import Camera, District, Site

# new -> acknowledged -> escalated; any open state -> dismissed or incident.
NEW, ACKNOWLEDGED, ESCALATED, DISMISSED, INCIDENT = (
    "new",
    "acknowledged",
    "escalated",
    "dismissed",
    "incident",
)
STATUSES = (NEW, ACKNOWLEDGED, ESCALATED, DISMISSED, INCIDENT)
OPEN_STATUSES = (NEW, ACKNOWLEDGED, ESCALATED)

# A hotlist hit is a machine's reading of a plate: an operator compares the plate crop
# with the listed plate before any field action. "Confirmed" acknowledges a new alert
# and opens the way to an incident; "rejected" (a false read) dismisses the alert as
# misread_plate. The verdict sits beside the status above, never instead of it.
HOTLIST_SOURCE = "hotlist"
MATCH_CONFIRMED, MATCH_REJECTED = "confirmed", "rejected"


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_queue", "district_id", "status", "priority", "first_seen"),
        Index("ix_alerts_correlation", "correlation_key", "last_seen"),
        Index("ix_alerts_hotlist_entry", "hotlist_entry_id", "status"),
    )
    scope_kind: ClassVar[str] = "district"

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"))
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("cameras.id", ondelete="SET NULL"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"))
    # The camera code as the source named it, kept when the camera is unknown or deleted;
    # as long as the bus contract allows (CAMERA_ID_PATTERN), not as the registry's codes.
    camera_code: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(60))
    priority: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(160))
    detail: Mapped[str] = mapped_column(String(2000), default="")
    status: Mapped[str] = mapped_column(String(20), default=NEW)
    correlation_key: Mapped[str] = mapped_column(String(120))
    count: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    snapshot: Mapped[str | None] = mapped_column(String(400))
    plate_crop: Mapped[str | None] = mapped_column(String(400))
    plate_text: Mapped[str | None] = mapped_column(String(12))
    reference: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dismiss_reason: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(String(500), default="")
    handled_by: Mapped[str | None] = mapped_column(String(80))
    handled_at: Mapped[datetime | None]
    # Hotlist hits only: the operator's verdict on the plate match, who gave it and when.
    match_verdict: Mapped[str | None] = mapped_column(String(12))
    match_checked_by: Mapped[str | None] = mapped_column(String(80))
    match_checked_at: Mapped[datetime | None]
    # Hotlist hits only: the entry the hit names (``reference["hotlist_entry"]``) as a
    # column, so that an entry's alerts are found through an index. No foreign key: a
    # drill's hits name entries that do not exist.
    hotlist_entry_id: Mapped[int | None] = mapped_column(Integer)
    # When that entry was taken off the list after the hit. Set by the removal and never
    # cleared: listing the entry again later does not make this hit live again (the car
    # was not sought when it was last judged), and a new read starts a new alert.
    entry_removed_at: Mapped[datetime | None]
    # No foreign key: incidents live in a later migration owned by the dispatch module.
    incident_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    district: Mapped[District] = relationship(lazy="joined")
    camera: Mapped[Camera | None] = relationship(lazy="joined")
    site: Mapped[Site | None] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    @property
    def needs_match_check(self) -> bool:
        """A hotlist hit whose plate match no operator has confirmed yet."""
        return self.source == HOTLIST_SOURCE and self.match_verdict != MATCH_CONFIRMED

    @classmethod
    def scope_clause(cls, principal: Principal) -> ColumnElement[bool]:
        own = district_clause(cls.district_id, principal)
        if not principal.camera_ids:
            return own
        return or_(own, cls.camera_id.in_(sorted(principal.camera_ids)))


class AlertOccurrence(Base):
    """One AlertRaised message folded into an alert; its id makes redelivery harmless."""

    __tablename__ = "alert_occurrences"

    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
