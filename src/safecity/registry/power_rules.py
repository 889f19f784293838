"""When a solar site needs attention. Pure: readings in, open conditions out.

Low battery uses hysteresis (opens below one level, clears above a higher one) so
a battery hovering at the threshold does not flap. "No charge by day" looks at a
window of readings in daylight, Pakistan time, and needs the window to be covered
by readings before it judges.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from safecity.core.clock import to_pkt

LOW_BATTERY = "low_battery"
NO_CHARGE = "no_charge_by_day"
LINK_DOWN = "link_down"
SILENT = "no_telemetry"
KINDS = (LOW_BATTERY, NO_CHARGE, LINK_DOWN, SILENT)


class PowerThresholds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    low_battery_pct: float = Field(25, ge=0, le=100, description="Alert below this charge")
    battery_recovered_pct: float = Field(
        30, ge=0, le=100, description="Clear the low-battery alert at or above this charge"
    )
    daylight_start_hour: int = Field(9, ge=0, le=23, description="Daylight from (PKT hour)")
    daylight_end_hour: int = Field(16, ge=1, le=24, description="Daylight until (PKT hour)")
    min_solar_w: float = Field(10, ge=0, description="Below this the panel is not charging")
    no_charge_minutes: int = Field(60, ge=5, description="Daylight without charge before alert")
    silent_minutes: int = Field(15, ge=1, description="No reading this long: telemetry lost")


@dataclass(frozen=True)
class Reading:
    at: datetime
    battery_soc_pct: float | None
    solar_input_w: float | None
    link_up: bool | None


@dataclass(frozen=True)
class Condition:
    kind: str
    message: str
    value: float | None = None


def _in_daylight(at: datetime, t: PowerThresholds) -> bool:
    return t.daylight_start_hour <= to_pkt(at).hour < t.daylight_end_hour


def conditions(
    readings: Sequence[Reading], *, open_kinds: set[str], t: PowerThresholds
) -> list[Condition]:
    """Conditions that hold after the newest reading; ``readings`` oldest first, covering
    at least ``no_charge_minutes`` before the newest one when available."""
    if not readings:
        return []
    latest = readings[-1]
    found: list[Condition] = []
    soc = latest.battery_soc_pct
    if soc is not None:
        limit = t.battery_recovered_pct if LOW_BATTERY in open_kinds else t.low_battery_pct
        if soc < limit:
            found.append(Condition(LOW_BATTERY, f"battery at {soc:.0f} %", soc))
    if latest.link_up is False:
        found.append(Condition(LINK_DOWN, "site reports its network link down"))
    window_start = latest.at - timedelta(minutes=t.no_charge_minutes)
    window = [r for r in readings if r.at >= window_start and r.solar_input_w is not None]
    covered = window and window[0].at <= window_start + timedelta(minutes=t.no_charge_minutes / 4)
    if (
        covered
        and all(_in_daylight(r.at, t) for r in window)
        and all((r.solar_input_w or 0.0) < t.min_solar_w for r in window)
    ):
        peak = max(r.solar_input_w or 0.0 for r in window)
        found.append(
            Condition(
                NO_CHARGE,
                f"no solar charge for {t.no_charge_minutes} min in daylight (peak {peak:.0f} W)",
                peak,
            )
        )
    return found
