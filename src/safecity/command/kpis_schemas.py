"""KPI report shapes (also the columns of the CSV export)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IntervalStats(_Strict):
    count: int = Field(description="Incidents with both ends of the interval.")
    median_seconds: float | None = Field(description="Median, seconds; None without data.")
    p90_seconds: float | None = Field(description="90th percentile, seconds.")


class ResponseKpis(_Strict):
    district: str
    agency: str
    priority: int
    incidents: int = Field(description="Incidents created in the window.")
    triaged_out: int = Field(description="Of which hoax, duplicate or cancelled.")
    recommendation_followed_share: float | None = Field(
        description="Share of first dispatches that sent the top recommended unit."
    )
    call_to_create: IntervalStats
    create_to_dispatch: IntervalStats
    dispatch_to_en_route: IntervalStats
    travel: IntervalStats
    total_response: IntervalStats = Field(description="Call received to first unit on scene.")


class DistrictKpis(_Strict):
    district: str
    alerts: int
    alerts_per_hour: float
    alert_handling: IntervalStats = Field(description="Alert raised to first operator action.")
    cameras: int = Field(description="Cameras not decommissioned.")
    cameras_online_share: float | None


class KpiReport(_Strict):
    since: datetime
    until: datetime
    responses: list[ResponseKpis]
    districts: list[DistrictKpis]
