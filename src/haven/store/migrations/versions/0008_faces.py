"""faces: detected faces, embeddings, identities

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 09:00:00

Owned by the faces work (issue 6).

- ``face_identity``: a person within a case, for one face model. ``locked`` identities were touched by an
  analyst (named, merged, split, moved into) and are kept by re-runs; the others are rebuilt by clustering.
- ``face``: one detected face of a content: box in original pixels, landmarks (JSON), quality, the
  embedding (float32 bytes), the model that made it, and its identity.
- ``face_scan``: one row per (content, model) analysed: the resume marker, the face count or the error.
- ``face_action``: the analysts' actions on identities (name, merge, split, move), in order.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "face_identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=80), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("analyst_named", sa.Boolean(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("face_identity", schema=None) as batch_op:
        batch_op.create_index("ix_face_identity_case_model", ["case_id", "model"], unique=False)

    op.create_table(
        "face",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=80), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("x", sa.Integer(), nullable=False),
        sa.Column("y", sa.Integer(), nullable=False),
        sa.Column("w", sa.Integer(), nullable=False),
        sa.Column("h", sa.Integer(), nullable=False),
        sa.Column("landmarks", sa.Text(), nullable=False),
        sa.Column("quality", sa.Float(), nullable=False),
        sa.Column("detector_score", sa.Float(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["content_id"], ["content.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["identity_id"], ["face_identity.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("content_id", "model", "seq", name="uq_face"),
    )
    with op.batch_alter_table("face", schema=None) as batch_op:
        batch_op.create_index("ix_face_identity", ["identity_id"], unique=False)
        batch_op.create_index("ix_face_model", ["model", "id"], unique=False)

    op.create_table(
        "face_scan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=80), nullable=False),
        sa.Column("faces", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["content_id"], ["content.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("content_id", "model", name="uq_face_scan"),
    )

    op.create_table(
        "face_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("user", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("face_action", schema=None) as batch_op:
        batch_op.create_index("ix_face_action_case", ["case_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("face_action", schema=None) as batch_op:
        batch_op.drop_index("ix_face_action_case")
    op.drop_table("face_action")
    op.drop_table("face_scan")
    with op.batch_alter_table("face", schema=None) as batch_op:
        batch_op.drop_index("ix_face_model")
        batch_op.drop_index("ix_face_identity")
    op.drop_table("face")
    with op.batch_alter_table("face_identity", schema=None) as batch_op:
        batch_op.drop_index("ix_face_identity_case_model")
    op.drop_table("face_identity")
