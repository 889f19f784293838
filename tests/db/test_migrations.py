"""Migrations and models agree, on SQLite and PostgreSQL, and migrations run both ways."""

from __future__ import annotations

from sqlalchemy import inspect, select

from safecity.db import migrate
from safecity.identity.models import Role
from safecity.web.platform import Platform, metadata


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
