"""recordings index, legal holds, camera health

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 04:44:48.561200
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "camera_health",
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("state_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fps", sa.Float(), nullable=False),
        sa.Column("bitrate_bps", sa.Float(), nullable=False),
        sa.Column("last_frame_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reconnects", sa.Integer(), nullable=False),
        sa.Column("recording", sa.Boolean(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"],
            ["cameras.id"],
            name=op.f("fk_camera_health_camera_id_cameras"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("camera_id", name=op.f("pk_camera_health")),
    )
    op.create_table(
        "camera_health_episodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["camera_id"],
            ["cameras.id"],
            name=op.f("fk_camera_health_episodes_camera_id_cameras"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_camera_health_episodes")),
    )
    with op.batch_alter_table("camera_health_episodes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_camera_health_episodes_camera", ["camera_id", "started_at"], unique=False
        )

    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("case_reference", sa.String(length=120), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=150), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.String(length=150), nullable=True),
        sa.ForeignKeyConstraint(
            ["camera_id"],
            ["cameras.id"],
            name=op.f("fk_legal_holds_camera_id_cameras"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_holds")),
    )
    op.create_table(
        "recording_segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=400), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("codec", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("gap_before_seconds", sa.Float(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["camera_id"],
            ["cameras.id"],
            name=op.f("fk_recording_segments_camera_id_cameras"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_segments")),
        sa.UniqueConstraint("path", name=op.f("uq_recording_segments_path")),
    )
    with op.batch_alter_table("recording_segments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_recording_segments_camera_time", ["camera_id", "started_at"], unique=False
        )
    _grant_footage_to_default_roles()


# Roles are data an administrator may have edited: add only what footage needs, to
# the default roles that still exist, and never take anything away.
FOOTAGE_GRANTS = {
    "operator": ["footage.view"],
    "supervisor": ["footage.view", "footage.hold"],
    "traffic_officer": ["footage.view"],
    "investigator": ["footage.view", "footage.export", "footage.hold"],
    "engineer": ["footage.view"],
    "admin": ["footage.view", "footage.export", "footage.hold"],
}


def _grant_footage_to_default_roles() -> None:
    roles = sa.table("roles", sa.column("id"), sa.column("slug"), sa.column("permissions", sa.JSON))
    bind = op.get_bind()
    for role_id, slug, permissions in bind.execute(
        sa.select(roles.c.id, roles.c.slug, roles.c.permissions)
    ):
        extra = [p for p in FOOTAGE_GRANTS.get(slug, []) if p not in (permissions or [])]
        if extra:
            bind.execute(
                roles.update()
                .where(roles.c.id == role_id)
                .values(permissions=[*permissions, *extra])
            )


def downgrade() -> None:
    with op.batch_alter_table("recording_segments", schema=None) as batch_op:
        batch_op.drop_index("ix_recording_segments_camera_time")

    op.drop_table("recording_segments")
    op.drop_table("legal_holds")
    with op.batch_alter_table("camera_health_episodes", schema=None) as batch_op:
        batch_op.drop_index("ix_camera_health_episodes_camera")

    op.drop_table("camera_health_episodes")
    op.drop_table("camera_health")
