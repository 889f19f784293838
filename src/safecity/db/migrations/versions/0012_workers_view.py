"""grant workers.view: who sees video worker groups that refused their configuration

Refused groups were shown to holders of ``cameras.change`` with a province-wide scope;
they now have a permission of their own, granted to the default roles that held the
old one for this (engineer, admin).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# Roles are data an administrator may have edited: add the permission to the default
# roles that still exist and hold what showed refused groups before, take nothing away.
GRANTED_TO = ("engineer", "admin")
PERMISSION = "workers.view"
HELD_BEFORE = "cameras.change"


def _roles() -> sa.TableClause:
    return sa.table("roles", sa.column("id"), sa.column("slug"), sa.column("permissions", sa.JSON))


def upgrade() -> None:
    roles = _roles()
    bind = op.get_bind()
    for role_id, slug, permissions in bind.execute(
        sa.select(roles.c.id, roles.c.slug, roles.c.permissions)
    ):
        held = list(permissions or [])
        if slug in GRANTED_TO and HELD_BEFORE in held and PERMISSION not in held:
            bind.execute(
                roles.update().where(roles.c.id == role_id).values(permissions=[*held, PERMISSION])
            )


def downgrade() -> None:
    roles = _roles()
    bind = op.get_bind()
    for role_id, permissions in bind.execute(sa.select(roles.c.id, roles.c.permissions)):
        held = list(permissions or [])
        if PERMISSION in held:
            kept = [p for p in held if p != PERMISSION]
            bind.execute(roles.update().where(roles.c.id == role_id).values(permissions=kept))
