"""site power telemetry and alerts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 04:25:41.641618
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_power_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message", sa.String(length=300), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_site_power_alerts_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_power_alerts")),
    )
    with op.batch_alter_table("site_power_alerts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_site_power_alerts_open", ["site_id", "kind", "cleared_at"], unique=False
        )

    op.create_table(
        "site_power_readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("battery_soc_pct", sa.Float(), nullable=True),
        sa.Column("solar_input_w", sa.Float(), nullable=True),
        sa.Column("load_w", sa.Float(), nullable=True),
        sa.Column("temperature_c", sa.Float(), nullable=True),
        sa.Column("link_up", sa.Boolean(), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["sites.id"],
            name=op.f("fk_site_power_readings_site_id_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_power_readings")),
    )
    with op.batch_alter_table("site_power_readings", schema=None) as batch_op:
        batch_op.create_index("ix_site_power_readings_site_at", ["site_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("site_power_readings", schema=None) as batch_op:
        batch_op.drop_index("ix_site_power_readings_site_at")

    op.drop_table("site_power_readings")
    with op.batch_alter_table("site_power_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_site_power_alerts_open")

    op.drop_table("site_power_alerts")
