"""Incident tables: the incident, its timeline of every change. Scoped by district."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import ColumnElement, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from safecity.core.clock import utcnow
from safecity.db.base import Base
from safecity.identity.permissions import Principal, district_clause
from safecity.registry.models import District

# DOMAIN.md "Dispatch (CAD)": the main path, then the side exits.
INCIDENT_FLOW = (
    "received",
    "created",
    "dispatched",
    "acknowledged",
    "en_route",
    "on_scene",
    "transporting",
    "at_facility",
    "cleared",
    "closed",
)
SIDE_EXITS = ("cancelled", "duplicate", "hoax", "referred")
INCIDENT_STATUSES = INCIDENT_FLOW + SIDE_EXITS
FINAL_STATUSES = frozenset({"closed", *SIDE_EXITS})
SOURCES = ("call", "alert", "api", "referral")


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_district_status", "district_id", "status"),)
    scope_kind: ClassVar[str] = "district"

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"))
    agency: Mapped[str] = mapped_column(String(60))
    type_code: Mapped[str] = mapped_column(String(40))
    priority: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    disposition: Mapped[str | None] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(20))
    caller_number: Mapped[str | None] = mapped_column(String(20))
    landmark: Mapped[str] = mapped_column(String(200), default="")
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    narrative: Mapped[str] = mapped_column(Text, default="")
    # The alert it came from (the alerts table belongs to the alert queue; kept as a plain id).
    alert_id: Mapped[int | None] = mapped_column(Integer, index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    received_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    dispatched_at: Mapped[datetime | None]
    en_route_at: Mapped[datetime | None]
    on_scene_at: Mapped[datetime | None]
    cleared_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(150))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    district: Mapped[District] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    @classmethod
    def scope_clause(cls, principal: Principal) -> ColumnElement[bool]:
        return district_clause(cls.district_id, principal)

    @property
    def is_open(self) -> bool:
        return self.status not in FINAL_STATUSES


class IncidentEvent(Base):
    """One line of an incident's timeline: who did what, when (never updated)."""

    __tablename__ = "incident_events"
    __table_args__ = (Index("ix_incident_events_incident_at", "incident_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(150))
    kind: Mapped[str] = mapped_column(String(30))
    status: Mapped[str | None] = mapped_column(String(20))
    unit_id: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(1000), default="")
