"""grant workers.view: who sees video worker groups that refused their configuration

Refused groups were shown to holders of ``cameras.change`` with a province-wide scope;
they now have a permission of their own, granted to the default roles that held the
old one for this (engineer, admin).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 19:10:00
"""

from __future__ import annotations

from safecity.db.role_grants import grant, revoke

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

GRANTED_TO = ("engineer", "admin")
PERMISSION = "workers.view"
HELD_BEFORE = "cameras.change"


def upgrade() -> None:
    grant(PERMISSION, to=GRANTED_TO, where_held=HELD_BEFORE)


def downgrade() -> None:
    revoke(PERMISSION)
