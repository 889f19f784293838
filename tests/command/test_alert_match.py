"""A hotlist hit is a machine's reading of a plate: the operator compares the plate crop
with the listed plate, then confirms the match or rejects it as a false read. Either
verdict is kept on the alert (who, when) and audited; no incident (the field action an
alert starts) is opened from a hit until its match is confirmed; a rejected match
dismisses the alert as a misread plate; operators of another district see nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from safecity.audit.models import AuditRecord
from safecity.command.alerts_errors import AlertMatchUnconfirmed
from safecity.command.alerts_models import Alert
from safecity.command.incidents_models import Incident
from safecity.web.platform import Platform
from tests.api.routes_command import raise_alert, snapshot_jpeg
from tests.command.dispatch_support import Desk
from tests.factories import make_user, principal_of, token_for


def confusable_hit(platform: Platform, camera: str = "PSH-TC1", **fields: Any) -> int:
    """LE81234 read by ``camera``, matching the listed LEB1234 through B/8, with its crop;
    ``fields`` override any part of the message."""
    relative = f"plates/{uuid.uuid4().hex}.jpg"
    path = platform.settings.media_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(snapshot_jpeg())
    fields = {
        "title": f"Stolen vehicle LE81234 at {camera} (listed as LEB1234)",
        "plate_crop": relative,
        **fields,
    }
    return raise_alert(
        platform,
        camera,
        plate_text="LE81234",
        reference={
            "plate_read": "41",
            "hotlist_entry": "7",
            "match": "confusable",
            "listed_plate": "LEB1234",
            "reason": "taken at gunpoint, Saddar",
            "source_agency": "CTD Peshawar",
        },
        **fields,
    )


def updates_of(platform: Platform, alert_id: int) -> list[AuditRecord]:
    with platform.sessions() as session:
        return list(
            session.scalars(
                select(AuditRecord)
                .where(
                    AuditRecord.object_type == "alert",
                    AuditRecord.object_id == str(alert_id),
                    AuditRecord.action == "update",
                )
                .order_by(AuditRecord.seq)
            )
        )


def incidents(platform: Platform) -> int:
    with platform.sessions() as session:
        return session.scalar(select(func.count()).select_from(Incident)) or 0


def error_of(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_the_alert_shows_the_read_the_listed_plate_and_the_crop(desk: Desk) -> None:
    alert_id = confusable_hit(desk.platform)
    alert = desk.call("dispatcher", "GET", f"/api/v1/alerts/{alert_id}").json()
    assert alert["has_plate_crop"] is True
    assert alert["hotlist"] == {
        "entry_id": 7,
        "listed_plate": "LEB1234",
        "read_plate": "LE81234",
        "match": "confusable",
        "category": "stolen",
        "reason": "taken at gunpoint, Saddar",
        "source_agency": "CTD Peshawar",
        "verdict": None,
        "checked_by": None,
        "checked_at": None,
        # No entry 7 in this database: nothing to say about whether it is still listed.
        "entry_state": None,
        "entry_ended_at": None,
    }
    crop = desk.call("dispatcher", "GET", f"/api/v1/alerts/{alert_id}/snapshot?which=plate")
    assert (crop.status_code, crop.content[:2]) == (200, b"\xff\xd8")
    # Alerts of other sources have no plate match.
    other = raise_alert(desk.platform, "PSH-TC1", source="analytics", kind="analytics.fight")
    assert desk.call("dispatcher", "GET", f"/api/v1/alerts/{other}").json()["hotlist"] is None


def test_confirming_records_who_and_when_audits_and_acknowledges(desk: Desk) -> None:
    alert_id = confusable_hit(desk.platform)
    answer = desk.call(
        "dispatcher",
        "POST",
        f"/api/v1/alerts/{alert_id}/confirm-match",
        json={"note": "crop reads LEB1234"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "acknowledged", "confirming a new hit acknowledges it"
    assert (body["hotlist"]["verdict"], body["hotlist"]["checked_by"]) == (
        "confirmed",
        "desk-dispatcher",
    )
    assert body["hotlist"]["checked_at"] is not None
    assert (body["handled_by"], body["note"]) == ("desk-dispatcher", "crop reads LEB1234")
    with desk.platform.sessions() as session:
        stored = session.get(Alert, alert_id)
        assert stored is not None
        assert (stored.match_verdict, stored.match_checked_by) == ("confirmed", "desk-dispatcher")
    (record,) = updates_of(desk.platform, alert_id)
    assert record.summary.startswith(f"confirmed the plate match of alert {alert_id}")
    assert (record.actor_name, record.district, record.purpose) == (
        "desk-dispatcher",
        "peshawar",
        "test",
    )
    assert record.before is not None
    assert record.after is not None
    assert (record.before["match_verdict"], record.after["match_verdict"]) == (None, "confirmed")
    assert (record.before["status"], record.after["status"]) == ("new", "acknowledged")
    # A verdict is given once; the second operator is told who gave it.
    again = desk.call("dispatcher2", "POST", f"/api/v1/alerts/{alert_id}/confirm-match")
    assert error_of(again) == (409, "alert_transition_refused")
    assert "already confirmed by desk-dispatcher" in again.json()["error"]["message"]
    rejected = desk.call("dispatcher2", "POST", f"/api/v1/alerts/{alert_id}/reject-match")
    assert rejected.status_code == 409
    # Confirming an escalated hit keeps it escalated.
    escalated = confusable_hit(desk.platform)
    desk.call("dispatcher", "POST", f"/api/v1/alerts/{escalated}/escalate")
    kept = desk.call("dispatcher", "POST", f"/api/v1/alerts/{escalated}/confirm-match").json()
    assert (kept["status"], kept["hotlist"]["verdict"]) == ("escalated", "confirmed")


def test_no_incident_from_a_hit_until_its_match_is_confirmed(desk: Desk) -> None:
    alert_id = confusable_hit(desk.platform)
    url = f"/api/v1/alerts/{alert_id}/incident"
    refused = desk.call("dispatcher", "POST", url, json={"type": "hotlist"})
    assert error_of(refused) == (409, "alert_match_unconfirmed")
    assert "confirm the match before any field action" in refused.json()["error"]["message"]
    assert incidents(desk.platform) == 0, "nothing was created"
    # Acknowledging and escalating are not field action: they stay allowed, and do not
    # stand in for the confirmation.
    assert desk.call("dispatcher", "POST", f"/api/v1/alerts/{alert_id}/acknowledge").is_success
    assert desk.call("dispatcher", "POST", f"/api/v1/alerts/{alert_id}/escalate").is_success
    still = desk.call("dispatcher", "POST", url, json={"type": "hotlist"})
    assert error_of(still) == (409, "alert_match_unconfirmed")
    # The service refuses it too, for any other caller of link_incident.
    with desk.platform.transaction() as session:
        op = principal_of(desk.platform, "desk-dispatcher")
        with pytest.raises(AlertMatchUnconfirmed):
            desk.platform.alerts.link_incident(session, op, alert_id, 99)
    assert incidents(desk.platform) == 0
    confirmed = desk.call("dispatcher", "POST", f"/api/v1/alerts/{alert_id}/confirm-match")
    assert confirmed.status_code == 200, confirmed.text
    made = desk.call("dispatcher", "POST", url, json={"type": "hotlist"})
    assert made.status_code == 201, made.text
    alert = desk.call("dispatcher", "GET", f"/api/v1/alerts/{alert_id}").json()
    assert (alert["status"], alert["incident_id"]) == ("incident", made.json()["id"])
    assert alert["hotlist"]["verdict"] == "confirmed"


def test_a_rejected_match_dismisses_the_alert_as_a_misread_plate(desk: Desk) -> None:
    alert_id = confusable_hit(desk.platform)
    answer = desk.call(
        "dispatcher",
        "POST",
        f"/api/v1/alerts/{alert_id}/reject-match",
        json={"note": "crop reads LE81234, a different car"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["status"], body["dismiss_reason"]) == ("dismissed", "misread_plate")
    assert (body["hotlist"]["verdict"], body["hotlist"]["checked_by"]) == (
        "rejected",
        "desk-dispatcher",
    )
    (record,) = updates_of(desk.platform, alert_id)
    assert record.summary.startswith(
        f"rejected the plate match (misread_plate) of alert {alert_id}"
    )
    assert record.after is not None
    assert (record.after["status"], record.after["match_verdict"]) == ("dismissed", "rejected")
    # Closed: nothing more happens to it, least of all an incident.
    incident = desk.call(
        "dispatcher", "POST", f"/api/v1/alerts/{alert_id}/incident", json={"type": "hotlist"}
    )
    assert incident.status_code == 409
    assert incidents(desk.platform) == 0
    closed = desk.call("dispatcher", "POST", f"/api/v1/alerts/{alert_id}/confirm-match")
    assert error_of(closed) == (409, "alert_closed")


def test_operators_of_another_district_and_viewers_cannot_give_a_verdict(
    desk: Desk,
) -> None:
    alert_id = confusable_hit(desk.platform)
    make_user(desk.platform, "psh-investigator", ["investigator"], districts=["peshawar"])
    viewer = {"Authorization": f"Bearer {token_for(desk.platform, 'psh-investigator')}"}
    for action in ("confirm-match", "reject-match"):
        url = f"/api/v1/alerts/{alert_id}/{action}"
        # Out of scope answers as if the alert did not exist (scope does not leak).
        assert error_of(desk.call("bannu_operator", "POST", url)) == (404, "not_found")
        denied = desk.client.post(url, headers={**viewer, "X-Purpose": "test"})
        assert error_of(denied) == (403, "permission_denied")
    with desk.platform.sessions() as session:
        stored = session.get(Alert, alert_id)
        assert stored is not None
        assert (stored.status, stored.match_verdict, stored.match_checked_by) == ("new", None, None)
    assert updates_of(desk.platform, alert_id) == []


def test_only_hotlist_hits_have_a_match_to_check(desk: Desk) -> None:
    alert_id = raise_alert(desk.platform, "PSH-TC1", source="analytics", kind="analytics.fight")
    refused = desk.call("dispatcher", "POST", f"/api/v1/alerts/{alert_id}/confirm-match")
    assert error_of(refused) == (409, "alert_transition_refused")
    assert "not a hotlist hit" in refused.json()["error"]["message"]
    # Field action from other alerts needs no plate check.
    made = desk.call(
        "dispatcher", "POST", f"/api/v1/alerts/{alert_id}/incident", json={"type": "robbery"}
    )
    assert made.status_code == 201, made.text


def images_of(platform: Platform, alert_id: int) -> tuple[Any, ...]:
    with platform.sessions() as session:
        a = session.get(Alert, alert_id)
        assert a is not None
        return (a.plate_crop, a.snapshot, a.latitude, a.longitude, a.title)


def test_a_later_sighting_does_not_replace_the_crop_an_operator_judged(desk: Desk) -> None:
    key = f"plate:LE81234:{uuid.uuid4().hex}"
    alert_id = confusable_hit(desk.platform, correlation_key=key, latitude=34.01, longitude=71.5)
    # Before any verdict the newest sighting speaks for the alert: the operator is shown
    # (and judges) the newest crop.
    assert (
        confusable_hit(
            desk.platform, "PSH-TC2", correlation_key=key, latitude=34.02, longitude=71.6
        )
        == alert_id
    )
    shown = images_of(desk.platform, alert_id)
    assert shown[2:4] == (34.02, 71.6)
    confirmed = desk.call("dispatcher", "POST", f"/api/v1/alerts/{alert_id}/confirm-match")
    assert confirmed.status_code == 200, confirmed.text
    # Another read of the same text (perhaps another car): counted, but the crop, scene,
    # words and place stay those the operator confirmed.
    assert (
        confusable_hit(
            desk.platform,
            "PSH-TC1",
            correlation_key=key,
            latitude=34.09,
            longitude=71.9,
            title="Stolen vehicle LE81234 elsewhere",
        )
        == alert_id
    )
    assert images_of(desk.platform, alert_id) == shown
    alert = desk.call("dispatcher", "GET", f"/api/v1/alerts/{alert_id}").json()
    assert (alert["count"], alert["hotlist"]["verdict"]) == (3, "confirmed")
    assert alert["last_seen"] > confirmed.json()["last_seen"]
    # The incident starts where the confirmed vehicle was seen.
    made = desk.call(
        "dispatcher", "POST", f"/api/v1/alerts/{alert_id}/incident", json={"type": "hotlist"}
    )
    assert made.status_code == 201, made.text
    assert (made.json()["latitude"], made.json()["longitude"]) == (34.02, 71.6)


def test_dismissing_a_hit_as_a_misread_plate_is_the_not_a_match_verdict(desk: Desk) -> None:
    alert_id = confusable_hit(desk.platform)
    answer = desk.call(
        "dispatcher",
        "POST",
        f"/api/v1/alerts/{alert_id}/dismiss",
        json={"reason": "misread_plate", "note": "a different car"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["status"], body["dismiss_reason"]) == ("dismissed", "misread_plate")
    assert (body["hotlist"]["verdict"], body["hotlist"]["checked_by"]) == (
        "rejected",
        "desk-dispatcher",
    )
    assert body["hotlist"]["checked_at"] is not None
    (record,) = updates_of(desk.platform, alert_id)
    assert record.summary.startswith(f"dismissed (misread_plate) alert {alert_id}")
    assert record.actor_name == "desk-dispatcher"
    assert record.before is not None
    assert record.after is not None
    assert (record.before["match_verdict"], record.after["match_verdict"]) == (None, "rejected")
    assert (record.after["status"], record.after["note"]) == ("dismissed", "a different car")
    # A confirmed match is not turned into "not a match" behind the operator who gave it.
    other = confusable_hit(desk.platform)
    desk.call("dispatcher", "POST", f"/api/v1/alerts/{other}/confirm-match")
    refused = desk.call(
        "dispatcher2", "POST", f"/api/v1/alerts/{other}/dismiss", json={"reason": "misread_plate"}
    )
    assert error_of(refused) == (409, "alert_transition_refused")
    assert "already confirmed by desk-dispatcher" in refused.json()["error"]["message"]
    # Other alerts dismissed as misread plates have no verdict to record.
    plain = raise_alert(desk.platform, "PSH-TC1", source="analytics", kind="analytics.anpr")
    dismissed = desk.call(
        "dispatcher", "POST", f"/api/v1/alerts/{plain}/dismiss", json={"reason": "misread_plate"}
    )
    assert dismissed.status_code == 200, dismissed.text
    assert dismissed.json()["hotlist"] is None
