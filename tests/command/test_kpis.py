"""KPIs: intervals from real incidents (median, p90), alert figures, cameras online, CSV;
and an incident opened from an alert handles that alert."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from safecity.command.incidents_models import Incident
from safecity.command.kpis import percentile
from safecity.core.clock import utcnow
from tests.api.routes_command import raise_alert
from tests.command.dispatch_support import Desk


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 0.5, None),
        ([7.0], 0.9, 7.0),
        ([1.0, 2.0, 3.0], 0.5, 2.0),
        ([1.0, 2.0, 3.0, 4.0], 0.5, 2.5),
        ([10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0], 0.9, 91.0),
        ([3.0, 1.0, 2.0], 0.0, 1.0),  # unsorted input
    ],
)
def test_percentile(values: list[float], q: float, expected: float | None) -> None:
    assert percentile(values, q) == expected


def run_incident(desk: Desk, *, call_seconds: int, unit: str) -> int:
    """A call answered ``call_seconds`` before it was recorded, dispatched, attended, closed."""
    incident = desk.new_incident(
        received_at=(utcnow() - timedelta(seconds=call_seconds)).isoformat()
    )
    iid = int(incident["id"])
    sent = desk.call(
        "dispatcher",
        "POST",
        f"/api/v1/incidents/{iid}/dispatch",
        json={"unit_id": desk.units[unit]},
    )
    assert sent.status_code == 200, sent.text
    assert desk.status(unit, "en_route").status_code == 200
    assert desk.status(unit, "on_scene").status_code == 200
    closed = desk.call(
        "dispatcher",
        "POST",
        f"/api/v1/incidents/{iid}/status",
        json={"status": "closed", "disposition": "resolved"},
    )
    assert closed.status_code == 200
    return iid


def test_kpis_reflect_the_incidents_and_alerts_of_the_window(desk: Desk) -> None:
    run_incident(desk, call_seconds=60, unit="PSH-M1")
    run_incident(desk, call_seconds=120, unit="PSH-M2")
    run_incident(desk, call_seconds=90, unit="PSH-M1")
    hoax = desk.new_incident()
    desk.call(
        "dispatcher", "POST", f"/api/v1/incidents/{hoax['id']}/status", json={"status": "hoax"}
    )
    raise_alert(desk.platform, "PSH-TC1")
    report = desk.call("supervisor", "GET", "/api/v1/kpis").json()
    [row] = report["responses"]
    assert (row["district"], row["agency"], row["priority"]) == ("peshawar", "kp-police", 1)
    assert row["incidents"] == 4
    assert row["triaged_out"] == 1
    # M1 is nearest to the scene each time (released there after each incident): sending
    # M2 the second time was against the recommendation.
    assert row["recommendation_followed_share"] == pytest.approx(2 / 3, abs=0.001)
    calls = row["call_to_create"]
    assert calls["count"] == 4
    assert 60 <= calls["median_seconds"] <= 125
    assert row["total_response"]["count"] == 3
    assert row["travel"]["count"] == 3
    [district] = report["districts"]
    assert district["district"] == "peshawar"
    assert district["alerts"] == 1
    assert district["alerts_per_hour"] == pytest.approx(1 / 24, abs=0.01)
    # Peshawar has PSH-TC1 online and PSH-TC2 offline; Bannu is not this supervisor's.
    assert (district["cameras"], district["cameras_online_share"]) == (2, 0.5)
    exported = desk.call("supervisor", "GET", "/api/v1/kpis/export.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 1
    assert rows[0]["incidents"] == "4"
    assert rows[0]["total_response_n"] == "3"
    assert desk.call("dispatcher", "GET", "/api/v1/kpis").status_code == 403


def test_an_empty_or_backwards_window(desk: Desk) -> None:
    now = utcnow()
    params = {
        "since": (now - timedelta(days=9)).isoformat(),
        "until": (now - timedelta(days=8)).isoformat(),
    }
    empty = desk.call("supervisor", "GET", "/api/v1/kpis", params=params).json()
    assert empty["responses"] == []
    assert empty["districts"][0]["alert_handling"]["median_seconds"] is None
    backwards = desk.call(
        "supervisor",
        "GET",
        "/api/v1/kpis",
        params={"since": params["until"], "until": params["since"]},
    )
    assert backwards.status_code == 422


def test_an_alert_becomes_an_incident_and_is_marked_handled(desk: Desk) -> None:
    alert_id = raise_alert(desk.platform, "PSH-TC1")
    confirmed = desk.call("dispatcher", "POST", f"/api/v1/alerts/{alert_id}/confirm-match")
    assert confirmed.status_code == 200, confirmed.text
    made = desk.call(
        "dispatcher", "POST", f"/api/v1/alerts/{alert_id}/incident", json={"type": "hotlist"}
    )
    assert made.status_code == 201, made.text
    incident = made.json()
    assert incident["source"] == "alert"
    assert incident["alert_id"] == alert_id
    assert incident["district"] == "peshawar"
    alert = desk.call("dispatcher", "GET", f"/api/v1/alerts/{alert_id}").json()
    assert alert["status"] == "incident"
    assert alert["incident_id"] == incident["id"]
    again = desk.call(
        "dispatcher2", "POST", f"/api/v1/alerts/{alert_id}/incident", json={"type": "hotlist"}
    )
    assert again.status_code == 409
    with desk.platform.sessions() as session:
        assert session.query(Incident).count() == 1  # the refused second one left nothing
