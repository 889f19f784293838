"""recording modes and clock drift (issue 3)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 06:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every existing camera keeps recording as before: continuously.
    op.add_column(
        "cameras",
        sa.Column(
            "recording_mode",
            sa.String(length=20),
            nullable=False,
            server_default="continuous",
        ),
    )
    op.add_column("camera_health", sa.Column("clock_offset_seconds", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("camera_health") as batch:
        batch.drop_column("clock_offset_seconds")
    with op.batch_alter_table("cameras") as batch:
        batch.drop_column("recording_mode")
