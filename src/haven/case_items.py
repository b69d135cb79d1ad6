"""Naming one picture of a case on the command line: a SHA-256 (8 or more leading hex digits) or the
evidence path of any of its occurrences (``EXHIBIT-1:/DCIM/a.jpg``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from haven.errors import HavenError
from haven.store.models import Case, Content, Occurrence, Source

_HEX = frozenset("0123456789abcdef")
SHA256_PREFIX_MIN = 8


def find_content(session: Session, case: Case, item: str) -> Content | None:
    """The case's content ``item`` names, or None; an ambiguous SHA-256 prefix is an error."""
    lowered = item.lower()
    if SHA256_PREFIX_MIN <= len(lowered) <= 64 and set(lowered) <= _HEX:
        matches = list(
            session.scalars(
                select(Content).where(Content.case_id == case.id, Content.sha256.startswith(lowered)).limit(2)
            )
        )
        if len(matches) > 1:
            raise HavenError(f"'{item}' matches several pictures: give more of the SHA-256")
        if matches:
            return matches[0]
    return session.scalar(
        select(Content)
        .join(Occurrence, Occurrence.content_id == Content.id)
        .join(Source, Source.id == Occurrence.source_id)
        .where(Source.case_id == case.id, Occurrence.path == item)
        .limit(1)
    )
