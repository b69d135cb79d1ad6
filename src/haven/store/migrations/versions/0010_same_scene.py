"""same scene: local features and their index

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 22:10:00

Owned by the same-scene work (issue 6).

- ``scene_features``: one row per (content, features version) analysed: the resume marker, the error if
  the picture could not be decoded, and its SIFT keypoints (float16 x, y in the reduced picture) and
  descriptors (uint8, 128 a keypoint) as bytes. The bag-of-words index over them lives under
  ``$HAVEN_HOME/indexes`` (its vocabulary is learnt from the stored descriptors).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scene_features",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("scale", sa.Float(), nullable=False),
        sa.Column("keypoints", sa.Integer(), nullable=False),
        sa.Column("points", sa.LargeBinary(), nullable=False),
        sa.Column("descriptors", sa.LargeBinary(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["content_id"], ["content.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("content_id", "version", name="uq_scene_features"),
    )
    with op.batch_alter_table("scene_features", schema=None) as batch_op:
        batch_op.create_index("ix_scene_features_version", ["version", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("scene_features", schema=None) as batch_op:
        batch_op.drop_index("ix_scene_features_version")
    op.drop_table("scene_features")
