"""Grants of a new permission to default roles, for the migrations that add one.

Roles are data an administrator may have edited, so a grant goes only to the named
default roles that still exist and still hold the permission that did the job before;
nothing is taken from anyone. Taking a grant back removes that permission from every
role, as the revision that added it is undone.
"""

from __future__ import annotations

from collections.abc import Collection

import sqlalchemy as sa
from alembic import op


def _roles() -> sa.TableClause:
    return sa.table("roles", sa.column("id"), sa.column("slug"), sa.column("permissions", sa.JSON))


def grant(permission: str, *, to: Collection[str], where_held: str) -> None:
    """Add ``permission`` to the roles ``to`` that hold ``where_held`` and lack it."""
    roles = _roles()
    bind = op.get_bind()
    for role_id, slug, permissions in bind.execute(
        sa.select(roles.c.id, roles.c.slug, roles.c.permissions)
    ):
        held = list(permissions or [])
        if slug in to and where_held in held and permission not in held:
            bind.execute(
                roles.update().where(roles.c.id == role_id).values(permissions=[*held, permission])
            )


def revoke(permission: str) -> None:
    """Remove ``permission`` from every role that holds it."""
    roles = _roles()
    bind = op.get_bind()
    for role_id, permissions in bind.execute(sa.select(roles.c.id, roles.c.permissions)):
        held = list(permissions or [])
        if permission in held:
            kept = [p for p in held if p != permission]
            bind.execute(roles.update().where(roles.c.id == role_id).values(permissions=kept))
