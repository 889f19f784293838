"""A solar site's day: sun, panel, load and battery, for simulated site gateways.

Deterministic from a seed. The sun follows the solar elevation for the site's
latitude and day of year; clouds thin it out; the battery integrates charge minus
load. A few sites are given faults an engineer must notice: a dead panel, a worn
battery, a flapping uplink.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

Fault = Literal["none", "dead_panel", "worn_battery", "flapping_link"]
PKT_OFFSET_HOURS = 5.0


@dataclass(frozen=True)
class SolarSiteSpec:
    code: str
    latitude: float
    longitude: float
    panel_w: float = 400.0
    battery_wh: float = 2400.0
    load_w: float = 70.0
    fault: Fault = "none"


@dataclass(frozen=True)
class Sample:
    at: datetime
    battery_soc_pct: float
    solar_input_w: float
    load_w: float
    temperature_c: float
    link_up: bool

    def as_payload(self) -> dict[str, object]:
        return {
            "at": self.at.isoformat(),
            "battery_soc_pct": round(self.battery_soc_pct, 1),
            "solar_input_w": round(self.solar_input_w, 1),
            "load_w": round(self.load_w, 1),
            "temperature_c": round(self.temperature_c, 1),
            "link_up": self.link_up,
        }


def solar_elevation_deg(at: datetime, latitude: float, longitude: float) -> float:
    """Approximate sun elevation (declination and hour angle; good to a degree or two)."""
    utc = at.astimezone(UTC)
    day = utc.timetuple().tm_yday
    declination = 23.44 * math.sin(math.radians(360 / 365 * (day - 81)))
    solar_time = utc.hour + utc.minute / 60 + utc.second / 3600 + longitude / 15
    hour_angle = 15 * (solar_time - 12)
    lat, dec, ha = (math.radians(v) for v in (latitude, declination, hour_angle))
    sin_elevation = math.sin(lat) * math.sin(dec) + math.cos(lat) * math.cos(dec) * math.cos(ha)
    return math.degrees(math.asin(max(-1.0, min(1.0, sin_elevation))))


@dataclass
class SolarSite:
    """One site's state as simulated time advances."""

    spec: SolarSiteSpec
    seed: int
    soc_pct: float = 70.0
    _rng: random.Random = field(init=False)
    _cloud: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"{self.seed}:{self.spec.code}")  # noqa: S311 - simulation
        self.soc_pct = 55.0 + self._rng.random() * 35.0

    def step(self, at: datetime, minutes: float) -> Sample:
        spec = self.spec
        elevation = solar_elevation_deg(at, spec.latitude, spec.longitude)
        # Clouds drift slowly: a random walk kept between clear and overcast.
        self._cloud = min(0.85, max(0.0, self._cloud + self._rng.gauss(0, 0.06)))
        sun = max(0.0, math.sin(math.radians(elevation))) * (1 - self._cloud)
        solar = 0.0 if spec.fault == "dead_panel" else spec.panel_w * sun * 0.9
        solar += self._rng.random() * 2 if solar > 0 else 0.0
        local_hour = (at.astimezone(UTC).hour + PKT_OFFSET_HOURS) % 24
        night_light = 25.0 if local_hour >= 19 or local_hour < 6 else 0.0
        load = spec.load_w + night_light + self._rng.gauss(0, 3)
        capacity = spec.battery_wh * (0.35 if spec.fault == "worn_battery" else 1.0)
        self.soc_pct += (solar - load) * minutes / 60 / capacity * 100
        self.soc_pct = min(100.0, max(3.0, self.soc_pct))
        temperature = 24 + 18 * sun + self._rng.gauss(0, 0.8)
        link_up = not (spec.fault == "flapping_link" and self._rng.random() < 0.3)
        return Sample(at, self.soc_pct, solar, max(0.0, load), temperature, link_up)


def day_of_samples(
    site: SolarSite, *, end: datetime, hours: float, every_minutes: float
) -> list[Sample]:
    """The last ``hours`` of samples up to ``end``, oldest first."""
    count = int(hours * 60 / every_minutes)
    start = end - timedelta(minutes=every_minutes * count)
    return [
        site.step(start + timedelta(minutes=every_minutes * i), every_minutes)
        for i in range(1, count + 1)
    ]
