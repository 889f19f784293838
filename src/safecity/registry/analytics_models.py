"""Each camera's analytics configuration (zones, lines, rules), one row per configured camera."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, ColumnElement, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from safecity.core.clock import utcnow
from safecity.db.base import Base
from safecity.identity.permissions import Principal
from safecity.registry.models import Camera


class CameraAnalytics(Base):
    __tablename__ = "camera_analytics"
    scope_kind: ClassVar[str] = "district"

    camera_id: Mapped[int] = mapped_column(
        ForeignKey("cameras.id", ondelete="CASCADE"), primary_key=True
    )
    # A CameraAnalyticsConfig as JSON: validated on the way in and again on the way out.
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(150), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    @classmethod
    def scope_clause(cls, principal: Principal) -> ColumnElement[bool]:
        # Visible exactly where its camera is.
        return cls.camera_id.in_(select(Camera.id).where(Camera.scope_clause(principal)))
