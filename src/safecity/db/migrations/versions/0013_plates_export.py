"""grant plates.export: who may take a search's plate reads away as a file

Plate reads could be searched and viewed one by one; exporting a search's reads (for a
case file, a court) is a permission of its own, granted to the default investigator
role, which searches plates for cases, and to the administrator, who grants it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 21:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# A migration is a record of one change and never imports code that may change after
# it: these lines are its own, as 0012's are.
# Roles are data an administrator may have edited: the default investigator and admin
# roles get the permission if they still search plates; nothing is taken from anyone.
GRANTED_TO = ("investigator", "admin")
PERMISSION = "plates.export"
HELD_BEFORE = "plates.search"


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
