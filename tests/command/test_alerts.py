"""Alerts as the control room needs them: stored once per message, correlated into one
alert with a count, shown only inside the operator's districts, handled with optimistic
locking, every action audited; camera health and site power raise them through the outbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from safecity.audit.models import AuditRecord
from safecity.command.alerts_models import Alert
from safecity.contracts.alerts import AlertRaised
from safecity.contracts.ingest import CameraHealth, HealthProblem
from safecity.core.clock import utcnow
from safecity.core.errors import Conflict, NotFound, PermissionDenied
from safecity.db.outbox import OutboxMessage
from safecity.registry.power_schemas import PowerReadingIn
from safecity.web.app import create_app
from safecity.web.platform import Platform
from tests.api.routes_command import alert_message, raise_alert
from tests.factories import World, make_user, principal_of, token_for

PURPOSE = "Control-room shift 3"


@pytest.fixture
def api(platform: Platform) -> Iterator[TestClient]:
    with TestClient(
        create_app(platform), base_url="http://127.0.0.1", follow_redirects=False
    ) as client:
        yield client


def headers(platform: Platform, username: str, **extra: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token_for(platform, username)}",
        "X-Purpose": PURPOSE,
        **extra,
    }


def ingest(platform: Platform, message: AlertRaised) -> int | None:
    with platform.transaction() as session:
        result = platform.alerts.ingest(session, message)
    return None if result is None else result.alert.id


def stored(platform: Platform, alert_id: int) -> Alert:
    with platform.sessions() as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        session.expunge(alert)
        return alert


# -- from the bus ----------------------------------------------------------------------------


def test_a_redelivered_message_is_stored_once(platform: Platform, world: World) -> None:
    message = alert_message("PSH-TC1")
    first = ingest(platform, message)
    assert first is not None
    assert ingest(platform, message) is None, "the same message id folds in once"
    assert stored(platform, first).count == 1


def test_same_key_within_the_window_is_one_alert_with_a_count(
    platform: Platform, world: World
) -> None:
    window = platform.alerts.correlation.window
    t0 = utcnow() - timedelta(hours=3)
    key = "plate:LEB3656"
    first = ingest(platform, alert_message("PSH-TC1", at=t0, correlation_key=key, priority=3))
    # Another camera of the same district sees the plate; a late message arrives out of order.
    second = ingest(
        platform,
        alert_message("PSH-TC2", at=t0 + window / 2, correlation_key=key, priority=1),
    )
    late = ingest(
        platform, alert_message("PSH-TC1", at=t0 - timedelta(seconds=30), correlation_key=key)
    )
    assert first == second == late
    assert first is not None
    alert = stored(platform, first)
    assert alert.count == 3
    assert alert.priority == 1, "the most urgent occurrence sets the priority"
    assert (alert.first_seen, alert.last_seen) == (t0 - timedelta(seconds=30), t0 + window / 2)
    # Past the window after the last sighting: a new alert.
    later = ingest(platform, alert_message("PSH-TC1", at=t0 + window * 2, correlation_key=key))
    assert later is not None
    assert later != first
    # The same key in another district is another district's alert.
    bannu = ingest(platform, alert_message("BNU-TC1", at=t0, correlation_key=key))
    assert bannu not in (first, later)


def test_a_closed_alert_is_never_reopened(platform: Platform, world: World) -> None:
    key = "camera:PSH-TC1:zone_intrusion"
    first = ingest(platform, alert_message("PSH-TC1", correlation_key=key))
    assert first is not None
    make_user(platform, "op-psh", ["operator"], districts=["peshawar"])
    with platform.transaction() as session:
        platform.alerts.dismiss(
            session, principal_of(platform, "op-psh"), first, reason="false_alarm"
        )
    again = ingest(platform, alert_message("PSH-TC1", correlation_key=key))
    assert again is not None
    assert again != first


def test_unknown_places(platform: Platform, world: World) -> None:
    # An unknown camera with a district is stored against the district.
    kept = ingest(platform, alert_message("PSH-GHOST9", district="peshawar"))
    assert kept is not None
    alert = stored(platform, kept)
    assert (alert.camera_id, alert.camera_code) == (None, "PSH-GHOST9")
    # The longest camera id the bus contract allows is kept whole (PostgreSQL refused
    # codes over 40 characters, and the alert was redelivered for ever).
    longest = "PSH-" + "G" * 60
    kept_long = ingest(platform, alert_message(longest, district="peshawar"))
    assert kept_long is not None
    assert stored(platform, kept_long).camera_code == longest
    # A known site places the alert in the site's district, at the site.
    at_site = ingest(
        platform,
        AlertRaised(
            source="power",
            kind="power.low_battery",
            priority=3,
            title="Battery low",
            at=utcnow(),
            site_code="BNU-T1",
            correlation_key="site:BNU-T1:low_battery",
        ),
    )
    assert at_site is not None
    assert stored(platform, at_site).site_id == world.sites["BNU-T1"]
    # Nothing known and no district: refused, counted, logged; nothing stored.
    before = sum(platform.alerts.refused.values())
    assert ingest(platform, alert_message("NOWHERE-1")) is None
    assert ingest(platform, alert_message("NOWHERE-2", district="atlantis")) is None
    assert sum(platform.alerts.refused.values()) == before + 2
    assert platform.alerts.refused["no_place"] >= 1
    assert platform.alerts.refused["unknown_district"] >= 1
    with platform.sessions() as session:
        codes = set(session.scalars(select(Alert.camera_code)))
    assert not {"NOWHERE-1", "NOWHERE-2"} & codes


def test_a_malformed_alert_is_refused_by_the_contract() -> None:
    with pytest.raises(ValueError, match="needs a camera, a site or a district"):
        AlertRaised(
            source="analytics", kind="x", priority=1, title="t", at=utcnow(), correlation_key="k"
        )
    with pytest.raises(ValueError, match="priority"):
        alert_message("PSH-TC1", priority=9)
    with pytest.raises(ValueError, match="snapshot"):
        alert_message("PSH-TC1", snapshot="../../etc/passwd")


# -- for people ------------------------------------------------------------------------------


def test_the_queue_shows_only_districts_in_scope_most_urgent_then_oldest(
    api: TestClient, platform: Platform, world: World
) -> None:
    make_user(platform, "psh-op", ["operator"], districts=["peshawar"])
    now = utcnow()
    old_p2 = raise_alert(platform, "PSH-TC1", priority=2, at=now - timedelta(minutes=20))
    new_p2 = raise_alert(platform, "PSH-TC2", priority=2, at=now - timedelta(minutes=5))
    p1 = raise_alert(platform, "PSH-TC1", priority=1, at=now - timedelta(minutes=1))
    p4 = raise_alert(platform, "PSH-TC2", priority=4, at=now - timedelta(minutes=30))
    bannu = raise_alert(platform, "BNU-TC1", priority=1, at=now)
    h = headers(platform, "psh-op")
    listed = api.get("/api/v1/alerts", headers=h)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [a["id"] for a in body["items"]] == [p1, old_p2, new_p2, p4]
    assert body["total"] == 4
    assert "bannu" not in listed.text.lower()
    assert api.get(f"/api/v1/alerts/{bannu}", headers=h).status_code == 404
    assert api.get(f"/api/v1/alerts/{bannu}/snapshot", headers=h).status_code == 404
    acted = api.post(f"/api/v1/alerts/{bannu}/acknowledge", headers=h)
    assert acted.status_code == 404
    # Filters.

    def ids(query: str) -> list[int]:
        return [a["id"] for a in api.get(f"/api/v1/alerts?{query}", headers=h).json()["items"]]

    assert ids("priority=2") == [old_p2, new_p2]
    assert ids("district=bannu") == []
    since = (now - timedelta(minutes=10)).isoformat().replace("+", "%2B")
    assert ids(f"since={since}") == [p1, new_p2]
    api.post(f"/api/v1/alerts/{p1}/acknowledge", headers=h)
    assert ids("status=acknowledged") == [p1]
    assert ids("status=new") == [old_p2, new_p2, p4]
    assert api.get("/api/v1/alerts?status=bogus", headers=h).status_code == 422
    # Reads are audited with the stated purpose.
    with platform.sessions() as session:
        reads = session.scalars(
            select(AuditRecord).where(
                AuditRecord.object_type == "alert", AuditRecord.action == "view"
            )
        ).all()
    assert reads
    assert all(r.purpose == PURPOSE for r in reads)


def test_snapshot_is_served_and_audited(api: TestClient, platform: Platform, world: World) -> None:
    make_user(platform, "viewer", ["investigator"], districts=["peshawar"])
    alert_id = raise_alert(platform, "PSH-TC1")
    h = headers(platform, "viewer")
    image = api.get(f"/api/v1/alerts/{alert_id}/snapshot", headers=h)
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/jpeg"
    assert image.content[:2] == b"\xff\xd8"
    assert api.get(f"/api/v1/alerts/{alert_id}/snapshot?which=plate", headers=h).status_code == 404
    with platform.sessions() as session:
        record = session.scalars(
            select(AuditRecord).where(AuditRecord.object_type == "alert_image")
        ).one()
    assert (record.object_id, record.district, record.purpose) == (
        str(alert_id),
        "peshawar",
        PURPOSE,
    )


def test_acknowledge_escalate_dismiss_with_reasons_and_audit(
    api: TestClient, platform: Platform, world: World
) -> None:
    make_user(platform, "op-one", ["operator"], districts=["peshawar"])
    h = headers(platform, "op-one")
    alert_id = raise_alert(platform, "PSH-TC1")
    acked = api.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=h)
    assert acked.status_code == 200, acked.text
    assert (acked.json()["status"], acked.json()["handled_by"]) == ("acknowledged", "op-one")
    again = api.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=h)
    assert again.status_code == 409
    assert "already acknowledged by op-one" in again.json()["error"]["message"]
    escalated = api.post(
        f"/api/v1/alerts/{alert_id}/escalate", json={"note": "armed suspects"}, headers=h
    )
    assert escalated.json()["status"] == "escalated"
    bad = api.post(f"/api/v1/alerts/{alert_id}/dismiss", json={"reason": "bored"}, headers=h)
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "reason"
    missing = api.post(f"/api/v1/alerts/{alert_id}/dismiss", json={}, headers=h)
    assert missing.status_code == 422
    dismissed = api.post(
        f"/api/v1/alerts/{alert_id}/dismiss", json={"reason": "false_alarm"}, headers=h
    )
    assert dismissed.status_code == 200
    assert (dismissed.json()["status"], dismissed.json()["dismiss_reason"]) == (
        "dismissed",
        "false_alarm",
    )
    closed = api.post(f"/api/v1/alerts/{alert_id}/escalate", headers=h)
    assert closed.status_code == 409
    assert "closed (dismissed as false_alarm by op-one)" in closed.json()["error"]["message"]
    with platform.sessions() as session:
        changes = session.scalars(
            select(AuditRecord)
            .where(AuditRecord.object_type == "alert", AuditRecord.action == "update")
            .order_by(AuditRecord.seq)
        ).all()
    assert [r.after["status"] for r in changes if r.after] == [
        "acknowledged",
        "escalated",
        "dismissed",
    ]
    assert all(r.actor_name == "op-one" and r.purpose == PURPOSE for r in changes)
    # Seeing alerts is not handling them.
    make_user(platform, "inv", ["investigator"], districts=["peshawar"])
    other = raise_alert(platform, "PSH-TC1")
    refused = api.post(f"/api/v1/alerts/{other}/acknowledge", headers=headers(platform, "inv"))
    assert refused.status_code == 403


def test_two_operators_at_once_one_wins_the_other_is_told(
    api: TestClient, platform: Platform, world: World
) -> None:
    make_user(platform, "first", ["operator"], districts=["peshawar"])
    make_user(platform, "second", ["operator"], districts=["peshawar"])
    alert_id = raise_alert(platform, "PSH-TC1")
    seen = api.get(f"/api/v1/alerts/{alert_id}", headers=headers(platform, "first")).json()
    version = f'"{seen["version"]}"'
    won = api.post(
        f"/api/v1/alerts/{alert_id}/escalate",
        headers=headers(platform, "first", **{"If-Match": version}),
    )
    assert won.status_code == 200
    lost = api.post(
        f"/api/v1/alerts/{alert_id}/dismiss",
        json={"reason": "duplicate"},
        headers=headers(platform, "second", **{"If-Match": version}),
    )
    assert lost.status_code == 412
    message = lost.json()["error"]["message"]
    assert "changed since you saw it" in message
    assert "escalated by first" in message
    # The version may also travel in the body; disagreeing with If-Match is refused.
    current = won.json()["version"]
    clash = api.post(
        f"/api/v1/alerts/{alert_id}/dismiss",
        json={"reason": "duplicate", "version": current},
        headers=headers(platform, "second", **{"If-Match": f'"{current + 5}"'}),
    )
    assert clash.status_code == 422
    assert stored(platform, alert_id).status == "escalated"


def test_link_incident_for_the_incidents_module(platform: Platform, world: World) -> None:
    make_user(platform, "op-psh", ["operator"], districts=["peshawar"])
    make_user(platform, "op-bnu", ["operator"], districts=["bannu"])
    make_user(platform, "inv", ["investigator"], districts=["peshawar"])
    op, bnu, inv = (principal_of(platform, u) for u in ("op-psh", "op-bnu", "inv"))
    alert_id = raise_alert(platform, "PSH-TC1", source="analytics", kind="analytics.fight")
    with platform.transaction() as session:
        with pytest.raises(NotFound):
            platform.alerts.link_incident(session, bnu, alert_id, 7)
        with pytest.raises(PermissionDenied):
            platform.alerts.link_incident(session, inv, alert_id, 7)
        linked = platform.alerts.link_incident(session, op, alert_id, 7)
        assert (linked.status, linked.incident_id) == ("incident", 7)
        assert platform.alerts.link_incident(session, op, alert_id, 7).version == linked.version
        with pytest.raises(Conflict, match="incident 7"):
            platform.alerts.link_incident(session, op, alert_id, 8)


# -- health and power raise alerts through the outbox ---------------------------------------


def outbox_alerts(platform: Platform) -> list[AlertRaised]:
    with platform.sessions() as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.subject == AlertRaised.subject)
        ).all()
    return [AlertRaised.model_validate(r.payload) for r in rows]


def test_camera_problems_and_power_problems_raise_alerts(platform: Platform, world: World) -> None:
    t0 = utcnow() - timedelta(minutes=5)
    offline = HealthProblem(code="offline", detail="connection refused", since=t0)
    for minute in (0, 1):  # the same open problem reported twice raises one alert
        report = CameraHealth(
            camera_id="PSH-TC1",
            state="reconnecting",
            state_since=t0,
            fps=0,
            bitrate_bps=0,
            reconnects=3,
            recording=False,
            segments_closed=0,
            frames_dropped=0,
            problems=(offline,),
            emitted_at=t0 + timedelta(minutes=minute),
        )
        with platform.transaction() as session:
            platform.recordings.record_health(session, report)
    make_user(platform, "gateway-1", ["site_gateway"], all_districts=True)
    with platform.transaction() as session:
        platform.power.record(
            session,
            principal_of(platform, "gateway-1"),
            "BNU-T1",
            PowerReadingIn(at=utcnow(), battery_soc_pct=8),
            source="http",
        )
    raised = outbox_alerts(platform)
    assert [(m.kind, m.priority, m.camera_id, m.site_code) for m in raised] == [
        ("health.offline", 2, "PSH-TC1", None),
        ("power.low_battery", 3, None, "BNU-T1"),
    ]
    # And the consumer files them where they belong.
    for message in raised:
        assert ingest(platform, message) is not None
    with platform.sessions() as session:
        places = {(k, d) for k, d in session.execute(select(Alert.kind, Alert.district_id))}
    peshawar_id = stored_district(platform, "peshawar")
    assert ("health.offline", peshawar_id) in places


def stored_district(platform: Platform, slug: str) -> int:
    from safecity.registry.models import District

    with platform.sessions() as session:
        return session.scalars(select(District.id).where(District.slug == slug)).one()
