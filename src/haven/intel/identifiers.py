"""`haven intel identifiers REF`: a case's identifiers with every place they occur, for people and scripts.

Shape (a contract, see issue 7): a list of ``{type, value, normalized, country, occurrences: [{sha256, path,
line}]}`` ordered by type then normalized; occurrences also carry ``char_offset``, ``field``, ``record``,
``observed_at`` (ISO-8601 UTC) and ``context``, identifiers their ``detail``. Read in keyset pages of
identifiers, each page's occurrences in one query: the cost grows with the result, never per identifier.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select, tuple_
from sqlalchemy.orm import Session

from haven.errors import HavenError
from haven.intel.readers.base import utc
from haven.intel.types import IDENTIFIER_TYPES
from haven.store.models import Content, Identifier, IdentifierOccurrence

PAGE = 500


def check_type(identifier_type: str | None) -> str | None:
    if identifier_type is not None and identifier_type not in IDENTIFIER_TYPES:
        raise HavenError(f"unknown identifier type '{identifier_type}' (one of: {', '.join(IDENTIFIER_TYPES)})")
    return identifier_type


def case_identifiers(session: Session, case_id: int, identifier_type: str | None = None) -> Iterator[dict[str, Any]]:
    """The case's identifiers with their occurrences, ordered by (type, normalized), streamed page by page."""
    after: tuple[str, str] | None = None
    while True:
        query = select(
            Identifier.id,
            Identifier.type,
            Identifier.value,
            Identifier.normalized,
            Identifier.country,
            Identifier.detail,
        ).where(
            exists().where(IdentifierOccurrence.case_id == case_id, IdentifierOccurrence.identifier_id == Identifier.id)
        )
        if identifier_type:
            query = query.where(Identifier.type == identifier_type)
        if after is not None:
            query = query.where(tuple_(Identifier.type, Identifier.normalized) > tuple_(*after))
        page = session.execute(query.order_by(Identifier.type, Identifier.normalized).limit(PAGE)).all()
        if not page:
            return
        places = _occurrences(session, case_id, [row.id for row in page])
        for row in page:
            yield {
                "type": row.type,
                "value": row.value,
                "normalized": row.normalized,
                "country": row.country,
                "detail": json.loads(row.detail or "{}"),
                "occurrences": places.get(row.id, []),
            }
        after = (page[-1].type, page[-1].normalized)


def _occurrences(session: Session, case_id: int, identifier_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    rows = session.execute(
        select(
            IdentifierOccurrence.identifier_id,
            Content.sha256,
            IdentifierOccurrence.path,
            IdentifierOccurrence.line,
            IdentifierOccurrence.char_offset,
            IdentifierOccurrence.field,
            IdentifierOccurrence.record,
            IdentifierOccurrence.observed_at,
            IdentifierOccurrence.context,
        )
        .join(Content, Content.id == IdentifierOccurrence.content_id)
        .where(IdentifierOccurrence.case_id == case_id, IdentifierOccurrence.identifier_id.in_(identifier_ids))
        .order_by(
            IdentifierOccurrence.identifier_id,
            IdentifierOccurrence.path,
            IdentifierOccurrence.line,
            IdentifierOccurrence.char_offset,
        )
    )
    found: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row.identifier_id, []).append(
            {
                "sha256": row.sha256,
                "path": row.path,
                "line": row.line,
                "char_offset": row.char_offset,
                "field": row.field,
                "record": row.record,
                "observed_at": iso_utc(row.observed_at),
                "context": row.context,
            }
        )
    return found


def iso_utc(moment: datetime | None) -> str | None:
    """ISO-8601 with ``Z`` (SQLite hands back naive datetimes; they were stored as UTC)."""
    if moment is None:
        return None
    return utc(moment).isoformat().replace("+00:00", "Z")
