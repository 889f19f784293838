"""API shapes of a camera's analytics configuration; the configuration itself is the contract's."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from safecity.contracts.analytics_config import CameraAnalyticsConfig

AnalyticsUpdate = CameraAnalyticsConfig
"""PUT body: the whole configuration (zones, lines, rules, detector, rate)."""


class AnalyticsPublic(BaseModel):
    """A camera's analytics configuration and its version (send it back in If-Match)."""

    model_config = ConfigDict(extra="forbid")

    camera_id: int = Field(description="Camera id.")
    camera_code: str = Field(description="Camera code.")
    version: int = Field(
        ge=0, description="Configuration version; 0 means never configured (defaults shown)."
    )
    config: CameraAnalyticsConfig = Field(description="The configuration in force.")
    updated_at: datetime | None = Field(description="Last change (UTC); null if never.")
    updated_by: str | None = Field(description="Who made the last change; null if never.")
