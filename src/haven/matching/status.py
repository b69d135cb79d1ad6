"""A content's triage status, derived from its matches and stored for fast review queries.

Precedence: known (exact hash in a known set) > near-known (PDQ within threshold of a known
picture) > known-good (exact hash in a known-good set such as NSRL) > error > unknown.
"""

from __future__ import annotations

from sqlalchemy import Exists, and_, exists, select, update
from sqlalchemy.orm import Session

from haven.matching.exact import EXACT_METHODS
from haven.store.models import Content, HashSet, Match

PERCEPTUAL_METHODS = ("pdq", "pdq-dihedral", "vpdq", "pdq-frame")


def _has_match(methods: tuple[str, ...], set_kind: str) -> Exists:
    return exists(
        select(Match.id)
        .join(HashSet, HashSet.id == Match.set_id)
        .where(Match.content_id == Content.id, Match.method.in_(methods), HashSet.kind == set_kind)
    )


def update_statuses(session: Session, case_id: int) -> None:
    in_case = Content.case_id == case_id
    session.execute(update(Content).where(in_case, Content.error.is_(None)).values(status="unknown"))
    session.execute(update(Content).where(in_case, Content.error.is_not(None)).values(status="error"))
    # Lowest precedence first: each later statement overrides the earlier ones.
    for status, methods, kind in (
        ("known-good", EXACT_METHODS, "known-good"),
        ("near-known", PERCEPTUAL_METHODS, "known"),
        ("known", EXACT_METHODS, "known"),
    ):
        session.execute(
            update(Content).where(and_(in_case, _has_match(methods, kind))).values(status=status),
            execution_options={"synchronize_session": False},
        )
