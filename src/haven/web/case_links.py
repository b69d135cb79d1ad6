"""What the victim-identification and intel pages share: case URLs, which other cases a user may be told
about, which pictures have a stored (blurred) thumbnail, and page cursors from the query string.

A lead into another case names that case only when the user is a member of it; otherwise the page says
how many other cases there are, never which (the same rule as `case_access`: a case's existence is not
revealed to non-members).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fastapi import HTTPException, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven.store.models import Case, CaseMember, Content, Thumbnail

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MAX_CURSOR = 200


def case_base(reference: str) -> str:
    return f"/cases/{quote(reference, safe='')}"


def member_cases(session: Session, user_id: int) -> set[str]:
    """References of the cases ``user_id`` is a member of."""
    rows = session.scalars(
        select(Case.reference).join(CaseMember, CaseMember.case_id == Case.id).where(CaseMember.user_id == user_id)
    )
    return set(rows)


@dataclass
class OtherCases:
    """Leads into other cases, as one user may see them."""

    named: list[dict[str, Any]] = field(default_factory=list)
    """``{case, contents, url}`` for cases the user is a member of."""
    unnamed: int = 0
    """How many other cases the user is not a member of."""

    @property
    def any(self) -> bool:
        return bool(self.named) or self.unnamed > 0


def visible_other_cases(cases: Iterable[dict[str, Any]], members_of: set[str]) -> OtherCases:
    """Split ``[{case, contents}]`` into the cases the user may see by name and a count of the rest."""
    out = OtherCases()
    for entry in cases:
        if entry["case"] in members_of:
            out.named.append(entry | {"url": case_base(entry["case"])})
        else:
            out.unnamed += 1
    return out


def with_thumbnail(session: Session, case_id: int, sha256s: Iterable[str]) -> set[str]:
    """The given contents of the case that have a stored thumbnail (one query per 500)."""
    wanted = sorted(set(sha256s))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        found.update(
            session.scalars(
                select(Content.sha256)
                .join(Thumbnail, Thumbnail.content_id == Content.id)
                .where(Content.case_id == case_id, Content.sha256.in_(wanted[start : start + 500]))
            )
        )
    return found


def cursor_param(request: Request, name: str = "cursor") -> str | None:
    value = request.query_params.get(name)
    if value is not None and (len(value) > MAX_CURSOR or not value.isprintable()):
        raise HTTPException(400, f"'{name}' is not a page cursor")
    return value or None


MAX_ID = 2**31 - 1
"""Ids are 32-bit integer columns: a larger number names nothing (and PostgreSQL refuses to compare it)."""


def int_param(request: Request, name: str, *, default: int | None = None, minimum: int = 0) -> int | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    if not value.isdigit() or len(value) > 10 or not minimum <= int(value) <= MAX_ID:
        raise HTTPException(400, f"'{name}' must be a whole number from {minimum} to {MAX_ID}")
    return int(value)


def row_id(value: int, what: str) -> int:
    """A form field naming a row: out of the id range it cannot name one (400, as for a wrong id)."""
    if not 1 <= value <= MAX_ID:
        raise HTTPException(400, f"no such {what}")
    return value
