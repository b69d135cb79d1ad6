"""intel: identifiers and where they were found

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 23:40:00

Owned by the intelligence work (issue 7).

- ``identifier``: one row per (type, normalized value) in the whole store, so every case that holds an
  identifier meets every other on one row (deconfliction is an index lookup, not a scan).
- ``identifier_occurrence``: where a case's evidence holds it: content, path, line and offset, the field
  and the record it came from (a customer row, an e-mail header block: identifiers of one record are
  linked into targets), and the UTC time written beside it (an IP's log time).
- ``intel_record``: the fields of a structured record identifiers came from (a customer-list row, a JSON
  object, a database row, an e-mail's headers), kept for fuzzy record linkage across lists and cases.
- ``target`` / ``target_member``: identifiers linked into one person or account cluster within a case (an
  identifier belongs to at most one target of a case); ``locked`` once an analyst touched it.
- ``intel_scan``: a content read by one extractor version: the resume marker, and the error if it could
  not be read.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "identifier",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("normalized", sa.String(length=512), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False, server_default="{}"),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("type", "normalized", name="uq_identifier"),
    )
    op.create_table(
        "identifier_occurrence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("identifier_id", sa.Integer(), nullable=False),
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("char_offset", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("field", sa.String(length=200), nullable=True),
        sa.Column("record", sa.String(length=200), nullable=True),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("context", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["identifier_id"], ["identifier.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["content_id"], ["content.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("content_id", "identifier_id", "line", "char_offset", name="uq_identifier_occurrence"),
    )
    with op.batch_alter_table("identifier_occurrence", schema=None) as batch_op:
        batch_op.create_index("ix_identifier_occurrence_case", ["case_id", "identifier_id"], unique=False)
        batch_op.create_index("ix_identifier_occurrence_identifier", ["identifier_id", "case_id"], unique=False)
        batch_op.create_index("ix_identifier_occurrence_record", ["content_id", "record"], unique=False)
    op.create_table(
        "intel_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("record", sa.String(length=200), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["content_id"], ["content.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("content_id", "record", name="uq_intel_record"),
    )
    with op.batch_alter_table("intel_record", schema=None) as batch_op:
        batch_op.create_index("ix_intel_record_case", ["case_id", "id"], unique=False)
    op.create_table(
        "target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("locked", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("target", schema=None) as batch_op:
        batch_op.create_index("ix_target_case", ["case_id", "id"], unique=False)
    op.create_table(
        "target_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("identifier_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["target_id"], ["target.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["identifier_id"], ["identifier.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "identifier_id", name="uq_target_member"),
    )
    with op.batch_alter_table("target_member", schema=None) as batch_op:
        batch_op.create_index("ix_target_member_target", ["target_id"], unique=False)
    op.create_table(
        "intel_scan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("content_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("reader", sa.String(length=40), nullable=True),
        sa.Column("identifiers", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("bytes_read", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["content_id"], ["content.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("content_id", "version", name="uq_intel_scan"),
    )


def downgrade() -> None:
    op.drop_table("intel_scan")
    op.drop_table("target_member")
    op.drop_table("target")
    op.drop_table("intel_record")
    with op.batch_alter_table("identifier_occurrence", schema=None) as batch_op:
        batch_op.drop_index("ix_identifier_occurrence_record")
        batch_op.drop_index("ix_identifier_occurrence_identifier")
        batch_op.drop_index("ix_identifier_occurrence_case")
    op.drop_table("identifier_occurrence")
    op.drop_table("identifier")
