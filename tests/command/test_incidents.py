"""Incidents: recorded from calls and the API, triaged fast, closed with a disposition,
referred across agencies, every change on the timeline and in the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from safecity.audit.models import AuditRecord
from safecity.web.platform import Platform
from tests.command.dispatch_support import Desk


def audit_actions(platform: Platform, object_id: int) -> list[str]:
    with platform.sessions() as session:
        return list(
            session.scalars(
                select(AuditRecord.action)
                .where(
                    AuditRecord.object_type == "incident", AuditRecord.object_id == str(object_id)
                )
                .order_by(AuditRecord.seq)
            )
        )


def test_a_call_becomes_an_incident_with_its_timeline_and_audit(desk: Desk) -> None:
    incident = desk.new_incident()
    assert incident["status"] == "created"
    assert incident["agency"] == "kp-police"
    assert incident["priority"] == 1
    assert incident["source"] == "call"
    assert incident["caller_number"] == "0300-1234567"
    assert [e["kind"] for e in incident["timeline"]] == ["received", "created"]
    assert incident["received_at"] <= incident["created_at"]
    listed = desk.call("dispatcher", "GET", "/api/v1/incidents?open=true").json()
    assert [i["id"] for i in listed["items"]] == [incident["id"]]
    assert {"id", "latitude", "longitude", "status"} <= set(listed["items"][0])
    assert desk.call("dispatcher", "GET", f"/api/v1/incidents/{incident['id']}").status_code == 200
    assert audit_actions(desk.platform, incident["id"]) == ["create", "view"]


def test_scope_other_district_incidents_are_invisible_and_cannot_be_created(desk: Desk) -> None:
    incident = desk.new_incident()
    assert (
        desk.call("bannu_operator", "GET", f"/api/v1/incidents/{incident['id']}").status_code == 404
    )
    assert desk.call("bannu_operator", "GET", "/api/v1/incidents").json()["items"] == []
    response = desk.call(
        "call_taker",
        "POST",
        "/api/v1/incidents",
        json={"district": "bannu", "type": "fire", "latitude": 32.98, "longitude": 70.6},
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "district"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "alien_landing"}, "type"),
        ({"priority": 7}, "priority"),
        ({"latitude": 95.0}, "latitude"),
        ({"latitude": 0.0, "longitude": 0.0}, None),
        ({"caller_number": "call me maybe"}, "caller_number"),
        ({"received_at": "2099-01-01T00:00:00+00:00"}, "received_at"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_calls_are_refused_clearly_and_nothing_is_created(
    desk: Desk, body: dict[str, object], field: str | None
) -> None:
    base = {"district": "peshawar", "type": "robbery", "latitude": 34.0, "longitude": 71.54}
    response = desk.call("call_taker", "POST", "/api/v1/incidents", json=base | body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["message"]
    if field is not None:
        assert field in (error.get("field") or "") + error["message"]
    assert desk.call("dispatcher", "GET", "/api/v1/incidents").json()["total"] == 0


def test_hoax_and_duplicate_triage_in_one_request_each(desk: Desk) -> None:
    first = desk.new_incident()
    hoax = desk.new_incident(narrative="Caller laughing, no details")
    repeat = desk.new_incident(caller_number="0311-7654321")
    done = desk.call(
        "dispatcher", "POST", f"/api/v1/incidents/{hoax['id']}/status", json={"status": "hoax"}
    )
    assert done.status_code == 200
    assert done.json()["status"] == "hoax"
    missing = desk.call(
        "dispatcher",
        "POST",
        f"/api/v1/incidents/{repeat['id']}/status",
        json={"status": "duplicate"},
    )
    assert missing.status_code == 422
    assert missing.json()["error"]["field"] == "duplicate_of"
    dup = desk.call(
        "dispatcher",
        "POST",
        f"/api/v1/incidents/{repeat['id']}/status",
        json={"status": "duplicate", "duplicate_of": first["id"]},
    )
    assert dup.status_code == 200
    assert dup.json()["duplicate_of_id"] == first["id"]
    again = desk.call(
        "dispatcher", "POST", f"/api/v1/incidents/{hoax['id']}/status", json={"status": "hoax"}
    )
    assert again.status_code == 409
    open_ids = [
        i["id"]
        for i in desk.call("dispatcher", "GET", "/api/v1/incidents?open=true").json()["items"]
    ]
    assert open_ids == [first["id"]]
    # A call taker records calls; triage and closing belong to dispatchers.
    refused = desk.call(
        "call_taker", "POST", f"/api/v1/incidents/{first['id']}/status", json={"status": "hoax"}
    )
    assert refused.status_code == 403


def test_closing_needs_a_disposition(desk: Desk) -> None:
    incident = desk.new_incident()
    url = f"/api/v1/incidents/{incident['id']}/status"
    bare = desk.call("dispatcher", "POST", url, json={"status": "closed"})
    assert bare.status_code == 422
    assert bare.json()["error"]["field"] == "disposition"
    closed = desk.call(
        "dispatcher", "POST", url, json={"status": "closed", "disposition": "advice given by phone"}
    )
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    assert closed.json()["closed_at"]
    assert closed.json()["timeline"][-1]["note"] == "advice given by phone"


def test_referral_creates_a_linked_incident_for_the_other_agency(desk: Desk) -> None:
    incident = desk.new_incident(type="assault", narrative="Man injured in a fight")
    url = f"/api/v1/incidents/{incident['id']}/referral"
    wrong = desk.call("dispatcher", "POST", url, json={"agency": "rescue-1122", "type": "robbery"})
    assert wrong.status_code == 422
    assert wrong.json()["error"]["field"] == "type"
    linked = desk.call(
        "dispatcher",
        "POST",
        url,
        json={"agency": "rescue-1122", "type": "medical", "note": "needs an ambulance"},
    )
    assert linked.status_code == 201, linked.text
    body = linked.json()
    assert body["agency"] == "rescue-1122"
    assert body["parent_id"] == incident["id"]
    assert body["source"] == "referral"
    assert body["district"] == "peshawar"
    assert body["received_at"] == incident["received_at"]  # the call is still the same call
    original = desk.call("dispatcher", "GET", f"/api/v1/incidents/{incident['id']}").json()
    assert original["status"] == "referred"
    assert str(body["id"]) in original["disposition"]


def test_a_stale_version_is_refused_with_412_and_says_what_changed(desk: Desk) -> None:
    incident = desk.new_incident()
    url = f"/api/v1/incidents/{incident['id']}/status"
    first = desk.call(
        "dispatcher",
        "POST",
        url,
        json={"status": "hoax"},
        headers={"If-Match": str(incident["version"])},
    )
    assert first.status_code == 200
    second = desk.call(
        "dispatcher2",
        "POST",
        url,
        json={"status": "cancelled"},
        headers={"If-Match": str(incident["version"])},
    )
    assert second.status_code == 412
    assert "hoax" in second.json()["error"]["message"]
    final = desk.call("dispatcher", "GET", f"/api/v1/incidents/{incident['id']}").json()
    assert final["status"] == "hoax"
