"""plate reads, hotlists, analytics events (issue 4)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 06:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hotlist_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plate", sa.String(length=12), nullable=False),
        sa.Column("plate_key", sa.String(length=12), nullable=False),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("source_agency", sa.String(length=120), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=150), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_hotlist_entries_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotlist_entries")),
    )
    with op.batch_alter_table("hotlist_entries", schema=None) as batch_op:
        batch_op.create_index("ix_hotlist_entries_key", ["plate_key", "active"], unique=False)

    op.create_table(
        "plate_reads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.String(length=12), nullable=False),
        sa.Column("plate_key", sa.String(length=12), nullable=False),
        sa.Column("text_reversed", sa.String(length=12), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("box", sa.JSON(), nullable=True),
        sa.Column("vehicle_class", sa.String(length=40), nullable=True),
        sa.Column("plate_crop", sa.String(length=400), nullable=True),
        sa.Column("vehicle_image", sa.String(length=400), nullable=True),
        sa.Column("hotlist_hits", sa.JSON(), nullable=False),
        sa.Column("hit", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"],
            ["cameras.id"],
            name=op.f("fk_plate_reads_camera_id_cameras"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plate_reads")),
        sa.UniqueConstraint("message_id", name=op.f("uq_plate_reads_message_id")),
    )
    with op.batch_alter_table("plate_reads", schema=None) as batch_op:
        batch_op.create_index("ix_plate_reads_at", ["at"], unique=False)
        batch_op.create_index("ix_plate_reads_camera_at", ["camera_id", "at"], unique=False)
        batch_op.create_index("ix_plate_reads_key_at", ["plate_key", "at"], unique=False)
        batch_op.create_index("ix_plate_reads_reversed_at", ["text_reversed", "at"], unique=False)
        batch_op.create_index("ix_plate_reads_text_at", ["text", "at"], unique=False)

    op.create_table(
        "rule_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("rule", sa.String(length=80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=True),
        sa.Column("object_class", sa.String(length=40), nullable=True),
        sa.Column("box", sa.JSON(), nullable=True),
        sa.Column("frame_width", sa.Integer(), nullable=False),
        sa.Column("frame_height", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("direction", sa.String(length=20), nullable=True),
        sa.Column("snapshot", sa.String(length=400), nullable=True),
        sa.Column("clip_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("clip_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("alerted", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"],
            ["cameras.id"],
            name=op.f("fk_rule_events_camera_id_cameras"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rule_events")),
        sa.UniqueConstraint("message_id", name=op.f("uq_rule_events_message_id")),
    )
    with op.batch_alter_table("rule_events", schema=None) as batch_op:
        batch_op.create_index("ix_rule_events_at", ["at"], unique=False)
        batch_op.create_index("ix_rule_events_camera_at", ["camera_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rule_events", schema=None) as batch_op:
        batch_op.drop_index("ix_rule_events_camera_at")
        batch_op.drop_index("ix_rule_events_at")

    op.drop_table("rule_events")
    with op.batch_alter_table("plate_reads", schema=None) as batch_op:
        batch_op.drop_index("ix_plate_reads_text_at")
        batch_op.drop_index("ix_plate_reads_reversed_at")
        batch_op.drop_index("ix_plate_reads_key_at")
        batch_op.drop_index("ix_plate_reads_camera_at")
        batch_op.drop_index("ix_plate_reads_at")

    op.drop_table("plate_reads")
    with op.batch_alter_table("hotlist_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_hotlist_entries_key")

    op.drop_table("hotlist_entries")
