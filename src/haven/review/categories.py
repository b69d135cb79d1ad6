"""A case's category scheme in review order, with the number keys the grid binds to it.

Each content's current category is kept on the content row by ``haven.store.current_category``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from haven.store.models import Category, Content

PERSON_SOURCES = ("user", "propagated")
"""Decisions a person made (directly, or on the stack representative): the content counts as reviewed."""
UNCATEGORIZED_NAMES = ("uncategorized", "uncategorised")
ID_CHUNK = 500
_CONTENT = cast(Table, Content.__table__)
"""The table itself: an executemany UPDATE keyed by a bound id (the ORM would want primary-key dicts)."""


@dataclass(frozen=True)
class SchemeCategory:
    code: str
    name: str
    meaning: str | None
    key: str | None
    """The number key (1..9) bound to it in the review grid, in the scheme's order; None past nine."""


def scheme_categories(session: Session, scheme: str) -> list[SchemeCategory]:
    """The scheme's categories in review order (``position`` then code), with their number keys."""
    position = getattr(Category, "position", None)
    order = (position, Category.code) if position is not None else (Category.code,)
    rows = session.execute(
        select(Category.code, Category.name, Category.meaning).where(Category.scheme == scheme).order_by(*order)
    ).all()
    return [
        SchemeCategory(code, name, meaning, str(i + 1) if i < 9 else None)
        for i, (code, name, meaning) in enumerate(rows)
    ]


def uncategorized_code(categories: Iterable[SchemeCategory]) -> str | None:
    """The scheme's "not yet reviewed" code (VIC 0, CAID U), when it has one."""
    for category in categories:
        if category.name.strip().lower() in UNCATEGORIZED_NAMES:
            return category.code
    return None
