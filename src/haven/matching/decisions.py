"""Categories carried by matched hash-set entries become pre-categorization decisions.

A person's decision is never overridden by a hash set: contents a person has decided (directly, or on
the representative of their near-duplicate stack) are skipped.
Exact matches are recorded after perceptual ones, so where sets disagree the exact one is current.

A set's categories are in its own scheme; a decision is in the case's. When the two differ, each code
goes through the explicit ``category_mapping`` table (``haven.schemes``). A code with no mapping makes
no decision: it is counted per set and code as *unmapped* and reported, because a wrong category is
worse than none (the content is still ``known`` and is reviewed). A set that declared no scheme (a
plain list) has its codes taken as the case's own, but only codes the case's scheme has.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from haven.matching.exact import EXACT_METHODS
from haven.review.categories import PERSON_SOURCES
from haven.schemes import CategoryMapper
from haven.store.models import Case, Content, Decision, HashEntry, HashSet, Match


@dataclass(frozen=True)
class Unmapped:
    """Pre-categorizations from one set in one code that could not be applied to the case."""

    set_name: str
    from_scheme: str | None  # None: the set declared no scheme
    code: str
    to_scheme: str
    contents: int  # distinct contents (not decided by a person) that were left without this category

    def __str__(self) -> str:
        if self.from_scheme is None:
            why = f"set declares no scheme and code {self.code} is not in {self.to_scheme}"
        else:
            why = f"no mapping from {self.from_scheme} code {self.code} to {self.to_scheme}"
        return f"{self.contents:,} pre-categorizations from set {self.set_name} were not applied: {why}"

    def as_dict(self) -> dict[str, str | int | None]:
        return {
            "set": self.set_name,
            "from_scheme": self.from_scheme,
            "code": self.code,
            "to_scheme": self.to_scheme,
            "contents": self.contents,
        }


@dataclass
class SetDecisions:
    added: int = 0
    unmapped: list[Unmapped] = field(default_factory=list)


def decisions_from_sets(session: Session, case_id: int) -> SetDecisions:
    """Add the decisions matched entries' categories make in the case; say which could not be mapped."""
    case_scheme = session.scalar(select(Case.scheme).where(Case.id == case_id))
    rows = session.execute(
        select(Match.content_id, Match.method, HashEntry.category, HashSet.name, HashSet.scheme)
        .join(HashEntry, HashEntry.id == Match.entry_id)
        .join(HashSet, HashSet.id == Match.set_id)
        .join(Content, Content.id == Match.content_id)
        .where(Content.case_id == case_id, HashEntry.category.is_not(None), HashSet.kind == "known")
    ).all()
    if not rows or case_scheme is None:
        return SetDecisions()
    in_case = (Content.id == Decision.content_id) & (Content.case_id == case_id)
    decided_by_person = set(
        session.scalars(select(Decision.content_id).join(Content, in_case).where(Decision.source.in_(PERSON_SOURCES)))
    )
    existing = {
        (cid, category, detail)
        for cid, category, detail in session.execute(
            select(Decision.content_id, Decision.category, Decision.source_detail)
            .join(Content, in_case)
            .where(Decision.source == "hashset")
        )
    }
    mapper = CategoryMapper(session)
    unmapped: defaultdict[tuple[str, str | None, str], set[int]] = defaultdict(set)
    # Perceptual first, exact last: the newest decision is the current category.
    ordered = sorted(rows, key=lambda r: r.method in EXACT_METHODS)
    added = 0
    for row in ordered:
        if row.content_id in decided_by_person:
            continue
        code = str(row.category)
        category = mapper.map(code, row.scheme, case_scheme)
        if category is None:
            unmapped[row.name, row.scheme, code].add(row.content_id)
            continue
        key = (row.content_id, category, row.name)
        if key in existing:
            continue
        existing.add(key)
        session.add(
            Decision(
                content_id=row.content_id,
                category=category,
                source="hashset",
                source_detail=row.name,
                decided_by=f"hashset:{row.name}",
            )
        )
        added += 1
    session.flush()
    return SetDecisions(
        added,
        [
            Unmapped(name, scheme, code, case_scheme, len(contents))
            for (name, scheme, code), contents in sorted(unmapped.items(), key=lambda item: _order(item[0]))
        ],
    )


def _order(key: tuple[str, str | None, str]) -> tuple[str, str, str]:
    name, scheme, code = key
    return name, scheme or "", code
