"""Retention: reads that hit nothing go first (30 days), hits are kept a year, rule
events 90 days; the sweep hands back their images to unlink after commit."""

from __future__ import annotations

from sqlalchemy import select

from safecity.audit.context import SYSTEM
from safecity.audit.models import AuditRecord
from safecity.events.models import PlateReadRecord, RuleEventRecord
from safecity.web.platform import Platform
from tests.events.helpers import (
    list_plate,
    plate_read,
    rule_event,
    store_event,
    store_read,
    with_images,
)
from tests.factories import World

DAY = 24 * 60


def test_the_sweep_deletes_only_what_outlived_its_kind(platform: Platform, world: World) -> None:
    list_plate(platform, "LEB3656")
    pictured = with_images(platform, plate_read("PSH-TC1", "PKA123", minutes_ago=31 * DAY))
    old_miss = store_read(platform, pictured)
    young_miss = store_read(platform, plate_read("PSH-TC1", "PKA124", minutes_ago=29 * DAY))
    old_hit = store_read(platform, plate_read("PSH-TC1", "LEB3656", minutes_ago=40 * DAY))
    ancient_hit = store_read(platform, plate_read("PSH-TC2", "LEB3656", minutes_ago=400 * DAY))
    old_event = store_event(
        platform, rule_event("PSH-TC1", "loitering", minutes_ago=91 * DAY, snapshot="x/s.jpg")
    )
    young_event = store_event(platform, rule_event("PSH-TC1", "crowd", minutes_ago=89 * DAY))

    with platform.transaction() as session:
        result = platform.events.sweep(session, SYSTEM)
    assert (result.reads, result.events) == (2, 1)
    media = platform.settings.media_dir
    assert sorted(p.relative_to(media).as_posix() for p in result.files) == sorted(
        [str(pictured.plate_crop), str(pictured.vehicle_image), "x/s.jpg"]
    )
    with platform.sessions() as session:
        reads = set(session.scalars(select(PlateReadRecord.id)))
        events = set(session.scalars(select(RuleEventRecord.id)))
        record = session.scalars(select(AuditRecord).where(AuditRecord.action == "retention")).one()
    assert reads == {young_miss, old_hit}
    assert ancient_hit not in reads
    assert old_miss not in reads
    assert events == {young_event}
    assert old_event not in events
    assert "2 plate reads and 1 rule events" in record.summary
    with platform.transaction() as session:
        again = platform.events.sweep(session, SYSTEM)
    assert (again.reads, again.events, again.files) == (0, 0, [])


def test_the_maintenance_sweep_removes_expired_reads_and_their_images(
    platform: Platform, world: World
) -> None:
    from safecity.web.app import RETENTION_EVERY, _maintain

    pictured = with_images(platform, plate_read("PSH-TC1", "PKA123", minutes_ago=31 * DAY))
    gone = store_read(platform, pictured)
    kept = store_read(platform, with_images(platform, plate_read("PSH-TC1", "PKA124")))
    _maintain(platform, RETENTION_EVERY)
    media = platform.settings.media_dir
    assert not (media / str(pictured.plate_crop)).exists()
    assert not (media / str(pictured.vehicle_image)).exists()
    with platform.sessions() as session:
        assert set(session.scalars(select(PlateReadRecord.id))) == {kept}
    assert gone != kept


def test_a_snapshot_shared_by_events_goes_with_the_last_of_them(
    platform: Platform, world: World
) -> None:
    """Rules that fire on one frame share its snapshot file: the sweep hands it back only
    once no event left names it."""
    from datetime import timedelta

    from safecity.core.clock import utcnow

    older = rule_event("PSH-TC1", "line_crossing", minutes_ago=91 * DAY, snapshot="x/one.jpg")
    store_event(platform, older)
    store_event(
        platform, rule_event("PSH-TC1", "wrong_way", minutes_ago=89 * DAY, snapshot="x/one.jpg")
    )
    with platform.transaction() as session:
        first = platform.events.sweep(session, SYSTEM)
    assert (first.events, first.files) == (1, [])
    with platform.transaction() as session:
        later = platform.events.sweep(session, SYSTEM, utcnow() + timedelta(days=2))
    media = platform.settings.media_dir
    assert later.events == 1
    assert [p.relative_to(media).as_posix() for p in later.files] == ["x/one.jpg"]
