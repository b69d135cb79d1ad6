"""Categories carried by matched hash-set entries become pre-categorization decisions.

A user's own decision is never overridden by a hash set: contents a person has decided are skipped.
Exact matches are recorded after perceptual ones, so where sets disagree the exact one is current.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from haven.matching.exact import EXACT_METHODS
from haven.store.models import Content, Decision, HashEntry, HashSet, Match


def decisions_from_sets(session: Session, case_id: int) -> int:
    rows = session.execute(
        select(Match.content_id, Match.method, HashEntry.category, HashSet.name)
        .join(HashEntry, HashEntry.id == Match.entry_id)
        .join(HashSet, HashSet.id == Match.set_id)
        .join(Content, Content.id == Match.content_id)
        .where(Content.case_id == case_id, HashEntry.category.is_not(None), HashSet.kind == "known")
    ).all()
    if not rows:
        return 0
    in_case = (Content.id == Decision.content_id) & (Content.case_id == case_id)
    decided_by_user = set(
        session.scalars(select(Decision.content_id).join(Content, in_case).where(Decision.source == "user"))
    )
    existing = {
        (cid, category, detail)
        for cid, category, detail in session.execute(
            select(Decision.content_id, Decision.category, Decision.source_detail)
            .join(Content, in_case)
            .where(Decision.source == "hashset")
        )
    }
    # Perceptual first, exact last: the newest decision is the current category.
    ordered = sorted(rows, key=lambda r: r.method in EXACT_METHODS)
    added = 0
    for row in ordered:
        key = (row.content_id, str(row.category), row.name)
        if row.content_id in decided_by_user or key in existing:
            continue
        existing.add(key)
        session.add(
            Decision(
                content_id=row.content_id,
                category=str(row.category),
                source="hashset",
                source_detail=row.name,
                decided_by=f"hashset:{row.name}",
            )
        )
        added += 1
    session.flush()
    return added
