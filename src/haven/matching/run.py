"""Re-runnable matching of one case against every imported set."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from haven import audit
from haven.cases import case_chain, get_case
from haven.matching.decisions import decisions_from_sets
from haven.matching.exact import match_exact
from haven.matching.grouping import GroupingSummary, build_groups
from haven.matching.pdq import match_pdq
from haven.matching.status import update_statuses
from haven.store.db import Store
from haven.store.models import Content, HashSet


@dataclass
class MatchSummary:
    case: str
    sets: int
    exact_matches_added: int
    pdq_matches_added: int
    decisions_added: int
    by_status: dict[str, int]
    groups: GroupingSummary | None = None


def match_case(store: Store, case_ref: str, *, user: str, threshold: int = 31, min_quality: int = 50) -> MatchSummary:
    with store.session() as session:
        case = get_case(session, case_ref)
        exact = match_exact(session, case.id)
        pdq = match_pdq(session, case.id, threshold=threshold, min_quality=min_quality)
        update_statuses(session, case.id)
        decisions = decisions_from_sets(session, case.id)
        groups = build_groups(session, threshold=threshold, min_quality=min_quality)
        counts = session.execute(
            select(Content.status, func.count()).where(Content.case_id == case.id).group_by(Content.status)
        )
        by_status = {status: count for status, count in counts}
        sets = session.scalar(select(func.count(HashSet.id))) or 0
        summary = MatchSummary(case_ref, sets, exact, pdq, decisions, by_status, groups)
        audit.record(
            session,
            chain=case_chain(case_ref),
            user=user,
            action="match",
            detail={
                "sets": sets,
                "pdq_threshold": threshold,
                "pdq_min_quality": min_quality,
                "exact_added": exact,
                "pdq_added": pdq,
                "decisions_added": decisions,
                "by_status": by_status,
                "groups": groups.groups,
            },
        )
    return summary
