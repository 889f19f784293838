"""alerts: the hotlist entry a hit names, and when that entry was taken off the list

A hit on an entry taken off the list showed "removed" only as long as the entry stayed
off: listing it again made the old hit live again, as if new. The removal now marks the
entry's alerts (``entry_removed_at``), and the entry id is a column of its own, indexed,
so that the removal (and the consoles' refresh) finds them without reading every alert.

Existing alerts get the entry id from their reference, and those whose entry is off the
list now get its last change as the time it came off (what the alerts showed before).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 23:40:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# A migration never imports code that may change after it: these lines are its own.
HOTLIST_SOURCE = "hotlist"


def _entry_id(reference: Any) -> int | None:
    entry = str((reference or {}).get("hotlist_entry", "")) if isinstance(reference, dict) else ""
    return int(entry) if entry.isdigit() else None


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hotlist_entry_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("entry_removed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            "ix_alerts_hotlist_entry", ["hotlist_entry_id", "status"], unique=False
        )
    alerts = sa.table(
        "alerts",
        sa.column("id", sa.Integer),
        sa.column("source", sa.String),
        sa.column("reference", sa.JSON),
        sa.column("hotlist_entry_id", sa.Integer),
        sa.column("entry_removed_at", sa.DateTime(timezone=True)),
    )
    entries = sa.table(
        "hotlist_entries",
        sa.column("id", sa.Integer),
        sa.column("active", sa.Boolean),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    bind = op.get_bind()
    removed = dict(
        bind.execute(
            sa.select(entries.c.id, entries.c.updated_at).where(entries.c.active.is_(False))
        ).all()
    )
    hits = bind.execute(
        sa.select(alerts.c.id, alerts.c.reference).where(alerts.c.source == HOTLIST_SOURCE)
    ).all()
    for alert_id, reference in hits:
        entry_id = _entry_id(reference)
        if entry_id is None:
            continue
        bind.execute(
            alerts.update()
            .where(alerts.c.id == alert_id)
            .values(hotlist_entry_id=entry_id, entry_removed_at=removed.get(entry_id))
        )


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_hotlist_entry")
        batch_op.drop_column("entry_removed_at")
        batch_op.drop_column("hotlist_entry_id")
