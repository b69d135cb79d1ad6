"""intel: deconfliction registers

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23 23:45:00

Owned by the intelligence work (issue 7).

- ``partner_register``: a register file imported from another agency: who they are and whom to call (the
  contact a match shows; never their case), the name and fingerprint of the agreed key its entries were
  made with, the file's SHA-256 (a second import of the same file is a no-op), when it was made and imported.
- ``partner_register_entry``: its entries, ``(kind, value_hash)`` only: HMAC-SHA256 hex of the normalized
  value under the agreed key. No value is ever stored. Indexed on the hash's first 8 bytes: deconfliction
  is an index lookup.

The local register needs no table: it is derived live from the store (identifier occurrences, matched
series, named face identities), whose indexes already make a case's overlaps an index lookup.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "partner_register",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency", sa.String(length=200), nullable=False),
        sa.Column("contact", sa.Text(), nullable=False),
        sa.Column("key_name", sa.String(length=64), nullable=False),
        sa.Column("key_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("signer_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=200), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("file_sha256", name="uq_partner_register_file"),
    )
    op.create_table(
        "partner_register_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("value_hash", sa.String(length=64), nullable=False),
        sa.Column("hash_prefix", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["register_id"], ["partner_register.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    # Looked up by the hash's first 8 bytes as a signed integer: an index a fifth the size of one on the
    # hex text (a 1M-entry register's stays in the database's cache), the full hash compared after.
    with op.batch_alter_table("partner_register_entry", schema=None) as batch_op:
        batch_op.create_index("ix_partner_register_entry_prefix", ["hash_prefix"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("partner_register_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_partner_register_entry_prefix")
    op.drop_table("partner_register_entry")
    op.drop_table("partner_register")
