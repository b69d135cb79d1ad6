"""The case dashboard: what is in the case, how far review has come, and who did what.

Every figure is one grouped SQL aggregate over indexed columns (the current category lives on the
content row), so the page costs the same whether the case holds a hundred items or a hundred thousand.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from haven import audit
from haven.cases import case_chain
from haven.report.data import iso
from haven.review.categories import PERSON_SOURCES, scheme_categories
from haven.review.grid import STATUS_ORDER, VISUAL_KINDS
from haven.store.models import AuditEvent, AuditHead, Case, Content, Decision, Occurrence, Source

PROGRESS_STATUSES = ("unknown", "near-known")
"""Review is done when every picture and video of these statuses has a person's decision."""
LIST_LIMIT = 50


@dataclass
class Progress:
    decided: int = 0
    total: int = 0

    @property
    def to_do(self) -> int:
        return self.total - self.decided

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * self.decided / self.total)


@dataclass
class CategoryCount:
    code: str
    name: str
    count: int


@dataclass
class Dashboard:
    by_status: dict[str, int]
    by_category: list[CategoryCount]
    uncategorized: int
    progress: Progress
    sources: list[dict[str, Any]] = field(default_factory=list)
    errors: int = 0
    encrypted: int = 0
    error_rows: list[dict[str, Any]] = field(default_factory=list)
    encrypted_rows: list[dict[str, Any]] = field(default_factory=list)
    decisions_by_user: list[dict[str, Any]] = field(default_factory=list)
    recent_events: list[dict[str, Any]] = field(default_factory=list)


Counts = tuple[dict[str, int], list[CategoryCount], int, Progress]
_COUNTS_CACHE: dict[int, tuple[tuple[tuple[str, int, str], ...], str, Counts]] = {}
"""case id -> (audit heads, scheme, counts): per process, a handful of cases."""


def counts(session: Session, case_id: int, scheme: str) -> Counts:
    """The counts element, recomputed only when the case changed.

    Every change to a case (ingest, match, decision, undo) appends to its audit chain in the same
    transaction, and hash-set removal (which re-derives statuses) to the global chain, so the two heads
    (seq and hash: a rolled-back change cannot reuse both) identify the state the counts were taken from.
    Recomputing is a scan of every content of the case (25-40 ms at 100,000 items), paid on every grid
    page and decision without this.
    """
    reference = session.scalar(select(Case.reference).where(Case.id == case_id))
    chains = (case_chain(reference or ""), audit.GLOBAL_CHAIN)
    head = tuple(
        (chain, seq, digest)
        for chain, seq, digest in session.execute(
            select(AuditHead.chain, AuditHead.seq, AuditHead.hash)
            .where(AuditHead.chain.in_(chains))
            .order_by(AuditHead.chain)
        )
    )
    cached = _COUNTS_CACHE.get(case_id)
    if cached is not None and head and cached[0] == head and cached[1] == scheme:
        return cached[2]
    result = _count(session, case_id, scheme)
    _COUNTS_CACHE[case_id] = (head, scheme, result)
    return result


def _count(session: Session, case_id: int, scheme: str) -> Counts:
    """What the grid's counts element shows: by status, by current category, uncategorized, progress.

    One grouped scan feeds all of it. Its GROUP BY follows ``ix_content_review_state`` (case, status, kind,
    category source, category), so SQLite aggregates straight off that covering index, in order.
    """
    by_status: dict[str, int] = defaultdict(int)
    by_code: dict[str | None, int] = defaultdict(int)
    progress = Progress()
    for status, kind, source, code, n in session.execute(
        select(Content.status, Content.kind, Content.category_source, Content.current_category, func.count())
        .where(Content.case_id == case_id)
        .group_by(Content.status, Content.kind, Content.category_source, Content.current_category)
    ):
        by_status[status] += n
        by_code[code] += n
        if status in PROGRESS_STATUSES and kind in VISUAL_KINDS:
            progress.total += n
            if source in PERSON_SOURCES:
                progress.decided += n
    statuses = {status: by_status.pop(status, 0) for status in STATUS_ORDER} | dict(sorted(by_status.items()))
    uncategorized = by_code.pop(None, 0)
    categories = scheme_categories(session, scheme)
    ordered = [CategoryCount(c.code, c.name, by_code.pop(c.code, 0)) for c in categories]
    ordered += [CategoryCount(str(code), str(code), n) for code, n in sorted(by_code.items())]  # e.g. a removed code
    return statuses, ordered, uncategorized, progress


def review_progress(session: Session, case_id: int, scheme: str) -> Progress:
    return counts(session, case_id, scheme)[3]


def gather_dashboard(session: Session, case_id: int, reference: str, scheme: str) -> Dashboard:
    by_status, by_category, uncategorized, progress = counts(session, case_id, scheme)
    errors, error_rows = _problems(session, case_id, Content.error, orphans=True)
    encrypted, encrypted_rows = _problems(session, case_id, Content.encrypted, orphans=False)
    return Dashboard(
        by_status=by_status,
        by_category=by_category,
        uncategorized=uncategorized,
        progress=progress,
        sources=_sources(session, case_id),
        errors=errors,
        encrypted=encrypted,
        error_rows=error_rows,
        encrypted_rows=[{"path": r["path"], "reason": r["error"], "sha256": r["sha256"]} for r in encrypted_rows],
        decisions_by_user=_decisions_by_user(session, case_id),
        recent_events=audit_events(session, reference, limit=20)[0],
    )


def _sources(session: Session, case_id: int) -> list[dict[str, Any]]:
    files = select(func.count()).where(Occurrence.source_id == Source.id).scalar_subquery()
    rows = session.execute(select(Source, files).where(Source.case_id == case_id).order_by(Source.id))
    return [
        {
            "id": src.id,
            "label": src.label,
            "kind": src.kind,
            "location": src.location,
            "size": src.size,
            "sha256": src.sha256,
            "status": src.status,
            "registered_at": iso(src.registered_at),
            "registered_by": src.registered_by,
            "files": n,
        }
        for src, n in rows
    ]


def _problems(
    session: Session, case_id: int, column: InstrumentedAttribute[str | None], *, orphans: bool
) -> tuple[int, list[dict[str, Any]]]:
    """How many contents have ``column`` set (errors: plus unreadable files, which have no content) and the
    first LIST_LIMIT of them with one path each. Partial indexes serve both: no scan of the case."""
    where = (Content.case_id == case_id, column.is_not(None))
    total = session.scalar(select(func.count()).select_from(Content).where(*where)) or 0
    found = session.execute(
        select(Content.id, Content.sha256, column).where(*where).order_by(Content.id).limit(LIST_LIMIT)
    ).all()
    paths: dict[int | None, str] = {}
    if found:
        for content_id, path in session.execute(
            select(Occurrence.content_id, func.min(Occurrence.path))
            .where(Occurrence.content_id.in_([row[0] for row in found]))
            .group_by(Occurrence.content_id)
        ):
            paths[content_id] = path
    rows = [{"path": paths.get(cid, ""), "error": text, "sha256": sha} for cid, sha, text in found]
    if orphans:
        unreadable = (
            Occurrence.source_id.in_(select(Source.id).where(Source.case_id == case_id)),
            Occurrence.content_id.is_(None),
            Occurrence.error.is_not(None),
        )
        total += session.scalar(select(func.count()).select_from(Occurrence).where(*unreadable)) or 0
        room = LIST_LIMIT - len(rows)
        if room > 0:
            rows += [
                {"path": path, "error": error, "sha256": None}
                for path, error in session.execute(
                    select(Occurrence.path, Occurrence.error).where(*unreadable).order_by(Occurrence.id).limit(room)
                )
            ]
    return total, rows


def _decisions_by_user(session: Session, case_id: int) -> list[dict[str, Any]]:
    """Per person: decisions made, propagated to stack members, and restored by undo; last activity."""
    rows = session.execute(
        select(Decision.decided_by, Decision.source, func.count(), func.max(Decision.decided_at))
        .join(Content, Content.id == Decision.content_id)
        .where(Content.case_id == case_id, Decision.source != "hashset")
        .group_by(Decision.decided_by, Decision.source)
    )
    people: dict[str, dict[str, Any]] = {}
    for user, source, n, last in rows:
        person = people.setdefault(user, {"user": user, "user_decisions": 0, "propagated": 0, "other": 0, "last": None})
        key = {"user": "user_decisions", "propagated": "propagated"}.get(source, "other")
        person[key] += n
        stamp = iso(last) if not isinstance(last, str) else last
        person["last"] = max(filter(None, (person["last"], stamp)), default=None)
    return sorted(people.values(), key=lambda p: (-p["user_decisions"], p["user"]))


def audit_events(
    session: Session, reference: str, *, limit: int = 50, before_seq: int | None = None
) -> tuple[list[dict[str, Any]], int | None]:
    """The case chain's records, newest first, keyset-paged by seq; and the seq to continue before."""
    stmt = select(AuditEvent).where(AuditEvent.chain == case_chain(reference))
    if before_seq is not None:
        stmt = stmt.where(AuditEvent.seq < before_seq)
    events = session.scalars(stmt.order_by(AuditEvent.seq.desc()).limit(limit + 1)).all()
    more = len(events) > limit
    events = events[:limit]
    rows = [
        {"seq": e.seq, "at": e.at, "user": e.user, "action": e.action, "detail": e.detail, "hash": e.hash}
        for e in events
    ]
    return rows, (events[-1].seq if more and events else None)
