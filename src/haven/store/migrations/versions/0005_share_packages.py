"""share packages: trusted partner keys and hash-set provenance

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 09:00:00

Owned by the share-package work (issue 4). ``trusted_key`` holds the Ed25519 public keys of partner
agencies whose signed packages may be imported; a key is revoked (``revoked_at``), never deleted, so a
package signed by it is refused with the reason and the audit log keeps pointing at a row that exists.
The provenance columns on ``hash_set`` say which agency, case and key an imported package came from.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PROVENANCE = ("signer_fingerprint", "shared_at", "case_reference", "agency")


def upgrade() -> None:
    op.create_table(
        "trusted_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("agency", sa.String(length=200), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fingerprint", name="uq_trusted_key_fingerprint"),
    )
    with op.batch_alter_table("hash_set", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agency", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("case_reference", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("shared_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("signer_fingerprint", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hash_set", schema=None) as batch_op:
        for column in PROVENANCE:
            batch_op.drop_column(column)
    op.drop_table("trusted_key")
