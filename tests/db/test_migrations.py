"""Migrations and models agree, on SQLite and PostgreSQL, and migrations run both ways."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import inspect, select

from safecity.command.alerts_models import Alert
from safecity.core.clock import utcnow
from safecity.db import migrate
from safecity.events.schemas import HotlistEntryCreate, HotlistEntryRemove
from safecity.identity.models import Role
from safecity.identity.system import system_principal
from safecity.registry.models import District
from safecity.web.platform import Platform, metadata
from tests.factories import World


def test_migrated_schema_matches_the_models(platform: Platform) -> None:
    assert migrate.current_revision(platform.engine) == migrate.head_revision()
    assert migrate.differences(platform.engine, metadata()) == []


def test_downgrade_to_nothing_and_upgrade_again(platform: Platform) -> None:
    migrate.downgrade(platform.engine, metadata(), "base")
    tables = set(inspect(platform.engine).get_table_names()) - {"alembic_version"}
    assert tables == set()
    migrate.upgrade(platform.engine, metadata())
    assert migrate.differences(platform.engine, metadata()) == []
    assert {"audit_records", "cameras", "users", "outbox"} <= set(
        inspect(platform.engine).get_table_names()
    )


def _permissions(platform: Platform) -> dict[str, list[str]]:
    with platform.sessions() as session:
        return {role.slug: list(role.permissions) for role in session.scalars(select(Role))}


def test_workers_view_is_granted_to_the_roles_that_saw_refused_groups(
    platform: Platform,
) -> None:
    """0012 gives ``workers.view`` to the default engineer and admin roles where they still
    hold ``cameras.change`` (what showed refused groups before), and to nobody else; an
    administrator's edits to the roles stay as they were."""
    migrate.downgrade(platform.engine, metadata(), "0011")
    with platform.transaction() as session:
        for role in session.scalars(select(Role)):
            role.permissions = [p for p in role.permissions if p != "workers.view"]
            if role.slug == "admin":  # an administrator took camera changes off the role
                role.permissions = [p for p in role.permissions if p != "cameras.change"]
    before = _permissions(platform)
    migrate.upgrade(platform.engine, metadata(), "0012")
    after = _permissions(platform)
    gained = {slug for slug in after if set(after[slug]) - set(before[slug])}
    assert gained == {"engineer"}
    assert after["engineer"] == [*before["engineer"], "workers.view"]
    assert after["admin"] == before["admin"]
    migrate.downgrade(platform.engine, metadata(), "0011")
    assert _permissions(platform) == before


def test_plates_export_is_granted_to_the_investigators_who_search_plates(
    platform: Platform,
) -> None:
    """0013 gives ``plates.export`` to the default investigator and admin roles if they
    still search plates, and to nobody else; downgrade takes it away again."""
    migrate.downgrade(platform.engine, metadata(), "0012")
    before = _permissions(platform)
    assert not any("plates.export" in held for held in before.values())
    migrate.upgrade(platform.engine, metadata())
    after = _permissions(platform)
    gained = {slug for slug in after if set(after[slug]) - set(before[slug])}
    assert gained == {"investigator", "admin"}
    assert after["investigator"] == [*before["investigator"], "plates.export"]
    migrate.downgrade(platform.engine, metadata(), "0012")
    with platform.transaction() as session:  # an administrator took plate searches away
        role = session.scalars(select(Role).where(Role.slug == "investigator")).one()
        role.permissions = [p for p in role.permissions if p != "plates.search"]
    edited = _permissions(platform)["investigator"]
    migrate.upgrade(platform.engine, metadata())
    assert _permissions(platform)["investigator"] == edited


def test_hotlist_hits_get_their_entry_their_removal_and_their_listings_key(
    platform: Platform, world: World
) -> None:
    """0014 fills in the entry each hotlist hit names (and marks the hits of an entry off
    the list as ended when it came off); 0015 gives a hit opened before one alert per
    listing its listing's key. Other alerts are left alone, and the consoles' refresh
    after a removal finds the old hits through the new column."""
    admin = system_principal("tests")
    with platform.transaction() as session:
        districts = {d.slug: d.id for d in session.scalars(select(District))}
        live, removed = (
            platform.hotlists.create(
                session,
                admin,
                HotlistEntryCreate(
                    plate=plate, category="stolen", reason="migration", source_agency="ITP"
                ),
            )
            for plate in ("LEB3656", "PEB1234")
        )
        live_id, removed_id = live.id, removed.id
    with platform.transaction() as session:
        gone = platform.hotlists.deactivate(
            session, admin, removed_id, HotlistEntryRemove(reason="recovered"), expected_version=1
        )
        removed_at = gone.updated_at
    migrate.downgrade(platform.engine, metadata(), "0013")
    rows = {
        "old_key": ("hotlist", "plate:LEB3656", {"hotlist_entry": str(live_id)}),
        "new_key": (
            "hotlist",
            f"plate:PEB1234:entry:{removed_id}",
            {"hotlist_entry": str(removed_id)},
        ),
        "drill": ("hotlist", "plate:ZZZ999", {"hotlist_entry": "drill"}),
        "rule": ("analytics", "camera:PSH-TC1:zone_intrusion", {"rule_event": "7"}),
    }
    ids = {
        name: _old_alert(platform, districts["peshawar"], name, source, key, reference)
        for name, (source, key, reference) in rows.items()
    }
    migrate.upgrade(platform.engine, metadata())
    with platform.sessions() as session:
        stored = {name: session.get(Alert, ids[name]) for name in rows}
        seen = {
            name: (a.correlation_key, a.hotlist_entry_id, a.entry_removed_at)
            for name, a in stored.items()
            if a is not None
        }
        assert seen == {
            "old_key": (f"plate:LEB3656:entry:{live_id}", live_id, None),
            "new_key": (f"plate:PEB1234:entry:{removed_id}", removed_id, removed_at),
            "drill": ("plate:ZZZ999", None, None),
            "rule": ("camera:PSH-TC1:zone_intrusion", None, None),
        }
        (hit,) = platform.alerts.open_hits_of(session, live_id)
        assert (hit.id, hit.hotlist is not None and hit.hotlist.entry_state) == (
            ids["old_key"],
            "live",
        )
        (ended,) = platform.alerts.open_hits_of(session, removed_id)
        assert ended.hotlist is not None
        assert (ended.id, ended.hotlist.entry_state) == (ids["new_key"], "removed")
    # Down and up again: the keys stay in the listing's format, the columns come back filled.
    migrate.downgrade(platform.engine, metadata(), "0013")
    migrate.upgrade(platform.engine, metadata())
    assert migrate.differences(platform.engine, metadata()) == []
    with platform.sessions() as session:
        again = session.get(Alert, ids["old_key"])
        assert again is not None
        assert (again.correlation_key, again.hotlist_entry_id) == (
            f"plate:LEB3656:entry:{live_id}",
            live_id,
        )


def test_rule_alerts_get_their_rules_key(platform: Platform, world: World) -> None:
    """0016 gives a rule alert opened before one alert per rule the key its rule's alerts
    now share, so the rule's next event counts on it; an alert whose event is gone, or
    whose key is new already, is left alone."""
    from safecity.events.alerts import rule_correlation_key
    from tests.events.helpers import rule_event, store_event

    long_name = "perimeter fence along the northern boundary wall"
    gate = store_event(platform, rule_event("PSH-TC1", "zone_intrusion"))
    fence = store_event(
        platform, rule_event("PSH-TC1", "zone_intrusion").model_copy(update={"rule": long_name})
    )
    with platform.sessions() as session:
        peshawar = session.scalars(select(District.id).where(District.slug == "peshawar")).one()
    migrate.downgrade(platform.engine, metadata(), "0015")
    old = "camera:PSH-TC1:zone_intrusion"
    rows = {
        "gate": (old, {"rule_event": str(gate)}),
        "fence": (old, {"rule_event": str(fence)}),
        "swept": (old, {"rule_event": "999999"}),
        "new": (f"{old}:gate", {"rule_event": str(gate)}),
    }
    ids = {
        name: _old_alert(platform, peshawar, name, "analytics", key, reference)
        for name, (key, reference) in rows.items()
    }
    migrate.upgrade(platform.engine, metadata())
    with platform.sessions() as session:
        keys = {name: session.get(Alert, ids[name]) for name in rows}
        seen = {name: alert.correlation_key for name, alert in keys.items() if alert}
    assert seen == {
        "gate": rule_correlation_key("PSH-TC1", "zone_intrusion", "gate"),
        "fence": rule_correlation_key("PSH-TC1", "zone_intrusion", long_name),
        "swept": old,
        "new": f"{old}:gate",
    }
    assert seen["gate"] == f"{old}:gate"
    assert migrate.differences(platform.engine, metadata()) == []


def _old_alert(
    platform: Platform, district: int, title: str, source: str, key: str, reference: object
) -> int:
    """An open alert written straight into the table as an older revision left it (the
    models may hold columns it does not have yet); its id."""
    alerts = sa.table(
        "alerts",
        *(sa.column(name) for name in ("id", "district_id", "source", "kind", "priority")),
        *(sa.column(name) for name in ("title", "detail", "status", "correlation_key", "count")),
        *(
            sa.column(name, sa.DateTime(timezone=True))
            for name in ("first_seen", "last_seen", "created_at", "updated_at")
        ),
        sa.column("reference", sa.JSON),
        sa.column("note"),
        sa.column("version"),
    )
    now = utcnow()
    with platform.engine.begin() as connection:
        alert_id: int = connection.execute(
            alerts.insert()
            .values(
                district_id=district,
                source=source,
                kind=f"{source}.test",
                priority=1,
                title=title,
                detail="",
                status="new",
                correlation_key=key,
                count=1,
                first_seen=now,
                last_seen=now,
                created_at=now,
                updated_at=now,
                reference=reference,
                note="",
                version=1,
            )
            .returning(alerts.c.id)
        ).scalar_one()
    return alert_id
