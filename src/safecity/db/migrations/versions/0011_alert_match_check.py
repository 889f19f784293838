"""alerts: the operator's verdict on a hotlist hit's plate match

A hotlist hit is confirmed (the plate crop shows the listed plate) or rejected (a
false read) by an operator before any field action; who and when are kept on the
alert beside its status.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 15:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("match_verdict", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("match_checked_by", sa.String(length=80), nullable=True))
        batch_op.add_column(
            sa.Column("match_checked_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("match_checked_at")
        batch_op.drop_column("match_checked_by")
        batch_op.drop_column("match_verdict")
