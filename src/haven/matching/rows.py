"""What every matcher shares: the case contents it queries, entry-to-set lookups, and writing matches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from haven.store.bulk import insert_ignore
from haven.store.models import Content, HashEntry, Match

ID_BATCH = 10_000


def case_pdq_contents(
    session: Session, case_id: int, column: InstrumentedAttribute[str | None], min_quality: int
) -> list[tuple[int, str]]:
    """(content id, value of ``column``) for the case's contents whose PDQ is trustworthy enough to match."""
    rows = session.execute(
        select(Content.id, column).where(
            Content.case_id == case_id, column.is_not(None), Content.pdq_quality >= min_quality
        )
    )
    return [(content_id, value) for content_id, value in rows if value is not None]


def set_ids_of(session: Session, entry_ids: Sequence[int]) -> dict[int, int]:
    """Entry id -> set id; entries deleted since an index was built are simply absent."""
    found: dict[int, int] = {}
    for start in range(0, len(entry_ids), ID_BATCH):
        rows = session.execute(
            select(HashEntry.id, HashEntry.set_id).where(HashEntry.id.in_(entry_ids[start : start + ID_BATCH]))
        )
        found.update((entry_id, set_id) for entry_id, set_id in rows)
    return found


def count_case_matches(session: Session, case_id: int) -> int:
    query = select(func.count(Match.id)).join(Content, Content.id == Match.content_id).where(Content.case_id == case_id)
    return int(session.scalar(query) or 0)


def insert_matches(session: Session, case_id: int, rows: Sequence[dict[str, Any]]) -> int:
    """Insert, skipping matches already recorded; returns how many are new (rowcount is not portable)."""
    before = count_case_matches(session, case_id)
    insert_ignore(session, Match, rows, ("content_id", "entry_id", "method"))
    return count_case_matches(session, case_id) - before
