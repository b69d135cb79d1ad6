"""Re-runnable matching of one case against every imported set."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from haven import audit
from haven.cases import case_chain, get_case
from haven.matching.decisions import Unmapped, decisions_from_sets
from haven.matching.dihedral import match_pdq_dihedral
from haven.matching.exact import match_exact
from haven.matching.grouping import GroupingSummary, build_groups
from haven.matching.pdq import known_pdq_index, match_pdq
from haven.matching.status import update_statuses
from haven.matching.vpdq import (
    DEFAULT_COMPARED_PERCENT,
    DEFAULT_QUERY_PERCENT,
    match_frames_to_images,
    match_videos,
)
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
    dihedral_matches_added: int = 0
    """Rotated/mirrored copies of known pictures (method ``pdq-dihedral``)."""
    video_matches_added: int = 0
    """Case videos matching known videos (method ``vpdq``)."""
    frame_matches_added: int = 0
    """Video frames matching pictures, either way round (method ``pdq-frame``)."""
    unmapped: list[Unmapped] = field(default_factory=list)
    """Set categories not applied: no mapping from the set's scheme into the case's (per set and code)."""


def match_case(
    store: Store,
    case_ref: str,
    *,
    user: str,
    threshold: int = 31,
    min_quality: int = 50,
    index_dir: Path | None = None,
    video_query_percent: float = DEFAULT_QUERY_PERCENT,
    video_compared_percent: float = DEFAULT_COMPARED_PERCENT,
) -> MatchSummary:
    """``index_dir`` (normally ``config.home / "indexes"``) keeps the PDQ index between runs.

    A case video matches a known video when at least ``video_query_percent`` of its unique frames and
    ``video_compared_percent`` of the known video's unique frames find a match (vPDQ's defaults: 0 / 80).
    """
    with store.session() as session:
        case = get_case(session, case_ref)
        exact = match_exact(session, case.id)
        # One known-PDQ index (loaded from index_dir, or built) serves pictures, rotations and video frames.
        index = known_pdq_index(session, index_dir)[0] if _has_perceptual(session, case.id) else None
        pdq = match_pdq(session, case.id, threshold=threshold, min_quality=min_quality, index=index)
        # After match_pdq: a content's straight match to an entry makes its dihedral one redundant.
        dihedral = match_pdq_dihedral(session, case.id, threshold=threshold, min_quality=min_quality, index=index)
        videos = match_videos(
            session,
            case.id,
            threshold=threshold,
            min_quality=min_quality,
            query_percent=video_query_percent,
            compared_percent=video_compared_percent,
        )
        frames = match_frames_to_images(session, case.id, threshold=threshold, min_quality=min_quality, index=index)
        update_statuses(session, case.id)
        set_decisions = decisions_from_sets(session, case.id)
        decisions = set_decisions.added
        groups = build_groups(session, threshold=threshold, min_quality=min_quality)
        counts = session.execute(
            select(Content.status, func.count()).where(Content.case_id == case.id).group_by(Content.status)
        )
        by_status = {status: count for status, count in counts}
        sets = session.scalar(select(func.count(HashSet.id))) or 0
        summary = MatchSummary(
            case_ref,
            sets,
            exact,
            pdq,
            decisions,
            by_status,
            groups,
            dihedral_matches_added=dihedral,
            video_matches_added=videos,
            frame_matches_added=frames,
            unmapped=set_decisions.unmapped,
        )
        audit.record(
            session,
            chain=case_chain(case_ref),
            user=user,
            action="match",
            detail={
                "sets": sets,
                "pdq_threshold": threshold,
                "pdq_min_quality": min_quality,
                "vpdq_query_percent": video_query_percent,
                "vpdq_compared_percent": video_compared_percent,
                "exact_added": exact,
                "pdq_added": pdq,
                "pdq_dihedral_added": dihedral,
                "vpdq_added": videos,
                "pdq_frame_added": frames,
                "decisions_added": decisions,
                "decisions_unmapped": [item.as_dict() for item in set_decisions.unmapped],
                "by_status": by_status,
                "groups": groups.groups,
            },
        )
    store.refresh_statistics()  # statuses, decisions and stacks just changed: the review queries plan on them
    return summary


def _has_perceptual(session: Session, case_id: int) -> bool:
    """Whether the case has anything to search the known-PDQ index with (pictures or video frames)."""
    query = select(Content.id).where(Content.case_id == case_id, or_(Content.pdq.is_not(None), Content.kind == "video"))
    return session.scalar(query.limit(1)) is not None
