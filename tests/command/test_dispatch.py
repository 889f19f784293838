"""Dispatch: the nearest suitable available unit is recommended, the choice is recorded,
a busy unit or a stale incident is refused, and the units' reports move the incident."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from safecity.command.dispatch_routing import Point, StraightLineEstimator, haversine_m
from safecity.command.units_models import Dispatch
from tests.command.dispatch_support import Desk


@pytest.mark.parametrize(
    ("a", "b", "metres"),
    [
        ((34.0, 71.5), (34.0, 71.5), 0.0),
        ((34.0, 71.5), (35.0, 71.5), 111_195.0),  # one degree of latitude
        ((0.0, 0.0), (0.0, 1.0), 111_195.0),  # one degree of longitude at the equator
        ((34.0, 71.5), (34.0, 72.5), 92_184.0),  # shorter at 34 N: cos(34)
    ],
)
def test_haversine(a: tuple[float, float], b: tuple[float, float], metres: float) -> None:
    assert haversine_m(Point(*a), Point(*b)) == pytest.approx(metres, abs=5)


def test_straight_line_estimate_applies_road_factor_and_speed() -> None:
    legs = StraightLineEstimator(road_factor=1.5).estimate(
        [(Point(34.0, 71.5), 36.0), (Point(34.0, 71.5), 72.0)], Point(34.01, 71.5)
    )
    assert legs[0].distance_m == pytest.approx(1112, abs=2)
    assert legs[0].seconds == pytest.approx(1112 * 1.5 / 10, rel=1e-3)  # 36 km/h = 10 m/s
    assert legs[1].seconds == pytest.approx(legs[0].seconds / 2)


def test_recommendation_is_capable_available_units_of_the_district_nearest_first(
    desk: Desk,
) -> None:
    incident = desk.new_incident(latitude=34.0, longitude=71.545)  # robbery at Saddar
    ranked = desk.call(
        "dispatcher", "GET", f"/api/v1/incidents/{incident['id']}/recommendations"
    ).json()["items"]
    # Police units only (the ambulance lacks 'patrol'), never Bannu's; nearest first.
    assert [r["callsign"] for r in ranked] == ["PSH-M1", "PSH-M2", "PSH-B1"]
    assert [r["rank"] for r in ranked] == [1, 2, 3]
    assert ranked[0]["estimated_seconds"] < ranked[1]["estimated_seconds"]
    medical = desk.new_incident(type="medical", latitude=34.0, longitude=71.545)
    ranked = desk.call(
        "dispatcher", "GET", f"/api/v1/incidents/{medical['id']}/recommendations"
    ).json()["items"]
    assert [r["callsign"] for r in ranked] == ["PSH-R1"]


def test_dispatch_records_whether_the_recommendation_was_followed(desk: Desk) -> None:
    incident = desk.new_incident(latitude=34.0, longitude=71.545)
    url = f"/api/v1/incidents/{incident['id']}/dispatch"
    sent = desk.call("dispatcher", "POST", url, json={"unit_id": desk.units["PSH-M2"]})
    assert sent.status_code == 200, sent.text
    body = sent.json()
    assert body["status"] == "dispatched"
    assert body["unit_ids"] == [desk.units["PSH-M2"]]
    assert "rank 2" in body["timeline"][-1]["note"]
    sent = desk.call("dispatcher", "POST", url, json={"unit_id": desk.units["PSH-M1"]})
    assert sent.status_code == 200
    with desk.platform.sessions() as session:
        rows = session.scalars(select(Dispatch).order_by(Dispatch.id)).all()
        assert [(r.recommended_rank, r.followed_recommendation) for r in rows] == [
            (2, False),
            (1, True),
        ]
    # The units are no longer available for the next incident.
    other = desk.new_incident(latitude=34.0, longitude=71.545)
    ranked = desk.call(
        "dispatcher", "GET", f"/api/v1/incidents/{other['id']}/recommendations"
    ).json()["items"]
    assert [r["callsign"] for r in ranked] == ["PSH-B1"]


def test_a_busy_unit_cannot_be_dispatched(desk: Desk) -> None:
    first = desk.new_incident()
    second = desk.new_incident()
    unit = desk.units["PSH-M1"]
    ok = desk.call(
        "dispatcher", "POST", f"/api/v1/incidents/{first['id']}/dispatch", json={"unit_id": unit}
    )
    assert ok.status_code == 200
    busy = desk.call(
        "dispatcher", "POST", f"/api/v1/incidents/{second['id']}/dispatch", json={"unit_id": unit}
    )
    assert busy.status_code == 409
    assert "PSH-M1" in busy.json()["error"]["message"]
    assert f"incident {first['id']}" in busy.json()["error"]["message"]
    after = desk.call("dispatcher", "GET", f"/api/v1/incidents/{second['id']}").json()
    assert after["status"] == "created"
    assert after["unit_ids"] == []


def test_out_of_service_and_other_district_units_are_refused(desk: Desk) -> None:
    incident = desk.new_incident()
    url = f"/api/v1/incidents/{incident['id']}/dispatch"
    bannu = desk.call("dispatcher", "POST", url, json={"unit_id": desk.units["BNU-M1"]})
    assert bannu.status_code == 404
    assert desk.status("PSH-B1", "out_of_service").status_code == 200
    out = desk.call("dispatcher", "POST", url, json={"unit_id": desk.units["PSH-B1"]})
    assert out.status_code == 409
    assert "out of service" in out.json()["error"]["message"]


def test_two_dispatchers_at_once_one_wins_the_other_gets_412(desk: Desk) -> None:
    incident = desk.new_incident()
    url = f"/api/v1/incidents/{incident['id']}/dispatch"
    seen = {"If-Match": str(incident["version"])}
    first = desk.call(
        "dispatcher", "POST", url, json={"unit_id": desk.units["PSH-M1"]}, headers=seen
    )
    assert first.status_code == 200
    second = desk.call(
        "dispatcher2", "POST", url, json={"unit_id": desk.units["PSH-M2"]}, headers=seen
    )
    assert second.status_code == 412
    assert "reload" in second.json()["error"]["message"]
    final = desk.call("dispatcher", "GET", f"/api/v1/incidents/{incident['id']}").json()
    assert final["unit_ids"] == [desk.units["PSH-M1"]]
    unit = desk.call("dispatcher", "GET", f"/api/v1/units/{desk.units['PSH-M2']}").json()
    assert unit["status"] == "available_quarters"  # nothing half-done


def test_the_units_reports_move_the_incident_to_closed(desk: Desk) -> None:
    incident = desk.new_incident()
    iid = incident["id"]
    desk.call(
        "dispatcher",
        "POST",
        f"/api/v1/incidents/{iid}/dispatch",
        json={"unit_id": desk.units["PSH-M1"]},
    )
    ack = desk.call("PSH-M1", "POST", f"/api/v1/units/{desk.units['PSH-M1']}/acknowledge")
    assert ack.status_code == 200
    assert desk.status("PSH-M1", "en_route").status_code == 200
    assert desk.status("PSH-M1", "on_scene").status_code == 200
    # Going back to available is the dispatcher's decision while the incident is open.
    assert desk.status("PSH-M1", "available_mobile").status_code == 409
    live = desk.call("dispatcher", "GET", f"/api/v1/incidents/{iid}").json()
    assert live["status"] == "on_scene"
    assert live["en_route_at"]
    assert live["on_scene_at"]
    kinds = [e["kind"] for e in live["timeline"]]
    assert kinds[-4:] == ["dispatched", "unit_acknowledged", "unit_en_route", "unit_on_scene"]
    cleared = desk.call(
        "dispatcher", "POST", f"/api/v1/incidents/{iid}/status", json={"status": "cleared"}
    )
    assert cleared.status_code == 200
    assert cleared.json()["unit_ids"] == []
    unit = desk.call("dispatcher", "GET", f"/api/v1/units/{desk.units['PSH-M1']}").json()
    assert unit["status"] == "available_mobile"
    assert unit["incident_id"] is None
    closed = desk.call(
        "dispatcher",
        "POST",
        f"/api/v1/incidents/{iid}/status",
        json={"status": "closed", "disposition": "suspect arrested"},
    )
    assert closed.json()["status"] == "closed"


def test_the_pages_take_a_call_through_dispatch_and_the_field_to_the_kpis(desk: Desk) -> None:
    """Server-rendered path: call form, dispatch button, field-unit buttons, dashboard."""
    form = {
        "district": "peshawar",
        "type": "robbery",
        "priority": "",
        "latitude": "34.0005",
        "longitude": "71.5449",
        "caller_number": "0345-1112223",
        "landmark": "Qissa Khwani",
        "narrative": "",
    }
    bad = desk.call("call_taker", "POST", "/incidents", data=form | {"latitude": "north"})
    assert bad.status_code == 422
    assert 'data-field="latitude"' in bad.text
    made = desk.call("call_taker", "POST", "/incidents", data=form, follow_redirects=False)
    assert made.status_code == 303, made.text
    url = made.headers["location"]
    page = desk.call("dispatcher", "GET", url)
    assert "Qissa Khwani" in page.text
    assert "Dispatch PSH-M1" in page.text  # the nearest unit is offered first
    iid = int(url.rsplit("/", 1)[1])
    incident = desk.call("dispatcher", "GET", f"/api/v1/incidents/{iid}").json()
    stale = desk.call(
        "dispatcher",
        "POST",
        f"{url}/dispatch",
        data={"unit_id": str(desk.units["PSH-M1"]), "version": str(incident["version"] + 5)},
        follow_redirects=False,
    )
    assert "error=" in stale.headers["location"]
    sent = desk.call(
        "dispatcher",
        "POST",
        f"{url}/dispatch",
        data={"unit_id": str(desk.units["PSH-M1"]), "version": str(incident["version"])},
        follow_redirects=False,
    )
    assert sent.headers["location"] == url
    field = desk.call("PSH-M1", "GET", "/field")
    assert f"Incident {iid}" in field.text
    assert "Qissa Khwani" in field.text
    unit = desk.units["PSH-M1"]
    for status in ("acknowledged", "en_route", "on_scene"):
        moved = desk.call(
            "PSH-M1",
            "POST",
            f"/field/{unit}/status",
            data={"status": status},
            follow_redirects=False,
        )
        assert moved.headers["location"] == "/field", (status, moved.headers["location"])
    refused = desk.call(
        "PSH-M1",
        "POST",
        f"/field/{unit}/status",
        data={"status": "en_route"},
        follow_redirects=False,
    )
    assert "error=" in refused.headers["location"]
    closed = desk.call(
        "dispatcher",
        "POST",
        f"{url}/status",
        data={"status": "closed", "disposition": "suspect fled"},
        follow_redirects=False,
    )
    assert closed.headers["location"] == url
    assert desk.call("dispatcher", "GET", f"/api/v1/incidents/{iid}").json()["status"] == "closed"
    dashboard = desk.call("supervisor", "GET", "/kpis")
    assert dashboard.status_code == 200
    assert "<svg" in dashboard.text
    assert "peshawar" in dashboard.text
