"""The simulated solar sites behave like the real thing the power alerts are built for."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from safecity.bus.mosquitto import BRIDGE_USER, GATEWAY_USER, MosquittoServer
from safecity.identity.system import system_principal
from safecity.sim.gateways import GatewayFleet
from safecity.sim.solar import SolarSite, SolarSiteSpec, day_of_samples, solar_elevation_deg
from safecity.web.mqtt_bridge import MqttBridge, MqttEndpoint
from safecity.web.platform import Platform
from tests.conftest import IN_CI
from tests.factories import World

PESHAWAR = (34.0151, 71.5249)


@pytest.mark.parametrize(
    ("when", "low", "high"),
    [
        (datetime(2026, 6, 21, 7, 15, tzinfo=UTC), 75, 82),  # solar noon in June: ~79 deg
        (datetime(2026, 12, 21, 7, 15, tzinfo=UTC), 30, 35),  # solar noon in December: ~33
        (datetime(2026, 6, 21, 19, 15, tzinfo=UTC), -90, -20),  # local midnight
    ],
)
def test_sun_elevation_at_peshawar(when: datetime, low: float, high: float) -> None:
    assert low <= solar_elevation_deg(when, *PESHAWAR) <= high


def _day(fault: str = "none") -> list[float]:
    site = SolarSite(SolarSiteSpec("X-1", *PESHAWAR, fault=fault), seed=7)  # type: ignore[arg-type]
    end = datetime(2026, 6, 22, 0, 0, tzinfo=UTC)
    return [s.solar_input_w for s in day_of_samples(site, end=end, hours=24, every_minutes=10)]


def test_a_healthy_panel_charges_by_day_and_not_at_night() -> None:
    solar = _day()
    assert len(solar) == 144
    assert max(solar) > 150
    # 19:00-05:00 PKT is 14:00-00:00 UTC: the last 60 samples of this UTC day are dark.
    assert sum(solar[-50:]) == 0


def test_faults_show_in_the_numbers() -> None:
    assert max(_day("dead_panel")) == 0
    end = datetime(2026, 6, 22, 0, 0, tzinfo=UTC)
    healthy = SolarSite(SolarSiteSpec("H", *PESHAWAR), seed=3)
    worn = SolarSite(SolarSiteSpec("W", *PESHAWAR, fault="worn_battery"), seed=3)
    healthy_soc = [
        s.battery_soc_pct for s in day_of_samples(healthy, end=end, hours=24, every_minutes=10)
    ]
    worn_soc = [
        s.battery_soc_pct for s in day_of_samples(worn, end=end, hours=24, every_minutes=10)
    ]
    # The same evening (five hours, before the worn one hits empty) drains a worn
    # battery about three times as fast.
    healthy_drop = healthy_soc[-60] - healthy_soc[-30]
    worn_drop = worn_soc[-60] - worn_soc[-30]
    assert healthy_drop > 5
    assert worn_drop > 2 * healthy_drop


def test_same_seed_same_day() -> None:
    assert _day() == _day()


def test_fleet_publishes_through_the_broker_into_the_platform(
    platform: Platform, world: World, tmp_path: Path
) -> None:
    if not MosquittoServer.available():
        if IN_CI:
            pytest.fail("mosquitto is not installed")
        pytest.skip("mosquitto is not installed")
    with MosquittoServer(tmp_path / "mqtt", tmp_path / "keys") as broker:
        bridge_account = broker.account(BRIDGE_USER)
        bridge = MqttBridge(
            platform,
            MqttEndpoint(
                "127.0.0.1", broker.port, bridge_account.username, bridge_account.password
            ),
        )
        bridge.start()
        gateway = broker.account(GATEWAY_USER)
        fleet = GatewayFleet(
            [
                SolarSiteSpec("PSH-T1", 34.01, 71.52),
                SolarSiteSpec("PSH-T2", 34.02, 71.55, fault="dead_panel"),
            ],
            host="127.0.0.1",
            port=broker.port,
            username=gateway.username,
            password=gateway.password,
            backfill_hours=2,
            every_seconds=3600,
            ready=bridge.subscribed.is_set,
        )
        fleet.start()
        try:
            deadline = time.monotonic() + 20
            while bridge.stored < 24 and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            fleet.stop()
            bridge.stop()
    assert fleet.published == 24
    assert bridge.stored == 24
    assert bridge.rejected == 0
    with platform.sessions() as session:
        series = platform.power.series(session, system_principal("t"), world.sites["PSH-T2"])
    assert len(series) == 12
    assert all(r.solar_input_w == 0 for r in series)
