"""Near-duplicate stacks: one stack per visual content, so each picture is reviewed once.

Stacks are built over every eligible picture in the store, so a stack can hold contents of several
cases ("also seen in case X"). Chaining is ruled out by construction: this is star clustering, not
single linkage. Each stack is a representative plus contents within the threshold *of the
representative*, so A~B and B~C never pull an unrelated C into A's stack through B; any two
members are at most twice the threshold apart. Representatives are picked greedily, most-connected
first (ties: higher PDQ quality, larger picture, older content), so the stack centres sit in dense
regions and stacks are as few as possible.

Pictures whose PDQ is not trustworthy are left out and counted: low quality (below the matching
floor) and featureless ones (nearly uniform: PDQ quality very low), whose hashes are noise.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from haven.matching.pdq import hex_to_bytes
from haven.matching.pdq_index import PdqIndex
from haven.store.models import Case, Content, NearGroup, NearGroupMember

FEATURELESS_QUALITY = 10
"""At or below this PDQ quality a picture is nearly uniform: its hash says nothing about its content."""
QUERY_BATCH = 4096


@dataclass
class GroupingSummary:
    groups: int = 0
    grouped_contents: int = 0
    eligible: int = 0
    excluded_low_quality: int = 0
    excluded_featureless: int = 0
    largest: int = 0
    cross_case_groups: int = 0
    threshold: int = 31


@dataclass
class _Candidate:
    content_id: int
    pdq: str
    quality: int
    area: int
    neighbours: dict[int, int] = field(default_factory=dict)  # position -> distance


def build_groups(session: Session, *, threshold: int = 31, min_quality: int = 50) -> GroupingSummary:
    """Rebuild every stack in the store. Decisions are untouched: they belong to contents."""
    summary = GroupingSummary(threshold=threshold)
    rows = session.execute(
        select(Content.id, Content.pdq, Content.pdq_quality, Content.width, Content.height)
        .where(Content.pdq.is_not(None))
        .order_by(Content.id)
    ).all()
    candidates = []
    for content_id, pdq, quality, width, height in rows:
        quality = quality or 0
        if quality <= FEATURELESS_QUALITY:
            summary.excluded_featureless += 1
        elif quality < min_quality:
            summary.excluded_low_quality += 1
        else:
            candidates.append(_Candidate(content_id, pdq, quality, (width or 0) * (height or 0)))
    summary.eligible = len(candidates)
    session.execute(delete(NearGroupMember))
    session.execute(delete(NearGroup))
    if len(candidates) < 2:
        return summary
    _find_neighbours(candidates, threshold)
    case_of = dict(session.execute(select(Content.id, Content.case_id).where(Content.pdq.is_not(None))).all())

    order = sorted(
        range(len(candidates)),
        key=lambda i: (-len(candidates[i].neighbours), -candidates[i].quality, -candidates[i].area, i),
    )
    assigned: set[int] = set()
    for centre in order:
        if centre in assigned or not candidates[centre].neighbours:
            continue
        members = {pos: d for pos, d in candidates[centre].neighbours.items() if pos not in assigned}
        if not members:
            continue
        assigned.add(centre)
        assigned.update(members)
        group = NearGroup(
            representative_id=candidates[centre].content_id, max_distance=max(members.values()), threshold=threshold
        )
        session.add(group)
        session.flush()
        rows_to_add = [{"group_id": group.id, "content_id": candidates[centre].content_id, "distance": 0}]
        rows_to_add += [
            {"group_id": group.id, "content_id": candidates[pos].content_id, "distance": d}
            for pos, d in members.items()
        ]
        session.execute(NearGroupMember.__table__.insert(), rows_to_add)
        summary.groups += 1
        summary.grouped_contents += len(rows_to_add)
        summary.largest = max(summary.largest, len(rows_to_add))
        if len({case_of[r["content_id"]] for r in rows_to_add}) > 1:
            summary.cross_case_groups += 1
    return summary


def _find_neighbours(candidates: list[_Candidate], threshold: int) -> None:
    """All pairs within the threshold, exactly (PdqIndex: inclusive, equal to brute force, MIH when large)."""
    vectors = hex_to_bytes([c.pdq for c in candidates])
    index = PdqIndex.build(vectors, np.arange(len(candidates), dtype=np.int64))
    for start in range(0, len(candidates), QUERY_BATCH):
        queries, others, distances = index.range_query(vectors[start : start + QUERY_BATCH], threshold)
        for query, other, distance in zip(queries.tolist(), others.tolist(), distances.tolist(), strict=True):
            me = start + query
            if other != me:
                candidates[me].neighbours[other] = distance


@dataclass
class GroupView:
    id: int
    representative: str
    max_distance: int
    members: list[dict[str, object]]
    """sha256, case, distance to the representative, status."""


def groups_for_case(session: Session, case_id: int) -> list[GroupView]:
    """Stacks holding at least one content of the case, members of other cases included."""
    group_ids = select(NearGroupMember.group_id).join(Content, Content.id == NearGroupMember.content_id)
    group_ids = group_ids.where(Content.case_id == case_id).distinct()
    rows = session.execute(
        select(
            NearGroup.id,
            NearGroup.max_distance,
            NearGroup.representative_id,
            NearGroupMember.content_id,
            NearGroupMember.distance,
            Content.sha256,
            Content.status,
            Case.reference,
        )
        .join(NearGroupMember, NearGroupMember.group_id == NearGroup.id)
        .join(Content, Content.id == NearGroupMember.content_id)
        .join(Case, Case.id == Content.case_id)
        .where(NearGroup.id.in_(group_ids))
        .order_by(NearGroup.id, NearGroupMember.distance, Content.id)
    ).all()
    views: dict[int, GroupView] = {}
    representative_sha: dict[int, str] = {}
    members: dict[int, list[dict[str, object]]] = defaultdict(list)
    for gid, max_distance, rep_id, content_id, distance, sha, status, reference in rows:
        if content_id == rep_id:
            representative_sha[gid] = sha
        members[gid].append({"sha256": sha, "case": reference, "distance": distance, "status": status})
        views.setdefault(gid, GroupView(gid, "", max_distance, members[gid]))
    for gid, view in views.items():
        view.representative = representative_sha.get(gid, "")
    return sorted(views.values(), key=lambda v: (-len(v.members), v.id))
