"""Hotlists: entries changed under optimistic locking and audited; CSV import keeps the
good rows and names every bad one; a read matching a live entry (exactly or through
OCR-confusable characters) raises an alert in the same transaction; expired or
removed entries never match."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from safecity.audit.models import AuditRecord
from safecity.command.alerts_models import Alert
from safecity.contracts.alerts import AlertRaised
from safecity.core.clock import as_utc, utcnow
from safecity.core.errors import Conflict, InvalidInput, PermissionDenied, PreconditionFailed
from safecity.db.outbox import OutboxMessage
from safecity.events.alerts import CORRELATION_KEY_LENGTH, rule_correlation_key
from safecity.events.models import HotlistEntry, PlateReadRecord
from safecity.events.schemas import (
    HotlistEntryCreate,
    HotlistEntryRemove,
    HotlistEntryUpdate,
    HotlistImportReport,
)
from safecity.identity.system import system_principal
from safecity.web.platform import Platform
from tests.events.helpers import list_plate, plate_read, rule_event, store_event, store_read
from tests.factories import World, make_user


def _alerts(platform: Platform) -> list[AlertRaised]:
    with platform.sessions() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.subject == AlertRaised.subject)
            .order_by(OutboxMessage.id)
        )
        return [AlertRaised.model_validate(row.payload) for row in rows]


def test_a_listed_plate_raises_a_prioritised_alert_with_the_crop(
    platform: Platform, world: World
) -> None:
    entry = list_plate(platform, "LEB3656", "stolen", priority=1)
    read = store_read(
        platform, plate_read("PSH-TC1", "LEB3656", crop="PSH-TC1/p/1.jpg", vehicle="PSH-TC1/v.jpg")
    )
    (alert,) = _alerts(platform)
    assert (alert.source, alert.kind, alert.priority) == ("hotlist", "hotlist.stolen", 1)
    assert (alert.camera_id, alert.district) == ("PSH-TC1", "peshawar")
    assert alert.correlation_key == f"plate:LEB3656:entry:{entry}", "one alert per listing"
    assert (alert.plate_crop, alert.snapshot, alert.plate_text) == (
        "PSH-TC1/p/1.jpg",
        "PSH-TC1/v.jpg",
        "LEB3656",
    )
    assert alert.reference == {
        "plate_read": str(read),
        "hotlist_entry": str(entry),
        "match": "exact",
        "listed_plate": "LEB3656",
        "reason": "taken at gunpoint, Saddar",
        "source_agency": "CTD Peshawar",
    }
    assert "confirm" in alert.detail.lower() or "compare" in alert.detail.lower()
    with platform.sessions() as session:
        stored = session.get(PlateReadRecord, read)
        assert stored is not None
        assert (stored.hit, stored.hotlist_hits) == (True, [entry])


def test_a_confusable_read_matches_and_says_so(platform: Platform, world: World) -> None:
    list_plate(platform, "LEB3656", "wanted", priority=2)
    store_read(platform, plate_read("PSH-TC2", "LE83656"))
    (alert,) = _alerts(platform)
    assert (alert.kind, alert.priority, alert.reference["match"]) == (
        "hotlist.wanted",
        2,
        "confusable",
    )
    assert "listed as LEB3656" in alert.title
    assert alert.reference["listed_plate"] == "LEB3656", "the operator compares it with the crop"


def test_expired_removed_and_other_plates_never_match(platform: Platform, world: World) -> None:
    list_plate(platform, "ABC123", "expired_registration", expires_in=timedelta(seconds=-1))
    removed = list_plate(platform, "XYZ987", "stolen")
    with platform.transaction() as session:
        platform.hotlists.deactivate(
            session,
            system_principal("tests"),
            removed,
            HotlistEntryRemove(reason="vehicle recovered"),
            expected_version=1,
        )
    list_plate(platform, "LEB3656", "stolen", expires_in=timedelta(days=1))
    for text in ("ABC123", "XYZ987", "LEB3657", "LEB365"):
        store_read(platform, plate_read("PSH-TC1", text))
    assert _alerts(platform) == []
    with platform.sessions() as session:
        hits = session.scalars(select(PlateReadRecord).where(PlateReadRecord.hit.is_(True)))
        assert hits.all() == []


def test_a_redelivered_read_raises_its_alert_once(platform: Platform, world: World) -> None:
    list_plate(platform, "LEB3656")
    message = plate_read("PSH-TC1", "LEB3656")
    store_read(platform, message)
    store_read(platform, message)
    assert len(_alerts(platform)) == 1


def test_rule_events_alert_by_configured_kind(platform: Platform, world: World) -> None:
    store_event(platform, rule_event("PSH-TC1", "zone_intrusion", snapshot="PSH-TC1/s.jpg"))
    store_event(platform, rule_event("PSH-TC1", "line_crossing"))
    store_event(platform, rule_event("PSH-TC1", "wrong_way"))
    alerts = _alerts(platform)
    assert [(a.source, a.kind, a.priority) for a in alerts] == [
        ("analytics", "analytics.zone_intrusion", 2),
        ("analytics", "analytics.wrong_way", 2),
    ]
    assert alerts[0].correlation_key == "camera:PSH-TC1:zone_intrusion:gate"
    assert alerts[0].snapshot == "PSH-TC1/s.jpg"


def test_two_rules_of_one_kind_on_a_camera_are_two_alerts(platform: Platform, world: World) -> None:
    """An intrusion on the gate and one at the perimeter fence are two things to act on;
    the same rule firing again is the same alert with a count."""
    for rule, minutes_ago in (("intrude", 3), ("perimeter fence", 2), ("intrude", 1)):
        store_event(
            platform, rule_event("PSH-TC1", "zone_intrusion", rule=rule, minutes_ago=minutes_ago)
        )
    with platform.transaction() as session:
        ingested = [platform.alerts.ingest(session, alert) for alert in _alerts(platform)]
    alert_ids = [None if result is None else result.alert.id for result in ingested]
    assert alert_ids[0] == alert_ids[2]
    assert alert_ids[1] not in (None, alert_ids[0])
    with platform.sessions() as session:
        titles = {
            alert.title: alert.count
            for alert in session.scalars(select(Alert).where(Alert.id.in_(set(alert_ids))))
        }
    assert titles == {
        "Zone intrusion at PSH-TC1: intrude": 2,
        "Zone intrusion at PSH-TC1: perimeter fence": 1,
    }


def test_a_long_rule_name_keeps_its_key_within_the_field() -> None:
    first = rule_correlation_key("C" * 64, "zone_intrusion", "perimeter fence " + "a" * 60)
    second = rule_correlation_key("C" * 64, "zone_intrusion", "perimeter fence " + "b" * 60)
    assert len(first) <= CORRELATION_KEY_LENGTH
    assert first != second


def test_changes_are_versioned_and_audited(platform: Platform, world: World) -> None:
    admin = system_principal("tests")
    entry_id = list_plate(platform, "LEB3656")
    with platform.transaction() as session:
        entry = platform.hotlists.update(
            session,
            admin,
            entry_id,
            HotlistEntryUpdate(priority=3, reason="recovered? check"),
            expected_version=1,
        )
        assert entry.version == 2
    with platform.transaction() as session, pytest.raises(PreconditionFailed):
        platform.hotlists.update(
            session, admin, entry_id, HotlistEntryUpdate(priority=1), expected_version=1
        )
    with platform.transaction() as session, pytest.raises(Conflict):
        platform.hotlists.create(
            session,
            admin,
            HotlistEntryCreate(
                plate="leb-3656", category="stolen", reason="twice", source_agency="ITP"
            ),
        )
    with platform.sessions() as session:
        records = session.scalars(
            select(AuditRecord)
            .where(AuditRecord.object_type == "hotlist_entry")
            .order_by(AuditRecord.seq)
        ).all()
        assert [r.action for r in records] == ["create", "update"]
        assert records[1].before is not None
        assert records[1].after is not None
        assert (records[1].before["priority"], records[1].after["priority"]) == (1, 3)
        stored = session.get(HotlistEntry, entry_id)
        assert stored is not None
        assert stored.priority == 3


def test_only_holders_of_the_permission_change_hotlists(platform: Platform, world: World) -> None:
    operator = make_user(platform, "op-h", ["operator"], districts=["peshawar"])
    with platform.transaction() as session, pytest.raises(PermissionDenied):
        platform.hotlists.create(
            session,
            operator,
            HotlistEntryCreate(plate="AB12", category="stolen", reason="x", source_agency="y"),
        )


CSV = (
    "plate,category,reason,source_agency,priority,expires_at,owner\n"
    "LEB-3656,stolen,Snatched in Saddar,CTD Peshawar,1,,\n"
    "PKA 123,wanted,Hit and run,ITP,2,2030-01-01T00:00:00+05:00,\n"
    "TOOLONGPLATE123,stolen,x,ITP,1,,\n"
    "AB12,lost,x,ITP,1,,\n"
    "CD34,wanted,x,ITP,9,,\n"
    "EF56,wanted,x,ITP,1,yesterday,\n"
    "GH78,wanted,x,ITP,1,,nobody-by-that-name\n"
    "LEB3656,stolen,listed above,ITP,1,,\n"
    "JK90,wanted,,ITP,1,,\n"
)


def test_csv_import_keeps_good_rows_and_names_each_bad_one(
    platform: Platform, world: World
) -> None:
    with platform.transaction() as session:
        report = platform.hotlists.import_csv(session, system_principal("tests"), CSV.encode())
    assert (report.rows, report.created) == (9, 2)
    found = {(p.row, p.field) for p in report.problems}
    assert found == {
        (4, "plate"),
        (5, "category"),
        (6, "priority"),
        (7, "expires_at"),
        (8, "owner"),
        (9, "plate"),
        (10, "reason"),
    }, report.problems
    with platform.sessions() as session:
        plates = sorted(session.scalars(select(HotlistEntry.plate)))
        assert plates == ["LEB3656", "PKA123"]
        actions = list(
            session.scalars(
                select(AuditRecord.action).where(AuditRecord.object_type == "hotlist_entry")
            )
        )
        assert sorted(actions) == ["create", "create", "import"]


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (b"plate,category,reason\nAB12,stolen,x\n", "source_agency"),
        (b"plate,category,reason,source_agency,colour\nAB12,stolen,x,y,red\n", "colour"),
    ],
)
def test_a_file_with_wrong_columns_imports_nothing(
    platform: Platform, world: World, content: bytes, field: str
) -> None:
    with platform.transaction() as session:
        report = platform.hotlists.import_csv(session, system_principal("tests"), content)
    assert report.created == 0
    assert [(p.row, p.field) for p in report.problems] == [(1, field)]


# -- removal: a reason on record, against the version read -------------------------------------


def test_removal_needs_the_version_read_and_records_its_reason(
    platform: Platform, world: World
) -> None:
    admin = system_principal("tests")
    entry_id = list_plate(platform, "LEB3656")
    with pytest.raises(ValidationError):
        HotlistEntryRemove(reason="  ")
    with platform.transaction() as session, pytest.raises(InvalidInput) as back_door:
        platform.hotlists.update(
            session, admin, entry_id, HotlistEntryUpdate(active=False), expected_version=1
        )
    assert back_door.value.field == "active"
    with platform.transaction() as session:
        platform.hotlists.update(
            session, admin, entry_id, HotlistEntryUpdate(priority=2), expected_version=1
        )
    stale = HotlistEntryRemove(reason="recovered in Hayatabad")
    with platform.transaction() as session, pytest.raises(PreconditionFailed) as refused:
        platform.hotlists.deactivate(session, admin, entry_id, stale, expected_version=1)
    assert "reload" in refused.value.message
    with platform.transaction() as session:
        entry = platform.hotlists.deactivate(session, admin, entry_id, stale, expected_version=2)
        assert not entry.active
    with platform.sessions() as session:
        record = session.scalars(
            select(AuditRecord)
            .where(AuditRecord.object_type == "hotlist_entry")
            .order_by(AuditRecord.seq.desc())
            .limit(1)
        ).one()
    assert record.object_id == str(entry_id)
    assert "recovered in Hayatabad" in record.summary
    assert record.before is not None
    assert record.after is not None
    assert (record.before["active"], record.after["active"]) == (True, False)
    assert record.after["removal_reason"] == "recovered in Hayatabad"
    # Removed, it stays as it was when it left the list (its alerts show when that was):
    # an edit is refused until it is listed again.
    with platform.transaction() as session, pytest.raises(InvalidInput) as removed:
        platform.hotlists.update(
            session, admin, entry_id, HotlistEntryUpdate(priority=1), expected_version=3
        )
    assert "list it again" in removed.value.message
    # Listing it again needs a reason on record too.
    with platform.transaction() as session, pytest.raises(InvalidInput) as unexplained:
        platform.hotlists.update(
            session, admin, entry_id, HotlistEntryUpdate(active=True), expected_version=3
        )
    assert unexplained.value.field == "relist_reason"
    with pytest.raises(ValidationError):
        HotlistEntryUpdate(active=True, relist_reason=" x ")
    again = HotlistEntryUpdate(active=True, relist_reason=" stolen again, FIR 40/2026 ")
    with platform.transaction() as session:
        listed = platform.hotlists.update(session, admin, entry_id, again, expected_version=3)
        assert (listed.active, listed.priority) == (True, 2)
    with platform.sessions() as session:
        record = session.scalars(
            select(AuditRecord)
            .where(AuditRecord.object_type == "hotlist_entry")
            .order_by(AuditRecord.seq.desc())
            .limit(1)
        ).one()
    assert record.after is not None
    assert (record.before or {}).get("active") is False
    assert (record.after["active"], record.after["relist_reason"]) == (
        True,
        "stolen again, FIR 40/2026",
    )
    assert "again" in record.summary


# -- import: files as spreadsheets write them --------------------------------------------------


def _import(platform: Platform, text: str) -> HotlistImportReport:
    with platform.transaction() as session:
        return platform.hotlists.import_csv(session, system_principal("tests"), text.encode())


def _stored(platform: Platform) -> dict[str, HotlistEntry]:
    with platform.sessions() as session:
        rows = session.scalars(select(HotlistEntry).where(HotlistEntry.active.is_(True)))
        return {row.plate: row for row in rows}


END_OF_31_JAN_PKT = datetime(2027, 1, 31, 19, 0, tzinfo=UTC)  # midnight PKT that ends it


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2027-01-31", END_OF_31_JAN_PKT),
        ("31-01-2027", END_OF_31_JAN_PKT),
        ("2027-01-31 10:00", datetime(2027, 1, 31, 5, 0, tzinfo=UTC)),
        ("2027-01-31T10:00", datetime(2027, 1, 31, 5, 0, tzinfo=UTC)),
        ("31-01-2027 10:00", datetime(2027, 1, 31, 5, 0, tzinfo=UTC)),
        ("2027-01-31T10:00:00+00:00", datetime(2027, 1, 31, 10, 0, tzinfo=UTC)),
        ("2027-01-31T10:00+05:00", datetime(2027, 1, 31, 5, 0, tzinfo=UTC)),
        ("2027-01-31T05:00Z", datetime(2027, 1, 31, 5, 0, tzinfo=UTC)),
    ],
)
def test_import_reads_expiry_dates_and_times_as_pakistan_time(
    platform: Platform, world: World, cell: str, expected: datetime
) -> None:
    report = _import(
        platform, f"plate,category,reason,source_agency,expires_at\nLEB3656,stolen,x,ITP,{cell}\n"
    )
    assert (report.created, report.problems) == (1, [])
    expires = _stored(platform)["LEB3656"].expires_at
    assert expires is not None
    assert as_utc(expires) == expected


def test_an_unreadable_expiry_names_the_formats(platform: Platform, world: World) -> None:
    report = _import(
        platform, "plate,category,reason,source_agency,expires_at\nLEB3656,stolen,x,ITP,31/01/27\n"
    )
    ((row, field, message),) = [(p.row, p.field, p.message) for p in report.problems]
    assert (row, field) == (2, "expires_at")
    assert "2027-01-31" in message
    assert "Pakistan time" in message
    assert "day or month first" in message, "05/06/2027 is never guessed"


def test_import_takes_any_case_and_warns_of_a_past_expiry(platform: Platform, world: World) -> None:
    report = _import(
        platform,
        "Plate,Category,Reason,Source_Agency,Expires_At\n"
        "LEB3656,Stolen,Snatched,CTD,\n"
        "PKA123,Expired Registration,Lapsed,Excise,\n"
        "AB12,WANTED,Old warrant,ITP,2020-01-01\n"
        "CD34,Flying,x,ITP,\n",
    )
    assert (report.rows, report.created) == (4, 3)
    assert [(p.row, p.field) for p in report.problems] == [(5, "category")]
    assert [(w.row, w.field) for w in report.warnings] == [(4, "expires_at")]
    assert "already past" in report.warnings[0].message
    stored = _stored(platform)
    assert {plate: e.category for plate, e in stored.items()} == {
        "LEB3656": "stolen",
        "PKA123": "expired_registration",
        "AB12": "wanted",
    }
    assert not stored["AB12"].live_at(utcnow())


def test_an_exported_file_imports_back_unchanged(platform: Platform, world: World) -> None:
    admin = system_principal("tests")
    formula = '=HYPERLINK("http://x","y")'
    with platform.transaction() as session:
        platform.hotlists.create(
            session,
            admin,
            HotlistEntryCreate(
                plate="LEB3656",
                category="stolen",
                reason=formula,
                source_agency="+cmd",
                priority=1,
                expires_at=datetime(2027, 1, 31, 19, 0, tzinfo=UTC),
            ),
        )
    list_plate(platform, "PKA123", "wanted")
    removed = list_plate(platform, "XYZ987", "stolen")
    with platform.transaction() as session:
        platform.hotlists.deactivate(
            session, admin, removed, HotlistEntryRemove(reason="recovered"), expected_version=1
        )
        exported = platform.hotlists.export_csv(session, admin)
    cells = {row["plate"]: row for row in csv.DictReader(io.StringIO(exported))}
    assert (cells["LEB3656"]["reason"], cells["LEB3656"]["source_agency"]) == (
        "'" + formula,
        "'+cmd",
    ), "a spreadsheet would run them"
    assert cells["LEB3656"]["expires_at"] == "2027-01-31T19:00:00+00:00"

    # The same file again: nothing to add, nothing refused, removed stays removed.
    again = _import(platform, exported)
    assert (again.rows, again.created, again.skipped, again.problems) == (3, 0, 3, [])
    assert sorted((w.row, w.field) for w in again.warnings) == [(2, None), (3, None), (4, "active")]

    # Taken off and imported back from the file: the same values as before, not the guarded.
    with platform.transaction() as session:
        for entry_id in (e.id for e in _stored(platform).values()):
            platform.hotlists.deactivate(
                session, admin, entry_id, HotlistEntryRemove(reason="test"), expected_version=1
            )
    back = _import(platform, exported)
    assert (back.created, back.skipped, back.problems) == (2, 1, [])
    stored = _stored(platform)
    assert sorted(stored) == ["LEB3656", "PKA123"], "the removed row is never put back"
    listed = stored["LEB3656"]
    assert (listed.reason, listed.source_agency, listed.priority) == (formula, "+cmd", 1)
    assert listed.expires_at is not None
    assert as_utc(listed.expires_at) == datetime(2027, 1, 31, 19, 0, tzinfo=UTC)


def test_a_changed_row_for_a_listed_plate_points_to_the_entry(
    platform: Platform, world: World
) -> None:
    entry_id = list_plate(platform, "LEB3656", "stolen")
    report = _import(
        platform, "plate,category,reason,source_agency\nLEB3656,stolen,other reason,ITP\n"
    )
    ((problem,),) = [report.problems]
    assert (problem.row, problem.field) == (2, "plate")
    assert f"entry {entry_id}" in problem.message
    assert "edit that entry" in problem.message
