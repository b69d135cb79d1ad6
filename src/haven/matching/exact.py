"""Exact matching by MD5, SHA-1 and SHA-256, done inside the database with indexed joins."""

from __future__ import annotations

from sqlalchemy import literal, select
from sqlalchemy.orm import Session

from haven.matching.rows import count_case_matches
from haven.store.bulk import insert_ignore_from_select
from haven.store.models import Content, HashEntry, Match

EXACT_METHODS = ("md5", "sha1", "sha256")


def match_exact(session: Session, case_id: int) -> int:
    """Record a match for every content whose hash is in a set. Returns new matches."""
    before = count_case_matches(session, case_id)
    for method in EXACT_METHODS:
        content_col = getattr(Content, method)
        entry_col = getattr(HashEntry, method)
        query = (
            select(Content.id, HashEntry.id, HashEntry.set_id, literal(method), literal(0))
            .join(HashEntry, entry_col == content_col)
            .where(Content.case_id == case_id, Content.size > 0)  # the empty file is in every set
        )
        insert_ignore_from_select(session, Match, ("content_id", "entry_id", "set_id", "method", "distance"), query)
    return count_case_matches(session, case_id) - before
