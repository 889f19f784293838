"""alerts.camera_code as long as a camera id on the bus (64)

An alert can name a camera the registry does not know; its code is kept as the
source sent it, and the bus contract allows 64 characters where the column held
40. On PostgreSQL a longer code failed the insert, and the alert was redelivered
for ever.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 19:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.alter_column(
            "camera_code",
            existing_type=sa.String(length=40),
            type_=sa.String(length=64),
            existing_nullable=True,
        )


def downgrade() -> None:
    # Codes longer than 40 characters are cut rather than refused: a downgrade keeps the alert.
    op.execute("UPDATE alerts SET camera_code = substr(camera_code, 1, 40)")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.alter_column(
            "camera_code",
            existing_type=sa.String(length=64),
            type_=sa.String(length=40),
            existing_nullable=True,
        )
