"""intel: deconfliction registers (stub, filled by the deconfliction work)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23 23:45:00

Owned by the intelligence work (issue 7).
"""

from collections.abc import Sequence

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
