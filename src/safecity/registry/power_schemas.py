"""Site power API shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class PowerReadingIn(BaseModel):
    """One telemetry sample from a site's power controller (HTTP body or MQTT payload)."""

    model_config = ConfigDict(extra="forbid")

    at: AwareDatetime = Field(description="When the controller measured (with time zone)")
    battery_soc_pct: float | None = Field(None, ge=0, le=100, description="State of charge, %")
    solar_input_w: float | None = Field(None, ge=0, le=20_000, description="Panel input, watts")
    load_w: float | None = Field(None, ge=0, le=20_000, description="Site load, watts")
    temperature_c: float | None = Field(
        None, ge=-40, le=90, description="Cabinet temperature, degrees Celsius"
    )
    link_up: bool | None = Field(None, description="Whether the site's uplink is working")


class PowerReadingPublic(BaseModel):
    at: datetime
    battery_soc_pct: float | None
    solar_input_w: float | None
    load_w: float | None
    temperature_c: float | None
    link_up: bool | None
    source: str


class PowerAlertPublic(BaseModel):
    id: int
    site_id: int
    site: str
    site_name: str
    district: str
    kind: str
    message: str
    value: float | None
    started_at: datetime
    cleared_at: datetime | None


class RecordedReading(BaseModel):
    site: str
    stored: bool = Field(description="False when this exact sample was already stored")
    opened: list[str] = Field(description="Alert kinds this reading opened")
    cleared: list[str] = Field(description="Alert kinds this reading cleared")
