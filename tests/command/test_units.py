"""Units: GPS and status reports arrive only from the unit's own account; resends,
late fixes, bad coordinates and late statuses are answered clearly and lose nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from safecity.command.units_models import UnitPosition
from safecity.core.clock import utcnow
from safecity.web.platform import Platform
from tests.command.dispatch_support import Desk


def positions(platform: Platform, unit_id: int) -> int:
    with platform.sessions() as session:
        return session.scalar(select(func.count()).where(UnitPosition.unit_id == unit_id)) or 0


def test_a_resent_fix_is_stored_once(desk: Desk) -> None:
    at = utcnow()
    first = desk.fix("PSH-M1", 34.002, 71.546, at)
    again = desk.fix("PSH-M1", 34.002, 71.546, at)
    assert first.json()["stored"] is True
    assert first.json()["current"] is True
    assert again.status_code == 200
    assert again.json() == {
        "unit_id": desk.units["PSH-M1"],
        "stored": False,
        "current": False,
        "message": "already stored (resend)",
    }
    assert positions(desk.platform, desk.units["PSH-M1"]) == 2  # the roster's first fix + this


def test_a_late_fix_joins_the_track_without_moving_the_unit_back(desk: Desk) -> None:
    now = utcnow()
    desk.fix("PSH-M1", 34.003, 71.547, now)
    late = desk.fix("PSH-M1", 34.100, 71.600, now - timedelta(seconds=30))
    assert late.status_code == 200
    assert late.json()["stored"] is True
    assert late.json()["current"] is False
    unit = desk.call("dispatcher", "GET", f"/api/v1/units/{desk.units['PSH-M1']}").json()
    assert (unit["latitude"], unit["longitude"]) == (34.003, 71.547)
    track = desk.call("dispatcher", "GET", f"/api/v1/units/{desk.units['PSH-M1']}/track").json()[
        "items"
    ]
    # In time order: the late fix first, then the roster fix, then the current one.
    assert [p["latitude"] for p in track] == [34.1, 34.001, 34.003]


@pytest.mark.parametrize(
    "body",
    [
        {"latitude": 91.0, "longitude": 71.5},
        {"latitude": 34.0, "longitude": -181.0},
        {"latitude": 0.0, "longitude": 0.0},
        {"latitude": "north", "longitude": 71.5},
        {"latitude": 34.0, "longitude": 71.5, "speed_kmh": -3},
    ],
)
def test_invalid_coordinates_are_refused(desk: Desk, body: dict[str, object]) -> None:
    before = positions(desk.platform, desk.units["PSH-M1"])
    response = desk.call(
        "PSH-M1",
        "POST",
        f"/api/v1/units/{desk.units['PSH-M1']}/positions",
        json={"recorded_at": utcnow().isoformat()} | body,
    )
    assert response.status_code == 422
    assert response.json()["error"]["message"]
    assert positions(desk.platform, desk.units["PSH-M1"]) == before


def test_a_fix_from_the_future_or_last_week_is_refused(desk: Desk) -> None:
    future = desk.fix("PSH-M1", 34.0, 71.5, utcnow() + timedelta(minutes=10))
    assert future.status_code == 422
    assert "clock" in future.json()["error"]["message"]
    old = desk.fix("PSH-M1", 34.0, 71.5, utcnow() - timedelta(days=3))
    assert old.status_code == 422


def test_a_unit_cannot_report_for_another_unit(desk: Desk) -> None:
    other = desk.units["PSH-M2"]
    fix = desk.call(
        "PSH-M1",
        "POST",
        f"/api/v1/units/{other}/positions",
        json={"recorded_at": utcnow().isoformat(), "latitude": 34.0, "longitude": 71.5},
    )
    assert fix.status_code == 404
    status = desk.call(
        "PSH-M1", "POST", f"/api/v1/units/{other}/status", json={"status": "out_of_service"}
    )
    assert status.status_code == 404
    unit = desk.call("dispatcher", "GET", f"/api/v1/units/{other}").json()
    assert unit["status"] == "available_quarters"
    # A field unit does not browse the roster either.
    assert desk.call("PSH-M1", "GET", "/api/v1/units").status_code == 403


def test_a_late_status_is_refused_and_the_newer_one_stays(desk: Desk) -> None:
    now = utcnow()
    assert desk.status("PSH-M1", "available_mobile", at=now.isoformat()).status_code == 200
    late = desk.status("PSH-M1", "out_of_service", at=(now - timedelta(minutes=1)).isoformat())
    assert late.status_code == 409
    assert "newer status" in late.json()["error"]["message"]
    unit = desk.call("dispatcher", "GET", f"/api/v1/units/{desk.units['PSH-M1']}").json()
    assert unit["status"] == "available_mobile"


def test_without_an_assignment_a_unit_cannot_be_on_scene(desk: Desk) -> None:
    response = desk.status("PSH-M1", "on_scene")
    assert response.status_code == 409
    assert "no assignment" in response.json()["error"]["message"]


def test_roster_changes_need_units_change_and_keep_one_account_per_unit(desk: Desk) -> None:
    body = {"callsign": "PSH-W1", "kind": "traffic_warden", "district": "peshawar"}
    assert desk.call("dispatcher", "POST", "/api/v1/units", json=body).status_code == 403
    made = desk.call("supervisor", "POST", "/api/v1/units", json=body)
    assert made.status_code == 201
    assert made.json()["capabilities"] == ["traffic"]
    assert desk.call("supervisor", "POST", "/api/v1/units", json=body).status_code == 409
    taken = desk.call(
        "supervisor",
        "PATCH",
        f"/api/v1/units/{made.json()['id']}",
        json={"username": "unit-psh-m1"},
    )
    assert taken.status_code == 409
    assert "PSH-M1" in taken.json()["error"]["message"]
    stale = desk.call(
        "supervisor",
        "PATCH",
        f"/api/v1/units/{made.json()['id']}",
        json={"capabilities": ["traffic", "patrol"]},
        headers={"If-Match": "99"},
    )
    assert stale.status_code == 412
    away = desk.call(
        "supervisor", "POST", "/api/v1/units", json=body | {"callsign": "X1", "district": "bannu"}
    )
    assert away.status_code == 422


def batch(desk: Desk, callsign: str, fixes: Sequence[object], unit: str | None = None) -> Any:
    return desk.call(
        callsign,
        "POST",
        f"/api/v1/units/{desk.units[unit or callsign]}/positions/batch",
        json={"fixes": fixes},
    )


def a_fix(at: datetime, lat: float, lon: float = 71.55) -> dict[str, object]:
    return {"recorded_at": at.isoformat(), "latitude": lat, "longitude": lon}


def test_a_batch_answers_each_fix_and_a_bad_one_costs_nothing_else(desk: Desk) -> None:
    unit_id = desk.units["PSH-M1"]
    now = utcnow() + timedelta(seconds=30)  # after the roster fix, within the clock leeway
    assert desk.fix("PSH-M1", 34.010, 71.55, now - timedelta(seconds=10)).status_code == 200
    before = positions(desk.platform, unit_id)
    fixes: list[object] = [
        a_fix(now - timedelta(seconds=8), 34.011),  # stored
        a_fix(now - timedelta(seconds=10), 34.010),  # resend of the single fix above
        a_fix(now - timedelta(seconds=15), 34.020),  # older than the unit's position
        a_fix(now - timedelta(seconds=6), 95.0),  # no such latitude
        a_fix(now - timedelta(seconds=5), 0.0, 0.0),  # a receiver without a fix
        a_fix(now + timedelta(minutes=10), 34.013),  # the device clock runs ahead
        {"latitude": 34.0, "longitude": 71.5},  # no time
        "34.0,71.5",  # not an object at all
        a_fix(now - timedelta(seconds=4), 34.014),  # stored: the newest, so current
        a_fix(now - timedelta(seconds=8), 34.011),  # repeated within the batch
    ]
    response = batch(desk, "PSH-M1", fixes)
    assert response.status_code == 200, response.text
    body = response.json()
    outcomes = [r["outcome"] for r in body["results"]]
    assert outcomes == [
        "stored",
        "duplicate",
        "late",
        "refused",
        "refused",
        "refused",
        "refused",
        "refused",
        "stored",
        "duplicate",
    ]
    assert [r["index"] for r in body["results"]] == list(range(10))
    assert body["counts"] == {"stored": 2, "duplicate": 2, "late": 1, "refused": 5}
    assert body["current"] is True
    messages = [r["message"] for r in body["results"]]
    assert "latitude" in messages[3]
    assert "0,0" in messages[4]
    assert "clock" in messages[5]
    assert "recorded_at" in messages[6]
    assert "valid dictionary" in messages[7]
    assert positions(desk.platform, unit_id) == before + 3  # two stored, one late
    unit = desk.call("dispatcher", "GET", f"/api/v1/units/{unit_id}").json()
    assert (unit["latitude"], unit["longitude"]) == (34.014, 71.55)
    # Sent again whole (the device never saw the answer): all duplicates or refused.
    again = batch(desk, "PSH-M1", fixes).json()
    assert again["counts"] == {"stored": 0, "duplicate": 5, "late": 0, "refused": 5}
    assert again["current"] is False
    assert positions(desk.platform, unit_id) == before + 3


def test_a_batch_of_late_fixes_fills_the_track_without_moving_the_unit(desk: Desk) -> None:
    unit_id = desk.units["PSH-M1"]
    now = utcnow()
    desk.fix("PSH-M1", 34.030, 71.55, now)
    body = batch(
        desk, "PSH-M1", [a_fix(now - timedelta(seconds=s), 34.0 + s / 1000) for s in (9, 6, 3)]
    ).json()
    assert body["counts"]["late"] == 3
    assert body["current"] is False
    unit = desk.call("dispatcher", "GET", f"/api/v1/units/{unit_id}").json()
    assert (unit["latitude"], unit["longitude"]) == (34.03, 71.55)


def test_a_batch_for_another_unit_or_out_of_bounds_is_refused_whole(desk: Desk) -> None:
    other = desk.units["PSH-M2"]
    before = positions(desk.platform, other)
    refused = batch(desk, "PSH-M1", [a_fix(utcnow(), 34.0)], unit="PSH-M2")
    assert refused.status_code == 404
    assert positions(desk.platform, other) == before
    assert batch(desk, "PSH-M1", []).status_code == 422
    too_many = [a_fix(utcnow() - timedelta(seconds=n), 34.0) for n in range(501)]
    response = batch(desk, "PSH-M1", too_many)
    assert response.status_code == 422
    assert "500" in response.json()["error"]["message"]
    assert positions(desk.platform, desk.units["PSH-M1"]) == 1  # the roster's first fix
