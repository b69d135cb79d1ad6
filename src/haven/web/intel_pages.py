"""A case's identifiers one page at a time, for the web app's identifiers view.

``haven.intel.identifiers.case_identifiers`` streams a whole case with every occurrence (the CLI's JSON
contract). A web page needs to start from a cursor and show each identifier's occurrence count with its
first few evidence pointers, whatever the case's size: one query for the page of identifiers (keyset on
(type, normalized), the same order as the CLI, with a correlated count on the case's occurrence index) and
one for the pointers of just those identifiers (a window function).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, func, select, tuple_
from sqlalchemy.orm import Session

from haven.intel.identifiers import check_type, iso_utc
from haven.store.models import Content, Identifier, IdentifierOccurrence

SEPARATOR = ":"  # between type and normalized in a cursor: a type never holds it (split at the first)


@dataclass
class IdentifierRow:
    id: int
    type: str
    value: str
    normalized: str
    country: str | None
    occurrences: int
    evidence: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class IdentifierPage:
    rows: list[IdentifierRow]
    next_cursor: str | None


def identifier_page(
    session: Session,
    case_id: int,
    *,
    identifier_type: str | None = None,
    text: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
    evidence_each: int = 3,
) -> IdentifierPage:
    """Identifiers of the case ordered by (type, normalized); ``text`` keeps those whose value or normalized
    form contains it. Raises HavenError for an unknown type."""
    check_type(identifier_type)
    in_case = (IdentifierOccurrence.case_id == case_id) & (IdentifierOccurrence.identifier_id == Identifier.id)
    occurrences = select(func.count()).where(in_case).correlate(Identifier).scalar_subquery()
    query = (
        select(
            Identifier.id,
            Identifier.type,
            Identifier.value,
            Identifier.normalized,
            Identifier.country,
            occurrences,
        )
        .where(exists().where(in_case))
        .order_by(Identifier.type, Identifier.normalized)
        .limit(limit + 1)
    )
    if identifier_type:
        query = query.where(Identifier.type == identifier_type)
    if text:
        query = query.where(
            Identifier.normalized.contains(text.lower(), autoescape=True)
            | Identifier.value.contains(text, autoescape=True)
        )
    if cursor:
        after_type, _, after_normalized = cursor.partition(SEPARATOR)
        query = query.where(tuple_(Identifier.type, Identifier.normalized) > tuple_(after_type, after_normalized))
    rows = [IdentifierRow(*row) for row in session.execute(query)]
    more = len(rows) > limit
    rows = rows[:limit]
    pointers = _first_occurrences(session, case_id, [r.id for r in rows], evidence_each)
    for row in rows:
        row.evidence = pointers.get(row.id, [])
    next_cursor = f"{rows[-1].type}{SEPARATOR}{rows[-1].normalized}" if more and rows else None
    return IdentifierPage(rows, next_cursor)


def _first_occurrences(session: Session, case_id: int, identifier_ids: list[int], each: int) -> dict[int, list[dict]]:
    """Up to ``each`` evidence pointers per identifier (path, line order), in one query."""
    if not identifier_ids:
        return {}
    order = (IdentifierOccurrence.path, IdentifierOccurrence.line, IdentifierOccurrence.char_offset)
    rank = func.row_number().over(partition_by=IdentifierOccurrence.identifier_id, order_by=order)
    ranked = (
        select(
            IdentifierOccurrence.identifier_id.label("identifier_id"),
            Content.sha256.label("sha256"),
            IdentifierOccurrence.path.label("path"),
            IdentifierOccurrence.line.label("line"),
            IdentifierOccurrence.field.label("field"),
            IdentifierOccurrence.observed_at.label("observed_at"),
            rank.label("rank"),
        )
        .join(Content, Content.id == IdentifierOccurrence.content_id)
        .where(IdentifierOccurrence.case_id == case_id, IdentifierOccurrence.identifier_id.in_(identifier_ids))
        .subquery()
    )
    found: dict[int, list[dict]] = {}
    for row in session.execute(
        select(ranked).where(ranked.c.rank <= each).order_by(ranked.c.identifier_id, ranked.c.rank)
    ):
        found.setdefault(row.identifier_id, []).append(
            {
                "sha256": row.sha256,
                "path": row.path,
                "line": row.line,
                "field": row.field,
                "observed_at": iso_utc(row.observed_at),
            }
        )
    return found
