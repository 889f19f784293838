"""Field units, their GPS track and the dispatches that tie them to incidents."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from safecity.core.clock import utcnow
from safecity.db.base import Base
from safecity.identity.permissions import Principal, district_clause
from safecity.registry.models import District

# DOMAIN.md (APCO ANS 1.116.2 style) status codes.
UNIT_STATUSES = (
    "available_quarters",
    "available_mobile",
    "dispatched",
    "en_route",
    "on_scene",
    "transporting",
    "at_facility",
    "out_of_service",
    "officer_emergency",
)
AVAILABLE = frozenset({"available_quarters", "available_mobile"})
# Statuses a unit reports while working an incident, in the order it passes them.
WORKING = ("dispatched", "en_route", "on_scene", "transporting", "at_facility")


class Unit(Base):
    __tablename__ = "units"
    scope_kind: ClassVar[str] = "district"

    id: Mapped[int] = mapped_column(primary_key=True)
    callsign: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    agency: Mapped[str] = mapped_column(String(60))
    capabilities: Mapped[list[str]] = mapped_column(JSON, default=list)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    status: Mapped[str] = mapped_column(String(30), default="available_quarters")
    status_at: Mapped[datetime] = mapped_column(default=utcnow)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    position_at: Mapped[datetime | None]
    # The one field-unit account that reports for this unit.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    district: Mapped[District] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    @classmethod
    def scope_clause(cls, principal: Principal) -> ColumnElement[bool]:
        return district_clause(cls.district_id, principal)


class UnitPosition(Base):
    """The GPS track: every fix stored once, in whatever order it arrived."""

    __tablename__ = "unit_positions"
    __table_args__ = (UniqueConstraint("unit_id", "recorded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    recorded_at: Mapped[datetime]
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    speed_kmh: Mapped[float | None] = mapped_column(Float)
    heading_deg: Mapped[float | None] = mapped_column(Float)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class Dispatch(Base):
    """One unit sent to one incident, with what the system recommended at that moment."""

    __tablename__ = "dispatches"
    __table_args__ = (Index("ix_dispatches_incident", "incident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    dispatched_at: Mapped[datetime]
    dispatched_by: Mapped[str] = mapped_column(String(150))
    # Rank of the chosen unit in the recommendation (1 = top), None if not recommended.
    recommended_rank: Mapped[int | None] = mapped_column(Integer)
    followed_recommendation: Mapped[bool] = mapped_column(Boolean)
    estimated_seconds: Mapped[float | None] = mapped_column(Float)
    acknowledged_at: Mapped[datetime | None]
    en_route_at: Mapped[datetime | None]
    on_scene_at: Mapped[datetime | None]
    released_at: Mapped[datetime | None]
