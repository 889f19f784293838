"""grant plates.export: who may take a search's plate reads away as a file

Plate reads could be searched and viewed one by one; exporting a search's reads (for a
case file, a court) is a permission of its own, granted to the default investigator
role, which searches plates for cases, and to the administrator, who grants it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 21:20:00
"""

from __future__ import annotations

from safecity.db.role_grants import grant, revoke

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

GRANTED_TO = ("investigator", "admin")
PERMISSION = "plates.export"
HELD_BEFORE = "plates.search"


def upgrade() -> None:
    grant(PERMISSION, to=GRANTED_TO, where_held=HELD_BEFORE)


def downgrade() -> None:
    revoke(PERMISSION)
