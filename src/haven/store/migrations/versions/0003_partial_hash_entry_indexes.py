"""partial hash_entry hash indexes (WHERE col IS NOT NULL)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 20:35:00

A plain MD5 list leaves sha1 and sha256 NULL in every row; full indexes on them cost import time for
entries that can never match. SQLite and PostgreSQL both create and drop indexes in place, so no
batch table copy is needed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("md5", "sha1", "sha256")


def upgrade() -> None:
    for column in COLUMNS:
        op.drop_index(f"ix_hash_entry_{column}", table_name="hash_entry")
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(f"ix_hash_entry_{column}", "hash_entry", [column], sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    for column in COLUMNS:
        op.drop_index(f"ix_hash_entry_{column}", table_name="hash_entry")
        op.create_index(f"ix_hash_entry_{column}", "hash_entry", [column])
