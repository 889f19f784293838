"""Hotlist alerts from plate read to the operator's card, end to end: the read is stored
and matched (events), its AlertRaised goes through the outbox and is folded into the
queue as the bus consumer folds it (command).

- The newest sighting speaks for the alert whole: camera, site, position, title,
  pictures and the plate read it names; a sighting in another district starts an
  alert of that district.
- A plate on two lists raises one alert per listing, each counting sightings.
- An entry taken off the list (or expired) after the read: the card says so, and no
  incident is opened from the hit (409 ``alert_entry_not_live``). Listed again (with a
  reason on record), its old hits stay ended; its next read is a new alert.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from safecity.audit.models import AuditRecord
from safecity.command.alerts_errors import AlertEntryNotLive
from safecity.command.alerts_models import Alert
from safecity.command.incidents_models import Incident
from safecity.contracts.alerts import AlertRaised
from safecity.core.clock import utcnow
from safecity.db.outbox import OutboxMessage
from safecity.events.models import HotlistEntry, PlateReadRecord
from safecity.events.schemas import HotlistEntryCreate, HotlistEntryRemove, HotlistEntryUpdate
from safecity.identity.system import system_principal
from safecity.web.platform import Platform
from tests.command.dispatch_support import Desk
from tests.events.helpers import plate_read, store_read, with_images
from tests.factories import World, principal_of

PLATE = "HMV414"


def listed(
    platform: Platform, category: str, reason: str, *, priority: int = 1, plate: str = PLATE
) -> int:
    data = HotlistEntryCreate.model_validate(
        {
            "plate": plate,
            "category": category,
            "reason": reason,
            "source_agency": "CTD Peshawar",
            "priority": priority,
        }
    )
    with platform.transaction() as session:
        entry = platform.hotlists.create(session, system_principal("tests"), data)
        return entry.id


def sighted(platform: Platform, camera: str, minutes_ago: float, *, images: bool = True) -> int:
    """A read of the plate at ``camera``, stored and matched, its alerts folded into the
    queue; the read's id."""
    message = plate_read(camera, PLATE, minutes_ago=minutes_ago)
    read_id = store_read(platform, with_images(platform, message) if images else message)
    relay(platform)
    return read_id


def relay(platform: Platform) -> None:
    """Every AlertRaised in the outbox, folded in as the bus consumer does (a message
    folded in before is recognised by its id and counted once)."""
    with platform.sessions() as session:
        payloads = session.scalars(
            select(OutboxMessage.payload)
            .where(OutboxMessage.subject == AlertRaised.subject)
            .order_by(OutboxMessage.id)
        ).all()
    with platform.transaction() as session:
        for payload in payloads:
            platform.alerts.ingest(session, AlertRaised.model_validate(payload))


def alerts_of(platform: Platform) -> list[Alert]:
    with platform.sessions() as session:
        rows = list(session.scalars(select(Alert).order_by(Alert.id)).unique())
        session.expunge_all()
        return rows


def read_images(platform: Platform, read_id: int) -> tuple[str | None, str | None]:
    with platform.sessions() as session:
        read = session.get(PlateReadRecord, read_id)
        assert read is not None
        return read.plate_crop, read.vehicle_image


def incidents(platform: Platform) -> int:
    with platform.sessions() as session:
        return session.scalar(select(func.count()).select_from(Incident)) or 0


def error_of(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_the_newest_sighting_speaks_for_the_alert_whole(desk: Desk, world: World) -> None:
    platform = desk.platform
    entry = listed(platform, "stolen", "taken at gunpoint, Saddar")
    sighted(platform, "PSH-TC1", minutes_ago=3)
    second = sighted(platform, "PSH-TC2", minutes_ago=2)
    (alert,) = alerts_of(platform)
    shown = desk.call("dispatcher", "GET", f"/api/v1/alerts/{alert.id}").json()
    # Camera (and so the Live and Recorded links), site, position, words, pictures and
    # the plate read named all come from the second sighting.
    assert shown["count"] == 2
    assert shown["title"] == f"Stolen vehicle {PLATE} at PSH-TC2"
    assert (shown["camera_code"], shown["camera_name"], shown["site_code"]) == (
        "PSH-TC2",
        "Camera PSH-TC2",
        "PSH-T2",
    )
    assert shown["camera_id"] == world.cameras["PSH-TC2"]
    assert (shown["latitude"], shown["longitude"]) == (34.02, 71.55), "site PSH-T2"
    assert shown["reference"]["plate_read"] == str(second)
    assert shown["reference"]["hotlist_entry"] == str(entry)
    assert (alert.plate_crop, alert.snapshot) == read_images(platform, second)
    # A later sighting without pictures: the alert shows none rather than another
    # camera's (the operator judges the crop of the sighting the card names).
    third = sighted(platform, "PSH-TC1", minutes_ago=1, images=False)
    shown = desk.call("dispatcher", "GET", f"/api/v1/alerts/{alert.id}").json()
    assert (shown["count"], shown["camera_code"], shown["reference"]["plate_read"]) == (
        3,
        "PSH-TC1",
        str(third),
    )
    assert (shown["has_plate_crop"], shown["has_snapshot"]) == (False, False)
    # A late sighting older than the newest is counted and does not speak.
    sighted(platform, "PSH-TC2", minutes_ago=5)
    late = desk.call("dispatcher", "GET", f"/api/v1/alerts/{alert.id}").json()
    assert (late["count"], late["camera_code"], late["reference"]["plate_read"]) == (
        4,
        "PSH-TC1",
        str(third),
    )


def test_a_sighting_in_another_district_starts_that_districts_own_alert(desk: Desk) -> None:
    platform = desk.platform
    listed(platform, "stolen", "taken at gunpoint, Saddar")
    sighted(platform, "PSH-TC1", minutes_ago=3)
    crossed = sighted(platform, "BNU-TC1", minutes_ago=2)
    peshawar, bannu = alerts_of(platform)
    assert (peshawar.count, peshawar.camera_code, bannu.count, bannu.camera_code) == (
        1,
        "PSH-TC1",
        1,
        "BNU-TC1",
    )
    assert bannu.reference["plate_read"] == str(crossed)
    # Each district's operators see the sighting of their district, and only that one.
    for who, own, other in (("dispatcher", peshawar, bannu), ("bannu_operator", bannu, peshawar)):
        queue = desk.call(who, "GET", "/api/v1/alerts?status=open").json()["items"]
        assert [a["id"] for a in queue] == [own.id], who
        assert desk.call(who, "GET", f"/api/v1/alerts/{other.id}").status_code == 404


def test_a_plate_on_two_lists_raises_one_alert_per_listing_counting_sightings(
    desk: Desk,
) -> None:
    platform = desk.platform
    stolen = listed(platform, "stolen", "taken at gunpoint, Saddar", priority=1)
    wanted = listed(platform, "wanted", "robbery, FIR 12/2026", priority=2)
    for minutes_ago in (4, 3, 2, 1):
        sighted(platform, "PSH-TC1", minutes_ago=minutes_ago)
    alerts = {a.kind: a for a in alerts_of(platform)}
    assert set(alerts) == {"hotlist.stolen", "hotlist.wanted"}
    for kind, entry, title, reason, priority in (
        ("hotlist.stolen", stolen, "Stolen vehicle", "taken at gunpoint, Saddar", 1),
        ("hotlist.wanted", wanted, "Wanted vehicle", "robbery, FIR 12/2026", 2),
    ):
        alert = alerts[kind]
        assert alert.count == 4, "four reads are four sightings, on each list"
        assert alert.title == f"{title} {PLATE} at PSH-TC1"
        assert alert.priority == priority
        assert alert.reference["hotlist_entry"] == str(entry)
        assert alert.reference["reason"] == reason
        assert reason in alert.detail
        shown = desk.call("dispatcher", "GET", f"/api/v1/alerts/{alert.id}").json()
        assert (shown["hotlist"]["entry_id"], shown["hotlist"]["category"]) == (
            entry,
            kind.removeprefix("hotlist."),
        )


def test_an_entry_off_the_list_is_shown_and_no_incident_is_opened_from_its_hit(
    desk: Desk,
) -> None:
    platform = desk.platform
    entry = listed(platform, "stolen", "taken at gunpoint, Saddar")
    sighted(platform, "PSH-TC1", minutes_ago=2)
    (alert,) = alerts_of(platform)
    url = f"/api/v1/alerts/{alert.id}"
    shown = desk.call("dispatcher", "GET", url).json()["hotlist"]
    assert (shown["entry_state"], shown["entry_ended_at"]) == ("live", None)
    confirmed = desk.call("dispatcher", "POST", f"{url}/confirm-match")
    assert confirmed.status_code == 200, confirmed.text
    # The vehicle was recovered: the entry is taken off the list.
    removed = desk.call(
        "supervisor",
        "DELETE",
        f"/api/v1/hotlists/entries/{entry}",
        json={"reason": "vehicle recovered"},
        headers={"If-Match": '"1"'},
    )
    assert removed.status_code == 200, removed.text
    shown = desk.call("dispatcher", "GET", url).json()["hotlist"]
    assert shown["entry_state"] == "removed"
    assert shown["entry_ended_at"] is not None
    listing = desk.call("dispatcher", "GET", "/api/v1/alerts?status=open").json()["items"]
    assert [a["hotlist"]["entry_state"] for a in listing] == ["removed"]
    refused = desk.call("dispatcher", "POST", f"{url}/incident", json={"type": "hotlist"})
    assert error_of(refused) == (409, "alert_entry_not_live")
    message = refused.json()["error"]["message"]
    assert f"hotlist entry {entry}, which was taken off the list" in message
    assert incidents(platform) == 0, "nothing was created"
    # The service refuses it too, for any other caller of link_incident.
    with platform.transaction() as session:
        op = principal_of(platform, "desk-dispatcher")
        with pytest.raises(AlertEntryNotLive):
            platform.alerts.link_incident(session, op, alert.id, 99)
    # The alert stays open, to be dismissed by the operator.
    after = desk.call("dispatcher", "GET", url).json()
    assert (after["status"], after["incident_id"]) == ("acknowledged", None)


def test_an_expired_entry_is_shown_and_no_incident_is_opened_from_its_hit(desk: Desk) -> None:
    platform = desk.platform
    entry = listed(platform, "stolen", "taken at gunpoint, Saddar")
    sighted(platform, "PSH-TC1", minutes_ago=2)
    (alert,) = alerts_of(platform)
    url = f"/api/v1/alerts/{alert.id}"
    assert desk.call("dispatcher", "POST", f"{url}/confirm-match").status_code == 200
    ended = utcnow() - timedelta(seconds=30)
    with platform.transaction() as session:  # the entry's time ran out after the read
        stored = session.get(HotlistEntry, entry)
        assert stored is not None
        stored.expires_at = ended
    shown = desk.call("dispatcher", "GET", url).json()["hotlist"]
    assert shown["entry_state"] == "expired"
    refused = desk.call("dispatcher", "POST", f"{url}/incident", json={"type": "hotlist"})
    assert error_of(refused) == (409, "alert_entry_not_live")
    assert "which expired" in refused.json()["error"]["message"]
    assert incidents(platform) == 0
    # Listed again (the car is still sought): the incident may be opened.
    with platform.transaction() as session:
        stored = session.get(HotlistEntry, entry)
        assert stored is not None
        stored.expires_at = None
    made = desk.call("dispatcher", "POST", f"{url}/incident", json={"type": "hotlist"})
    assert made.status_code == 201, made.text


def test_listing_an_entry_again_leaves_its_old_hits_as_the_removal_left_them(
    desk: Desk,
) -> None:
    """Re-listing needs a reason on record; the hits of the earlier listing stay ended
    (no incident from them, closed ones stay closed), and a read after the re-listing
    starts a new alert to be judged afresh rather than reviving the old card."""
    platform = desk.platform
    stolen = listed(platform, "stolen", "taken at gunpoint, Saddar")
    wanted = listed(platform, "wanted", "robbery, FIR 12/2026", priority=2)
    sighted(platform, "PSH-TC1", minutes_ago=3)
    alerts = {a.kind: a for a in alerts_of(platform)}
    open_hit, closed_hit = alerts["hotlist.stolen"], alerts["hotlist.wanted"]
    url = f"/api/v1/alerts/{open_hit.id}"
    assert desk.call("dispatcher", "POST", f"{url}/confirm-match").status_code == 200
    dismissed = desk.call(
        "dispatcher",
        "POST",
        f"/api/v1/alerts/{closed_hit.id}/dismiss",
        json={"reason": "duplicate"},
    )
    assert dismissed.status_code == 200, dismissed.text
    for entry in (stolen, wanted):
        removed = desk.call(
            "supervisor",
            "DELETE",
            f"/api/v1/hotlists/entries/{entry}",
            json={"reason": "vehicle recovered"},
            headers={"If-Match": '"1"'},
        )
        assert removed.status_code == 200, removed.text
    ended_at = desk.call("dispatcher", "GET", url).json()["hotlist"]["entry_ended_at"]
    # Listing again without a reason is refused, as removal without one is.
    for body in ({"active": True}, {"active": True, "relist_reason": "  "}):
        refused = desk.call(
            "supervisor",
            "PATCH",
            f"/api/v1/hotlists/entries/{stolen}",
            json=body,
            headers={"If-Match": '"2"'},
        )
        assert refused.status_code == 422, refused.text
    reason = "stolen again from Hayatabad, FIR 40/2026"
    for entry in (stolen, wanted):
        again = desk.call(
            "supervisor",
            "PATCH",
            f"/api/v1/hotlists/entries/{entry}",
            json={"active": True, "relist_reason": reason},
            headers={"If-Match": '"2"'},
        )
        assert again.status_code == 200, again.text
        assert (again.json()["active"], again.json()["live"]) == (True, True)
    with platform.sessions() as session:
        record = session.scalars(
            select(AuditRecord)
            .where(
                AuditRecord.object_type == "hotlist_entry",
                AuditRecord.object_id == str(stolen),
            )
            .order_by(AuditRecord.seq.desc())
            .limit(1)
        ).one()
        assert record.before is not None
        assert record.after is not None
        assert (record.before["active"], record.after["active"]) == (False, True)
        assert record.after["relist_reason"] == reason
        assert reason in record.summary
        assert record.actor_name == "desk-supervisor"
    # The old hits stay as the removal left them: ended then, no incident, closed stays closed.
    shown = desk.call("dispatcher", "GET", url).json()
    assert (shown["status"], shown["hotlist"]["entry_state"]) == ("acknowledged", "removed")
    assert shown["hotlist"]["entry_ended_at"] == ended_at
    refused = desk.call("dispatcher", "POST", f"{url}/incident", json={"type": "hotlist"})
    assert error_of(refused) == (409, "alert_entry_not_live")
    closed = desk.call("dispatcher", "GET", f"/api/v1/alerts/{closed_hit.id}").json()
    assert (closed["status"], closed["hotlist"]["entry_state"]) == ("dismissed", "removed")
    # A read after the re-listing, inside the correlation window, is a new alert per listing.
    sighted(platform, "PSH-TC2", minutes_ago=1)
    fresh = [a for a in alerts_of(platform) if a.id not in (open_hit.id, closed_hit.id)]
    assert sorted(a.kind for a in fresh) == ["hotlist.stolen", "hotlist.wanted"]
    for alert in fresh:
        card = desk.call("dispatcher", "GET", f"/api/v1/alerts/{alert.id}").json()
        assert (card["status"], card["count"], card["camera_code"]) == ("new", 1, "PSH-TC2")
        assert (card["hotlist"]["entry_state"], card["hotlist"]["verdict"]) == ("live", None)
    old = desk.call("dispatcher", "GET", url).json()
    assert (old["count"], old["camera_code"]) == (1, "PSH-TC1"), "the old card is not revived"


def test_a_relist_reason_goes_only_with_listing_again(desk: Desk) -> None:
    entry = listed(desk.platform, "stolen", "taken at gunpoint, Saddar")
    refused = desk.call(
        "supervisor",
        "PATCH",
        f"/api/v1/hotlists/entries/{entry}",
        json={"priority": 3, "relist_reason": "renewed request"},
        headers={"If-Match": '"1"'},
    )
    assert error_of(refused) == (422, "invalid_input")
    assert "only for listing again" in refused.json()["error"]["message"]


def test_the_open_hits_of_an_entry_are_found_in_the_database(desk: Desk) -> None:
    """What the consoles are sent after a removal: the entry's open hits only, read by the
    database (the session never holds another entry's alerts or closed ones)."""
    platform = desk.platform
    stolen = listed(platform, "stolen", "taken at gunpoint, Saddar")
    wanted = listed(platform, "wanted", "robbery, FIR 12/2026", priority=2)
    sighted(platform, "PSH-TC1", minutes_ago=2)
    alerts = {a.kind: a for a in alerts_of(platform)}
    assert {a.hotlist_entry_id for a in alerts.values()} == {stolen, wanted}
    loaded: list[int] = []

    def note_load(alert: Alert, _context: object) -> None:
        loaded.append(alert.id)

    event.listen(Alert, "load", note_load)
    try:
        with platform.sessions() as session:
            hits = platform.alerts.open_hits_of(session, stolen)
            assert [hit.id for hit in hits] == [alerts["hotlist.stolen"].id]
            assert loaded == [alerts["hotlist.stolen"].id], "no other alert was read"
        closed = desk.call(
            "dispatcher",
            "POST",
            f"/api/v1/alerts/{alerts['hotlist.stolen'].id}/dismiss",
            json={"reason": "duplicate"},
        )
        assert closed.status_code == 200, closed.text
        loaded.clear()
        with platform.sessions() as session:
            assert platform.alerts.open_hits_of(session, stolen) == []
            assert loaded == [], "neither the closed hit nor the other entry's open one"
    finally:
        event.remove(Alert, "load", note_load)


def test_a_hit_queued_after_its_entry_came_off_stays_ended_once_listed_again(
    desk: Desk,
) -> None:
    """The read matched, the entry was removed before the hit reached the queue: the hit
    is marked as the removal marks queued ones, and a re-listing does not revive it."""
    platform = desk.platform
    entry = listed(platform, "stolen", "taken at gunpoint, Saddar")
    store_read(platform, plate_read("PSH-TC1", PLATE, minutes_ago=2))  # in the outbox
    supervisor = principal_of(platform, "desk-supervisor")
    with platform.transaction() as session:
        platform.hotlists.deactivate(
            session, supervisor, entry, HotlistEntryRemove(reason="recovered"), expected_version=1
        )
    relay(platform)
    with platform.transaction() as session:
        platform.hotlists.update(
            session,
            supervisor,
            entry,
            HotlistEntryUpdate(active=True, relist_reason="stolen again"),
            expected_version=2,
        )
    (alert,) = alerts_of(platform)
    assert alert.entry_removed_at is not None
    shown = desk.call("dispatcher", "GET", f"/api/v1/alerts/{alert.id}").json()["hotlist"]
    assert shown["entry_state"] == "removed"
