"""Site power and link telemetry (solar sites): readings as a time series, and alerts."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from sqlalchemy import Boolean, ColumnElement, Float, ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, mapped_column

from safecity.core.clock import utcnow
from safecity.db.base import Base
from safecity.identity.permissions import Principal
from safecity.registry.models import Site


class SitePowerReading(Base):
    __tablename__ = "site_power_readings"
    __table_args__ = (Index("ix_site_power_readings_site_at", "site_id", "at"),)
    scope_kind: ClassVar[str] = "district"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    battery_soc_pct: Mapped[float | None] = mapped_column(Float)
    solar_input_w: Mapped[float | None] = mapped_column(Float)
    load_w: Mapped[float | None] = mapped_column(Float)
    temperature_c: Mapped[float | None] = mapped_column(Float)
    link_up: Mapped[bool | None] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(10))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def scope_clause(cls, principal: Principal) -> ColumnElement[bool]:
        return cls.site_id.in_(select(Site.id).where(Site.scope_clause(principal)))


class SitePowerAlert(Base):
    """One episode of a condition at a site, open until the condition clears."""

    __tablename__ = "site_power_alerts"
    __table_args__ = (Index("ix_site_power_alerts_open", "site_id", "kind", "cleared_at"),)
    scope_kind: ClassVar[str] = "district"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    started_at: Mapped[datetime]
    cleared_at: Mapped[datetime | None]
    message: Mapped[str] = mapped_column(String(300))
    value: Mapped[float | None] = mapped_column(Float)

    @classmethod
    def scope_clause(cls, principal: Principal) -> ColumnElement[bool]:
        return cls.site_id.in_(select(Site.id).where(Site.scope_clause(principal)))
