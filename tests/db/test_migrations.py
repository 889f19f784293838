"""Migrations and models agree, on SQLite and PostgreSQL, and migrations run both ways."""

from __future__ import annotations

from sqlalchemy import inspect

from safecity.db import migrate
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
