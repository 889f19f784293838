"""alerts: rule alerts raised before one alert per rule get their rule's key

Rule alerts were correlated by camera and kind (``camera:<CODE>:<kind>``) until two
rules of one kind on a camera (an intrusion rule on the gate, another on the fence)
became two alerts (``camera:<CODE>:<kind>:<rule>``). An alert opened before that kept its
old key, so the next event of its rule started a second alert beside it. Each such key
gets the rule of the event its alert names (its reference); an alert whose event is gone
(swept by retention) keeps its key.

Downgrade leaves the keys as they are: the code at revision 0015 already writes the new
format, so there is nothing to take back.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 01:10:00
"""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# A migration never imports code that may change after it: these lines are its own.
RULE_SOURCE = "analytics"
KEY_LENGTH = 120


def rule_key(camera: str, kind: str, rule: str) -> str:
    """The key one rule's alerts share (as ``events.alerts.rule_correlation_key`` made
    it at this revision): a name too long for the field ends in a digest of it."""
    key = f"camera:{camera}:{kind}:{rule}"
    if len(key) <= KEY_LENGTH:
        return key
    digest = hashlib.sha256(rule.encode()).hexdigest()[:12]
    return f"{key[: KEY_LENGTH - len(digest) - 1]}~{digest}"


def _event_id(reference: Any) -> int | None:
    event = str(reference.get("rule_event", "")) if isinstance(reference, dict) else ""
    return int(event) if event.isdigit() else None


def upgrade() -> None:
    alerts = sa.table(
        "alerts",
        sa.column("id", sa.Integer),
        sa.column("source", sa.String),
        sa.column("correlation_key", sa.String),
        sa.column("reference", sa.JSON),
    )
    events = sa.table(
        "rule_events",
        sa.column("id", sa.Integer),
        sa.column("camera_id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("rule", sa.String),
    )
    cameras = sa.table("cameras", sa.column("id", sa.Integer), sa.column("code", sa.String))
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(alerts.c.id, alerts.c.correlation_key, alerts.c.reference).where(
            alerts.c.source == RULE_SOURCE, alerts.c.correlation_key.like("camera:%")
        )
    ).all()
    for alert_id, key, reference in rows:
        event_id = _event_id(reference)
        if event_id is None:
            continue
        found = bind.execute(
            sa.select(cameras.c.code, events.c.kind, events.c.rule)
            .join(cameras, cameras.c.id == events.c.camera_id)
            .where(events.c.id == event_id)
        ).first()
        if found is None:
            continue
        code, kind, rule = found
        if key == f"camera:{code}:{kind}":
            bind.execute(
                alerts.update()
                .where(alerts.c.id == alert_id)
                .values(correlation_key=rule_key(code, kind, rule))
            )


def downgrade() -> None:
    """Nothing to undo (see the module docstring)."""
