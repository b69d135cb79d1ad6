"""intel: sightings

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23 23:45:00

Owned by the intelligence work (issue 7).

- ``sighting_import``: one sightings file imported into a case (CSV, JSON or STIX 2.1 bundle); unique on
  (case, file SHA-256), so importing the same file twice adds nothing. Keeps what was read and skipped.
- ``sighting``: one observation: an identifier (type, value, normalized as extraction does; the store's
  ``identifier`` row when there is one) and/or a file (MD5/SHA-1/SHA-256/PDQ, name), seen on a network at a
  UTC time, reported by a source. ``record`` points back into the imported file (``line:17``,
  ``record:3``, ``sighting--…/observed-data--…``).
- ``sighting_match``: a sighting's file matched to a case content or to a known hash-set entry (exactly one
  of the two), by method (md5 | sha1 | sha256 | pdq) and distance. Rebuilt by ``haven intel sightings match``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _partial(column: str) -> dict[str, sa.TextClause]:
    where = sa.text(f"{column} IS NOT NULL")
    return {"sqlite_where": where, "postgresql_where": where}


def upgrade() -> None:
    op.create_table(
        "sighting_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=200), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("sightings", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("skipped", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("skipped_reasons", sa.Text(), nullable=False, server_default="[]"),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "file_sha256", name="uq_sighting_import_file"),
    )
    op.create_table(
        "sighting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("record", sa.String(length=200), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("identifier_type", sa.String(length=20), nullable=True),
        sa.Column("identifier_value", sa.Text(), nullable=True),
        sa.Column("identifier_normalized", sa.String(length=512), nullable=True),
        sa.Column("identifier_id", sa.Integer(), nullable=True),
        sa.Column("network", sa.String(length=100), nullable=True),
        sa.Column("md5", sa.String(length=32), nullable=True),
        sa.Column("sha1", sa.String(length=40), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("pdq", sa.String(length=64), nullable=True),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["import_id"], ["sighting_import.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["identifier_id"], ["identifier.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sighting_case", "sighting", ["case_id", "observed_at", "id"])
    op.create_index("ix_sighting_import", "sighting", ["import_id"])
    op.create_index(
        "ix_sighting_identifier",
        "sighting",
        ["identifier_type", "identifier_normalized", "case_id"],
        **_partial("identifier_normalized"),
    )
    op.create_index("ix_sighting_identifier_id", "sighting", ["identifier_id"], **_partial("identifier_id"))
    op.create_table(
        "sighting_match",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("sighting_id", sa.Integer(), nullable=False),
        sa.Column("content_id", sa.Integer(), nullable=True),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("set_id", sa.Integer(), nullable=True),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("distance", sa.Integer(), nullable=False, server_default="0"),
        sa.CheckConstraint("(content_id IS NULL) <> (entry_id IS NULL)", name="ck_sighting_match_one_target"),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["sighting_id"], ["sighting.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["content_id"], ["content.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["entry_id"], ["hash_entry.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["set_id"], ["hash_set.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sighting_match_case", "sighting_match", ["case_id", "sighting_id"])
    op.create_index(
        "uq_sighting_match_content",
        "sighting_match",
        ["sighting_id", "content_id", "method"],
        unique=True,
        **_partial("content_id"),
    )
    op.create_index(
        "uq_sighting_match_entry",
        "sighting_match",
        ["sighting_id", "entry_id", "method"],
        unique=True,
        **_partial("entry_id"),
    )
    # Deleting a content, a hash entry or a whole set cascades here: without these each deleted row scans.
    op.create_index("ix_sighting_match_content", "sighting_match", ["content_id"], **_partial("content_id"))
    op.create_index("ix_sighting_match_entry", "sighting_match", ["entry_id"], **_partial("entry_id"))
    op.create_index("ix_sighting_match_set", "sighting_match", ["set_id"], **_partial("set_id"))


def downgrade() -> None:
    op.drop_table("sighting_match")
    op.drop_table("sighting")
    op.drop_table("sighting_import")
