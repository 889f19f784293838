"""grant analytics, plate, hotlist, alert, incident, unit and KPI permissions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 06:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ALERTS = ["alerts.view", "alerts.handle"]
_INCIDENTS = ["incidents.view", "incidents.create", "incidents.dispatch"]

# Roles are data an administrator may have edited: add only the new capabilities to
# the default roles that still exist, and never take anything away. The same grants
# as identity.permissions.DEFAULT_ROLES, frozen here as they were when this ran.
GRANTS: dict[str, list[str]] = {
    "operator": [
        "analytics.view",
        "plates.search",
        "hotlists.view",
        *_ALERTS,
        *_INCIDENTS,
        "units.view",
    ],
    "supervisor": [
        "analytics.view",
        "plates.search",
        "hotlists.view",
        "hotlists.change",
        *_ALERTS,
        *_INCIDENTS,
        "units.view",
        "units.change",
        "kpis.view",
    ],
    "call_taker": ["incidents.view", "incidents.create", "units.view"],
    "field_unit": ["units.report"],
    "traffic_officer": ["analytics.view", "plates.search", "hotlists.view"],
    "investigator": [
        "analytics.view",
        "plates.search",
        "hotlists.view",
        "hotlists.change",
        "alerts.view",
        "incidents.view",
    ],
    "engineer": ["analytics.view", "analytics.configure"],
    "auditor": ["hotlists.view", "kpis.view"],
    "admin": [
        "analytics.view",
        "analytics.configure",
        "plates.search",
        "hotlists.view",
        "hotlists.change",
        *_ALERTS,
        *_INCIDENTS,
        "units.view",
        "units.change",
        "units.report",
        "kpis.view",
    ],
}


def upgrade() -> None:
    roles = sa.table("roles", sa.column("id"), sa.column("slug"), sa.column("permissions", sa.JSON))
    bind = op.get_bind()
    for role_id, slug, permissions in bind.execute(
        sa.select(roles.c.id, roles.c.slug, roles.c.permissions)
    ):
        held = list(permissions or [])
        extra = [p for p in GRANTS.get(slug, []) if p not in held]
        if extra:
            bind.execute(
                roles.update().where(roles.c.id == role_id).values(permissions=[*held, *extra])
            )


def downgrade() -> None:
    roles = sa.table("roles", sa.column("id"), sa.column("slug"), sa.column("permissions", sa.JSON))
    bind = op.get_bind()
    for role_id, slug, permissions in bind.execute(
        sa.select(roles.c.id, roles.c.slug, roles.c.permissions)
    ):
        granted = set(GRANTS.get(slug, []))
        kept = [p for p in (permissions or []) if p not in granted]
        if kept != list(permissions or []):
            bind.execute(roles.update().where(roles.c.id == role_id).values(permissions=kept))
