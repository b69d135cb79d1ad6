"""review: decision batches (undo) and review indexes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 09:00:00

Owned by the review-grid work (issue 5).

- ``decision_batch``: one row per review action (a categorization of one or many contents, or an undo);
  ``decision.batch_id`` ties the decisions of one action together so the action can be undone as one.
  ``undoes_id`` is unique: an action is undone at most once.
- ``content.current_category`` / ``content.category_source``: the category and source of a content's latest
  decision, kept by ``haven.review.categories`` so the grid and dashboard never rank decision history per
  request. Backfilled here from the existing decisions.
- Indexes for the review grid's keyset pages (case, status, id), for the counts (covering, grouped in its
  order: case, status, kind, category source, category), and partial ones for the dashboard's errors,
  encrypted items and cameras.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "decision_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("user_name", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("category", sa.String(length=60), nullable=True),
        sa.Column("undoes_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["undoes_id"], ["decision_batch.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("undoes_id", name="uq_decision_batch_undoes"),
    )
    with op.batch_alter_table("decision_batch", schema=None) as batch_op:
        batch_op.create_index("ix_decision_batch_case_user", ["case_id", "user_name", "id"], unique=False)

    # A plain indexed column, no foreign key: adding one would rebuild the whole decision table on SQLite,
    # and a batch's decisions go with their contents (content cascade) anyway.
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.add_column(sa.Column("batch_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_decision_batch", ["batch_id"], unique=False)

    with op.batch_alter_table("content", schema=None) as batch_op:
        batch_op.add_column(sa.Column("current_category", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("category_source", sa.String(length=20), nullable=True))
        batch_op.create_index("ix_content_review", ["case_id", "status", "id"], unique=False)
        batch_op.create_index(
            "ix_content_review_state",
            ["case_id", "status", "kind", "category_source", "current_category"],
            unique=False,
        )
        # Partial: few contents have these, and the dashboard lists them without scanning the case.
        for name, column in (("ix_content_errors", "error"), ("ix_content_encrypted", "encrypted")):
            where = sa.text(f"{column} IS NOT NULL")
            batch_op.create_index(name, ["case_id", "id"], sqlite_where=where, postgresql_where=where)
        where = sa.text("exif_make IS NOT NULL")
        batch_op.create_index(
            "ix_content_camera",
            ["case_id", "exif_make", "exif_model"],
            sqlite_where=where,
            postgresql_where=where,
        )

    # Backfill from the latest decision of each content (ties: the later insert), as report and export read it.
    latest = (
        "SELECT d.{col} FROM decision d WHERE d.content_id = content.id ORDER BY d.decided_at DESC, d.id DESC LIMIT 1"
    )
    op.execute(
        f"UPDATE content SET current_category = ({latest.format(col='category')}), "
        f"category_source = ({latest.format(col='source')}) "
        "WHERE EXISTS (SELECT 1 FROM decision d WHERE d.content_id = content.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("content", schema=None) as batch_op:
        batch_op.drop_index("ix_content_camera")
        batch_op.drop_index("ix_content_encrypted")
        batch_op.drop_index("ix_content_errors")
        batch_op.drop_index("ix_content_review_state")
        batch_op.drop_index("ix_content_review")
        batch_op.drop_column("category_source")
        batch_op.drop_column("current_category")
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_index("ix_decision_batch")
        batch_op.drop_column("batch_id")
    with op.batch_alter_table("decision_batch", schema=None) as batch_op:
        batch_op.drop_index("ix_decision_batch_case_user")
    op.drop_table("decision_batch")
