"""intel: targets (analyst actions, link edges, linking runs)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23 23:45:00

Owned by the intelligence work (issue 7).

- ``target_action``: the analysts' actions on targets (name, note, merge, split), in order: an audit trail
  that reads without the audit chain, like ``face_action``.
- ``target_link``: why identifiers are linked: a co-occurrence in one record, or a fuzzy record match
  (score = match probability), with its evidence as canonical JSON. ``other_case_id`` set: a lead into
  another case ("this customer also appears in case X"), not a link inside the case. Rebuilt by each run.
- ``target_run``: one linking run of a case: the fingerprint of the data it read (so ``haven intel targets``
  knows whether the case changed since), what it found, who ran it and when.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "target_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("user", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("target_action", schema=None) as batch_op:
        batch_op.create_index("ix_target_action_case", ["case_id", "id"], unique=False)
    op.create_table(
        "target_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("identifier_id", sa.Integer(), nullable=False),
        sa.Column("other_identifier_id", sa.Integer(), nullable=True),
        sa.Column("other_case_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["identifier_id"], ["identifier.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["other_identifier_id"], ["identifier.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["other_case_id"], ["case.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("target_link", schema=None) as batch_op:
        batch_op.create_index("ix_target_link_case", ["case_id", "identifier_id"], unique=False)
    op.create_table(
        "target_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("user", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("target_run", schema=None) as batch_op:
        batch_op.create_index("ix_target_run_case", ["case_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("target_run", schema=None) as batch_op:
        batch_op.drop_index("ix_target_run_case")
    op.drop_table("target_run")
    with op.batch_alter_table("target_link", schema=None) as batch_op:
        batch_op.drop_index("ix_target_link_case")
    op.drop_table("target_link")
    with op.batch_alter_table("target_action", schema=None) as batch_op:
        batch_op.drop_index("ix_target_action_case")
    op.drop_table("target_action")
