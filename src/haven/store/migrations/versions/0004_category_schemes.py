"""category schemes as data and mappings between schemes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 09:00:00

Owned by the category-schemes work (issue 4).

- ``category_scheme``: one row per scheme (the three presets are ``builtin``; custom ones are added by
  ``haven scheme create``). ``category.scheme`` names a row here.
- ``category.position``: the order a scheme's codes are shown and bound to the review grid's number
  keys 1..9. Presets put the codes a reviewer assigns first and "uncategorized" last.
- ``category_mapping``: explicit (from scheme, from code) -> (to scheme, to code). A code with no row,
  or with a row whose to code is NULL (an explicit "unmapped", with the reason in ``note``), is
  *unmapped*: a hash set's category in that code is never turned into a decision in a case of the
  other scheme; matching counts and reports it instead. Nothing is inferred or chained.

The preset mappings below are deliberately incomplete. A mapping exists only where the two codes mean
the same thing whatever the picture shows; where only a person looking at the picture can say (VIC
"CAM" is A, B or C in UK terms), the row says "unmapped" and why.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen at this revision: migrations never import live code.
SCHEMES = [
    ("vic-us", "VIC US", "Project VIC (United States) VICS categories 0-5."),
    ("vic-ca", "VIC Canada", "Project VIC Canada VICS categories 0-5."),
    ("caid-uk", "CAID UK", "UK Child Abuse Image Database: categories A, B, C (Sentencing Council), non-indecent."),
]

# Review order: assignable codes first, "uncategorized" (not yet reviewed) last.
POSITIONS = {
    "vic-us": {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "0": 6},
    "vic-ca": {"1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "0": 6},
    "caid-uk": {"A": 1, "B": 2, "C": 3, "N": 4, "U": 5},
}

_VIC_PAIRS = (("vic-us", "vic-ca"), ("vic-ca", "vic-us"))
_SAME_VICS_CODE = "Both are Project VIC deployments of the same VICS category codes 0-5"
_NOT_REVIEWED = "Both mean 'not yet reviewed'"
_NO_ABUSE_TO_N = "no abuse by definition, so not an indecent image of a child (CAID N)"
_A_B_TO_CAM = "UK A and B are penetrative / non-penetrative sexual activity: child abuse material in any VIC scheme"
_GRADE_BY_EYE = "UNMAPPED: A, B or C depends on what the picture shows; a reviewer grades it"
_AGE_IN_DOUBT = "UNMAPPED: may or may not be indecent, and the age is in doubt; a reviewer decides"
_CGI = "UNMAPPED: UK law treats CGI / animation as prohibited images, outside the A/B/C grading of photographs"
_C_TO_VIC = "UNMAPPED: 'other indecent images' (e.g. posing) can be VIC 1 or 2; a reviewer decides"
_N_TO_VIC = "UNMAPPED: may be VIC 4 (comparison, pertinent to a series) or 5 (non-pertinent); guessing 5 would hide it"

# (from scheme, from code, to scheme, to code or None, why). A None to code is an explicit "unmapped": the
# row exists to say why, and matching treats it exactly as a missing row (no decision, reported).
MAPPINGS: list[tuple[str, str, str, str | None, str]] = [
    *[(a, code, b, code, _SAME_VICS_CODE) for a, b in _VIC_PAIRS for code in "012345"],
    *[
        row
        for vic in ("vic-us", "vic-ca")
        for row in (
            (vic, "0", "caid-uk", "U", _NOT_REVIEWED),
            (vic, "1", "caid-uk", None, _GRADE_BY_EYE),
            (vic, "2", "caid-uk", None, _AGE_IN_DOUBT),
            (vic, "3", "caid-uk", None, _CGI),
            (vic, "4", "caid-uk", "N", "VIC comparison / exemplar images: " + _NO_ABUSE_TO_N),
            (vic, "5", "caid-uk", "N", "VIC non-pertinent: " + _NO_ABUSE_TO_N),
            ("caid-uk", "A", vic, "1", _A_B_TO_CAM),
            ("caid-uk", "B", vic, "1", _A_B_TO_CAM),
            ("caid-uk", "C", vic, None, _C_TO_VIC),
            ("caid-uk", "N", vic, None, _N_TO_VIC),
            ("caid-uk", "U", vic, "0", _NOT_REVIEWED),
        )
    ],
]


def upgrade() -> None:
    scheme_table = op.create_table(
        "category_scheme",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", name="uq_category_scheme_name"),
    )
    mapping_table = op.create_table(
        "category_mapping",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_scheme", sa.String(length=40), nullable=False),
        sa.Column("from_code", sa.String(length=20), nullable=False),
        sa.Column("to_scheme", sa.String(length=40), nullable=False),
        sa.Column("to_code", sa.String(length=20), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("from_scheme", "from_code", "to_scheme", name="uq_category_mapping"),
    )
    with op.batch_alter_table("category", schema=None) as batch_op:
        batch_op.add_column(sa.Column("position", sa.Integer(), nullable=False, server_default="0"))

    now = datetime.now(UTC)
    presets = {name for name, _, _ in SCHEMES}
    # A store whose `category` table holds other schemes (added by hand before this revision) keeps them.
    others = op.get_bind().execute(sa.text("SELECT DISTINCT scheme FROM category")).scalars()
    op.bulk_insert(
        scheme_table,
        [
            {
                "name": name,
                "title": title,
                "description": description,
                "builtin": True,
                "created_at": now,
                "created_by": "haven",
            }
            for name, title, description in SCHEMES
        ]
        + [
            {
                "name": name,
                "title": name,
                "description": None,
                "builtin": False,
                "created_at": now,
                "created_by": "haven",
            }
            for name in sorted(set(others) - presets)
        ],
    )
    op.bulk_insert(
        mapping_table,
        [
            {"from_scheme": a, "from_code": a_code, "to_scheme": b, "to_code": b_code, "note": note}
            for a, a_code, b, b_code, note in MAPPINGS
        ],
    )
    category = sa.table("category", sa.column("scheme", sa.String), sa.column("code", sa.String), sa.column("position"))
    for scheme, positions in POSITIONS.items():
        for code, position in positions.items():
            op.execute(
                category.update().where(category.c.scheme == scheme, category.c.code == code).values(position=position)
            )


def downgrade() -> None:
    # Custom schemes' categories are kept in `category` (it predates this revision); only their titles go.
    with op.batch_alter_table("category", schema=None) as batch_op:
        batch_op.drop_column("position")
    op.drop_table("category_mapping")
    op.drop_table("category_scheme")
