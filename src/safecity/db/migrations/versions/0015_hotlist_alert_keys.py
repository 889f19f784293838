"""alerts: hotlist hits raised before one alert per listing get that listing's key

Hotlist hits were correlated by plate (``plate:<TEXT>``) until a plate on two lists
became one alert per listing (``plate:<TEXT>:entry:<id>``). An alert opened before that
kept its old key, so the next read of its plate started a second alert beside it rather
than counting on it. Each such key gets the entry its alert names (its reference).

Downgrade leaves the keys as they are: the code at revision 0014 already writes the new
format, so there is nothing to take back.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 23:50:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# A migration never imports code that may change after it: these lines are its own.
HOTLIST_SOURCE = "hotlist"
OLD_PREFIX = "plate:"
ENTRY_MARK = ":entry:"
KEY_LENGTH = 120


def _entry_id(reference: Any) -> int | None:
    entry = str(reference.get("hotlist_entry", "")) if isinstance(reference, dict) else ""
    return int(entry) if entry.isdigit() else None


def new_key(key: str, reference: Any) -> str | None:
    """The listing's key for an old plate key, or None to leave ``key`` as it is."""
    entry_id = _entry_id(reference)
    if entry_id is None or not key.startswith(OLD_PREFIX) or ENTRY_MARK in key:
        return None
    rewritten = f"{key}{ENTRY_MARK}{entry_id}"
    return rewritten if len(rewritten) <= KEY_LENGTH else None


def upgrade() -> None:
    alerts = sa.table(
        "alerts",
        sa.column("id", sa.Integer),
        sa.column("source", sa.String),
        sa.column("correlation_key", sa.String),
        sa.column("reference", sa.JSON),
    )
    bind = op.get_bind()
    old = bind.execute(
        sa.select(alerts.c.id, alerts.c.correlation_key, alerts.c.reference).where(
            alerts.c.source == HOTLIST_SOURCE,
            alerts.c.correlation_key.like(f"{OLD_PREFIX}%"),
            alerts.c.correlation_key.not_like(f"%{ENTRY_MARK}%"),
        )
    ).all()
    for alert_id, key, reference in old:
        rewritten = new_key(key, reference)
        if rewritten is not None:
            bind.execute(
                alerts.update().where(alerts.c.id == alert_id).values(correlation_key=rewritten)
            )


def downgrade() -> None:
    """Nothing to undo (see the module docstring)."""
