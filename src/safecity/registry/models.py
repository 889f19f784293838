"""Registry tables. Cameras and sites are scoped by district; camera owners by camera."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from safecity.core.clock import utcnow
from safecity.db.base import Base
from safecity.identity.permissions import Principal, district_clause

SITE_TYPES = (
    "intersection",
    "entry_exit_point",
    "market",
    "school",
    "hotel",
    "housing_society",
    "plaza",
    "hospital",
    "bus_terminal",
    "government_building",
    "religious_site",
    "highway",
    "other",
)
ROLLOUT_STATUSES = ("planned", "surveyed", "installed", "live", "decommissioned")
OWNERSHIPS = ("public", "private", "school")
CAMERA_STATUSES = ("planned", "installed", "online", "offline", "maintenance", "decommissioned")
# The statuses in which a camera's video is ingested, recorded and analysed (it must also
# have a main stream); planned, in maintenance or decommissioned, it is not.
RUNNING_STATUSES = ("installed", "online", "offline")
# Out of service for good: facts still arriving from it (a worker not yet told) are dropped.
RETIRED_STATUS = "decommissioned"
CODECS = ("h264", "h265", "mjpeg")
POWER_SOURCES = ("grid", "solar", "hybrid")


class District(Base):
    __tablename__ = "districts"
    scope_kind: ClassVar[str] = "district"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    province: Mapped[str] = mapped_column(String(60), default="Khyber Pakhtunkhwa")
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)

    @classmethod
    def scope_clause(cls, principal: Principal) -> ColumnElement[bool]:
        own = district_clause(cls.id, principal)
        if not principal.camera_ids:
            return own
        via_camera = cls.id.in_(
            select(Camera.district_id).where(Camera.id.in_(sorted(principal.camera_ids)))
        )
        return or_(own, via_camera)


class Owner(Base):
    """Who owns a camera: the government programme, a business, a school, a society."""

    __tablename__ = "owners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="public")
    contact: Mapped[str] = mapped_column(String(300), default="")


class Site(Base):
    __tablename__ = "sites"
    scope_kind: ClassVar[str] = "district"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    site_type: Mapped[str] = mapped_column(String(40))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    phase: Mapped[int] = mapped_column(Integer, default=1)
    rollout_status: Mapped[str] = mapped_column(String(20), default="planned")
    power_source: Mapped[str] = mapped_column(String(20), default="grid")
    address: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    district: Mapped[District] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    @classmethod
    def scope_clause(cls, principal: Principal) -> ColumnElement[bool]:
        own = district_clause(cls.district_id, principal)
        if not principal.camera_ids:
            return own
        hosts = cls.id.in_(
            select(Camera.site_id).where(Camera.id.in_(sorted(principal.camera_ids)))
        )
        return or_(own, hosts)


class Camera(Base):
    __tablename__ = "cameras"
    scope_kind: ClassVar[str] = "district"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    # Kept beside site_id so the permission filter needs no join.
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id"), index=True)
    ownership: Mapped[str] = mapped_column(String(20), default="public")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("owners.id"))
    vendor: Mapped[str] = mapped_column(String(120), default="")
    make: Mapped[str] = mapped_column(String(120), default="")
    model: Mapped[str] = mapped_column(String(120), default="")
    # Stream URLs carry credentials: stored encrypted, never shown back.
    main_stream_enc: Mapped[str | None] = mapped_column(Text)
    sub_stream_enc: Mapped[str | None] = mapped_column(Text)
    main_stream_display: Mapped[str] = mapped_column(String(300), default="")
    sub_stream_display: Mapped[str] = mapped_column(String(300), default="")
    resolution_width: Mapped[int | None] = mapped_column(Integer)
    resolution_height: Mapped[int | None] = mapped_column(Integer)
    fps: Mapped[int | None] = mapped_column(Integer)
    codec: Mapped[str] = mapped_column(String(20), default="h264")
    # continuous, events or off: what the camera's ingest worker records.
    recording_mode: Mapped[str] = mapped_column(
        String(20), default="continuous", server_default="continuous"
    )
    ptz: Mapped[bool] = mapped_column(Boolean, default=False)
    purpose: Mapped[str] = mapped_column(String(300), default="")
    legal_basis: Mapped[str] = mapped_column(String(300), default="")
    privacy_masks: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="planned")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    site: Mapped[Site] = relationship(lazy="joined")
    district: Mapped[District] = relationship(lazy="joined")
    owner: Mapped[Owner | None] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    @classmethod
    def scope_clause(cls, principal: Principal) -> ColumnElement[bool]:
        own = district_clause(cls.district_id, principal)
        if not principal.camera_ids:
            return own
        return or_(own, cls.id.in_(sorted(principal.camera_ids)))
