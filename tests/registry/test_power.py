"""Site power telemetry end to end: HTTP from a gateway's token, MQTT through a real
Mosquitto broker, alerts opened and cleared, scope and bad input."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion

from safecity.bus.mosquitto import BRIDGE_USER, GATEWAY_USER, MosquittoServer
from safecity.core.clock import utcnow
from safecity.web.mqtt_bridge import MqttBridge, MqttEndpoint
from safecity.web.platform import Platform
from tests.conftest import IN_CI
from tests.factories import World, make_user, token_for


def _reading(minutes_ago: float = 0, **values: object) -> dict[str, object]:
    body: dict[str, object] = {
        "at": (utcnow() - timedelta(minutes=minutes_ago)).isoformat(),
        "battery_soc_pct": 80,
        "solar_input_w": 200,
        "load_w": 60,
        "temperature_c": 41,
        "link_up": True,
    }
    body.update(values)
    return body


@pytest.fixture
def gateway(platform: Platform, world: World) -> dict[str, str]:
    make_user(platform, "gw-psh", ["site_gateway"], districts=["peshawar"])
    return {"Authorization": f"Bearer {token_for(platform, 'gw-psh')}"}


def test_gateway_reports_and_alerts_open_and_clear(
    client: TestClient, platform: Platform, world: World, gateway: dict[str, str]
) -> None:
    ok = client.post("/api/v1/sites/PSH-T1/power", json=_reading(10), headers=gateway)
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"site": "PSH-T1", "stored": True, "opened": [], "cleared": []}
    low_body = _reading(5, battery_soc_pct=12, link_up=False)
    low = client.post("/api/v1/sites/PSH-T1/power", json=low_body, headers=gateway)
    assert sorted(low.json()["opened"]) == ["link_down", "low_battery"]
    again = client.post("/api/v1/sites/PSH-T1/power", json=low_body, headers=gateway)
    assert again.json()["stored"] is False, "the same sample resent is stored once"
    recovered = client.post(
        "/api/v1/sites/PSH-T1/power", json=_reading(0, battery_soc_pct=45), headers=gateway
    )
    assert sorted(recovered.json()["cleared"]) == ["link_down", "low_battery"]

    make_user(platform, "op-psh", ["operator"], districts=["peshawar"])
    operator = {"Authorization": f"Bearer {token_for(platform, 'op-psh')}"}
    series = client.get(f"/api/v1/sites/{world.sites['PSH-T1']}/power", headers=operator)
    assert [r["battery_soc_pct"] for r in series.json()["items"]] == [80, 12, 45]
    alerts = client.get("/api/v1/power/alerts?include_cleared=true", headers=operator).json()
    assert {a["kind"] for a in alerts["items"]} == {"low_battery", "link_down"}
    assert all(a["cleared_at"] for a in alerts["items"])
    # The gateway reports; it does not read.
    assert client.get("/api/v1/power/alerts", headers=gateway).status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_reading(battery_soc_pct=140), "battery_soc_pct"),
        (_reading(solar_input_w=-5), "solar_input_w"),
        ({**_reading(), "at": "2026-01-01T10:00:00"}, "at"),  # no time zone
        ({**_reading(), "voltage": 12}, "voltage"),
        (_reading(minutes_ago=-60), "at"),  # controller clock an hour ahead
    ],
)
def test_bad_samples_are_refused_and_nothing_is_stored(
    client: TestClient,
    platform: Platform,
    world: World,
    gateway: dict[str, str],
    body: dict[str, object],
    field: str,
) -> None:
    response = client.post("/api/v1/sites/PSH-T1/power", json=body, headers=gateway)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field
    with platform.sessions() as session:
        assert (
            platform.power.series(session, _admin(platform), world.sites["PSH-T1"], hours=48) == []
        )


def _admin(platform: Platform):  # type: ignore[no-untyped-def]
    from safecity.identity.system import system_principal

    return system_principal("tests")


def test_gateway_cannot_report_for_a_site_outside_its_scope(
    client: TestClient, world: World, gateway: dict[str, str]
) -> None:
    response = client.post("/api/v1/sites/BNU-T1/power", json=_reading(), headers=gateway)
    assert response.status_code == 404


def test_silent_site_is_swept(
    platform: Platform, world: World, gateway: dict[str, str], client: TestClient
) -> None:
    client.post("/api/v1/sites/PSH-T2/power", json=_reading(30), headers=gateway)
    with platform.transaction() as session:
        assert platform.power.sweep_silent(session) == ["PSH-T2"]
        assert platform.power.sweep_silent(session) == [], "one open alert per silence"
    fresh = client.post("/api/v1/sites/PSH-T2/power", json=_reading(0), headers=gateway)
    assert fresh.json()["cleared"] == ["no_telemetry"]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoServer]:
    if not MosquittoServer.available():
        if IN_CI:
            pytest.fail("mosquitto is not installed")
        pytest.skip("mosquitto is not installed")
    with MosquittoServer(tmp_path / "mqtt", tmp_path / "keys") as server:
        yield server


def _gateway_client(broker: MosquittoServer) -> mqtt.Client:
    account = broker.account(GATEWAY_USER)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-gateway")
    client.username_pw_set(account.username, account.password)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    return client


def _wait(predicate, seconds: float = 10) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_mqtt_samples_are_stored_and_bad_ones_answered(
    platform: Platform, world: World, broker: MosquittoServer
) -> None:
    account = broker.account(BRIDGE_USER)
    bridge = MqttBridge(
        platform, MqttEndpoint("127.0.0.1", broker.port, account.username, account.password)
    )
    bridge.start()
    gateway = _gateway_client(broker)
    errors: list[dict[str, str]] = []
    gateway.on_message = lambda _c, _u, msg: errors.append(json.loads(msg.payload))
    try:
        gateway.subscribe("safecity/sites/+/power/errors", qos=1)
        assert bridge.subscribed.wait(10)
        time.sleep(0.2)  # the gateway's own subscription (for the error answers)
        gateway.publish("safecity/sites/PSH-T1/power", json.dumps(_reading(1)), qos=1)
        gateway.publish("safecity/sites/PSH-T1/power", b"{not json", qos=1)
        gateway.publish("safecity/sites/NOPE/power", json.dumps(_reading(0)), qos=1)
        assert _wait(lambda: bridge.stored == 1 and len(errors) == 2), (bridge.stored, errors)
    finally:
        gateway.loop_stop()
        gateway.disconnect()
        bridge.stop()
    assert any("not found" in e["error"] for e in errors)
    with platform.sessions() as session:
        series = platform.power.series(session, _admin(platform), world.sites["PSH-T1"])
    assert [(r.source, r.battery_soc_pct) for r in series] == [("mqtt", 80)]


def test_broker_refuses_anonymous_clients(broker: MosquittoServer) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="anon")
    results: list[object] = []
    client.on_connect = lambda _c, _u, _f, reason, _p: results.append(reason)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        assert _wait(lambda: bool(results))
    finally:
        client.loop_stop()
        client.disconnect()
    assert getattr(results[0], "is_failure", False)


def test_backfilled_day_is_judged_as_of_each_sample(platform: Platform, world: World) -> None:
    """A gateway that was offline uploads yesterday's samples: the dead panel shows as
    'no charge by day' from yesterday morning, not as nothing."""
    from datetime import UTC, datetime

    from safecity.core.clock import PKT
    from safecity.registry.power_schemas import PowerReadingIn

    yesterday = (utcnow() - timedelta(days=1)).astimezone(PKT)
    start = datetime(yesterday.year, yesterday.month, yesterday.day, 8, 0, tzinfo=PKT)
    gateway = make_user(platform, "gw-backfill", ["site_gateway"], districts=["peshawar"])
    for step in range(0, 37):  # 08:00 .. 14:00 PKT every 10 minutes, panel dead
        at = (start + timedelta(minutes=10 * step)).astimezone(UTC)
        with platform.transaction() as session:
            platform.power.record(
                session,
                gateway,
                "PSH-T1",
                PowerReadingIn(at=at, battery_soc_pct=70, solar_input_w=0, load_w=70, link_up=True),
                source="http",
            )
    with platform.sessions() as session:
        alerts = platform.power.alerts(session, _admin(platform), site_id=world.sites["PSH-T1"])
    assert [a.kind for a in alerts] == ["no_charge_by_day"]
    opened_at = alerts[0].started_at.astimezone(PKT)
    # Daylight starts at 09:00; an hour of dark samples after that opens the alert.
    assert (opened_at.hour, opened_at.minute) == (10, 0)
