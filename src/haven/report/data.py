"""Gathering report data from the store.

A seizure can hold hundreds of thousands of contents, so nothing here loads a whole case: summary
figures are SQL aggregates, and items are read in keyset-paginated batches whose occurrences, matches,
decisions and thumbnails are fetched with one query each per batch (never one query per item).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Row, and_, func, or_, select
from sqlalchemy.orm import Session

from haven.errors import CaseNotFoundError
from haven.store.current_category import is_categorized
from haven.store.models import (
    Case,
    Category,
    Content,
    HashEntry,
    HashSet,
    Match,
    Occurrence,
    Source,
    Thumbnail,
)

STATUSES = ("known", "near-known", "known-good", "unknown", "error")
BATCH = 500  # ids per IN (...) list: well under every driver's bound-parameter limit

_UNKNOWN_IMAGE = and_(Content.status == "unknown", Content.kind == "image")
# Report order: new pictures first (what the investigator must look at), then near-known (needs a human
# to confirm), then the rest from most to least relevant. Each segment is scanned separately in id order.
SEGMENTS: tuple[tuple[str, ColumnElement[bool]], ...] = (
    ("unknown-images", _UNKNOWN_IMAGE),
    ("near-known", Content.status == "near-known"),
    ("known", Content.status == "known"),
    ("unknown-other", and_(Content.status == "unknown", Content.kind != "image")),
    ("error", Content.status == "error"),
    ("known-good", Content.status == "known-good"),
    ("other", Content.status.not_in(STATUSES)),
)


class CaseNotFound(CaseNotFoundError):  # noqa: N818 - public name fixed by the CLI contract
    """No case has the requested reference (a HavenError, so the CLI prints one line, not a traceback)."""


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC. SQLite hands back naive datetimes; the store only ever writes UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


@dataclass
class Summary:
    """Everything in report.json except the long lists."""

    case_id: int
    case: dict[str, Any]
    sources: list[dict[str, Any]]
    totals: dict[str, int]
    known: dict[str, Any]
    unknown_images: int
    by_status: dict[str, int]
    unknown_by_kind: dict[str, int]
    categories: list[dict[str, Any]]


def find_case(session: Session, reference: str) -> Case:
    case = session.scalar(select(Case).where(Case.reference == reference))
    if case is None:
        raise CaseNotFound(reference)
    return case


def gather_summary(session: Session, reference: str) -> Summary:
    case = find_case(session, reference)
    grid = _status_kind(session, case.id)
    by_status: dict[str, int] = defaultdict(int)
    by_kind: dict[str, int] = defaultdict(int)
    for (status, kind), n in grid.items():
        by_status[status] += n
        by_kind[kind] += n
    return Summary(
        case_id=case.id,
        case={
            "reference": case.reference,
            "title": case.title,
            "scheme": case.scheme,
            "created_at": iso(case.created_at),
            "created_by": case.created_by,
        },
        sources=_sources(session, case.id),
        totals=_totals(session, case.id, by_kind),
        known={
            "exact": by_status["known"],
            "perceptual": by_status["near-known"],
            "known_good": by_status["known-good"],
            "by_category": _by_category(session, case.id),
        },
        unknown_images=grid.get(("unknown", "image"), 0),
        by_status={status: by_status[status] for status in (*STATUSES, *sorted(set(by_status) - set(STATUSES)))},
        unknown_by_kind={kind: n for (status, kind), n in sorted(grid.items()) if status == "unknown"},
        categories=[
            {"code": c.code, "name": c.name, "meaning": c.meaning}
            for c in session.scalars(select(Category).where(Category.scheme == case.scheme).order_by(Category.code))
        ],
    )


def _status_kind(session: Session, case_id: int) -> dict[tuple[str, str], int]:
    """Unique contents counted by (status, kind): one grouped scan feeds every per-status and per-kind figure."""
    rows = session.execute(
        select(Content.status, Content.kind, func.count())
        .where(Content.case_id == case_id)
        .group_by(Content.status, Content.kind)
    )
    return {(status, kind): n for status, kind, n in rows}


def _sources(session: Session, case_id: int) -> list[dict[str, Any]]:
    # Correlated count per source: served by the (source_id, path_digest) unique index, a handful of sources.
    files = select(func.count()).where(Occurrence.source_id == Source.id).scalar_subquery()
    rows = session.execute(select(Source, files).where(Source.case_id == case_id).order_by(Source.id))
    return [
        {
            "label": src.label,
            "kind": src.kind,
            "location": src.location,
            "size": src.size,
            "sha256": src.sha256,
            "registered_at": iso(src.registered_at),
            "registered_by": src.registered_by,
            "status": src.status,
            "files": n,
            "files_seen": src.files_seen,
        }
        for src, n in rows
    ]


def _path_order(session: Session) -> ColumnElement[str]:
    """Paths in byte (code point) order on every backend, so SQLite and PostgreSQL reports list them alike."""
    binary = "C" if session.get_bind().dialect.name == "postgresql" else "BINARY"
    return Occurrence.path.collate(binary)


def _case_occurrences(case_id: int) -> ColumnElement[bool]:
    return Occurrence.source_id.in_(select(Source.id).where(Source.case_id == case_id))


def _totals(session: Session, case_id: int, by_kind: dict[str, int]) -> dict[str, int]:
    files, orphan_errors = session.execute(
        select(func.count(), func.count(Occurrence.error).filter(Occurrence.content_id.is_(None))).where(
            _case_occurrences(case_id)
        )
    ).one()
    unique, content_errors, encrypted = session.execute(
        select(func.count(), func.count(Content.error), func.count(Content.encrypted)).where(Content.case_id == case_id)
    ).one()
    main = ("image", "video", "archive")
    return {
        "files": files,
        "unique": unique,
        "images": by_kind.get("image", 0),
        "videos": by_kind.get("video", 0),
        "archives": by_kind.get("archive", 0),
        "other": sum(n for k, n in by_kind.items() if k not in main),
        "documents": by_kind.get("document", 0),
        "errors": content_errors + orphan_errors,
        "encrypted": encrypted,
    }


def _by_category(session: Session, case_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Content.current_category, func.count())
        .where(Content.case_id == case_id, is_categorized())
        .group_by(Content.current_category)
        .order_by(Content.current_category)
    )
    return {category: n for category, n in rows}


def iter_problems(session: Session, case_id: int, kind: Literal["errors", "encrypted"]) -> Iterator[dict[str, Any]]:
    """Rows of the ``errors`` (kind="errors") or ``encrypted`` list, one per occurrence path, by path."""
    if kind == "errors":
        where = or_(Occurrence.error.is_not(None), Content.error.is_not(None))
    else:
        where = Content.encrypted.is_not(None)
    stmt = (
        select(Occurrence.path, Occurrence.error, Content.error, Content.encrypted, Content.sha256)
        .outerjoin(Content, Content.id == Occurrence.content_id)
        .where(_case_occurrences(case_id), where)
        .order_by(_path_order(session), Occurrence.id)
        .execution_options(yield_per=1000)
    )
    for path, occ_error, content_error, encrypted, sha256 in session.execute(stmt):
        if kind == "errors":
            reasons = [r for r in (occ_error, content_error) if r]
            yield {"path": path, "error": "; ".join(dict.fromkeys(reasons)), "sha256": sha256}
        else:
            yield {"path": path, "reason": encrypted, "sha256": sha256}


def iter_items(
    session: Session,
    case_id: int,
    *,
    segments: Sequence[str] | None = None,
    limit: int | None = None,
    thumbnails: bool = False,
    batch: int = BATCH,
) -> Iterator[dict[str, Any]]:
    """Items in report order. ``thumbnails`` adds ``thumbnail`` (stored JPEG bytes or None), for the HTML only.

    Each segment is one ordered scan read ``batch`` rows at a time (a server-side cursor on PostgreSQL);
    plain rows rather than ORM objects, so nothing accumulates in the session on huge cases.
    """
    remaining = limit
    for name, where in SEGMENTS:
        if segments is not None and name not in segments:
            continue
        if remaining is not None and remaining <= 0:
            return
        stmt = select(*Content.__table__.c).where(Content.case_id == case_id, where).order_by(Content.id)
        if remaining is not None:
            stmt = stmt.limit(remaining)
        result = session.execute(stmt.execution_options(yield_per=batch))
        try:
            for rows in result.partitions():
                yield from _build_batch(session, rows, thumbnails)
                if remaining is not None:
                    remaining -= len(rows)
        finally:
            result.close()  # the caller may stop early (HTML caps): release the cursor now


def _build_batch(session: Session, rows: Sequence[Row[Any]], thumbnails: bool) -> Iterator[dict[str, Any]]:
    ids = [c.id for c in rows]
    paths: dict[int | None, list[str]] = defaultdict(list)
    for content_id, path in session.execute(
        select(Occurrence.content_id, Occurrence.path)
        .where(Occurrence.content_id.in_(ids))
        .order_by(_path_order(session))
    ):
        paths[content_id].append(path)

    matches: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for m in session.execute(
        select(
            Match.content_id,
            HashSet.name,
            Match.method,
            Match.distance,
            HashEntry.category,
            Match.timestamp,
            Match.query_percent,
            Match.compared_percent,
        )
        .join(HashSet, HashSet.id == Match.set_id)
        .join(HashEntry, HashEntry.id == Match.entry_id)
        .where(Match.content_id.in_(ids))
        .order_by(Match.distance, HashSet.name, Match.method)
    ):
        found: dict[str, Any] = {
            "set": m.name,
            "method": m.method,
            "distance": m.distance,
            "entry_category": m.category,
        }
        if m.method == "vpdq":  # a video against a known video: how much of each was found in the other
            found.update(query_percent=m.query_percent, compared_percent=m.compared_percent)
        elif m.method == "pdq-frame":  # one frame: where in the video (case or known) it is
            found["timestamp"] = m.timestamp
        matches[m.content_id].append(found)

    thumbs: dict[int, bytes] = {}
    if thumbnails:
        thumbs = {
            content_id: jpeg
            for content_id, jpeg in session.execute(
                select(Thumbnail.content_id, Thumbnail.jpeg).where(Thumbnail.content_id.in_(ids))
            )
        }

    for c in rows:
        category = c.current_category if c.category_source != "undo" else None  # undone back to nothing
        item = _item(c, paths.get(c.id, []), matches.get(c.id, []), category)
        if thumbnails:
            item["thumbnail"] = thumbs.get(c.id)
        yield item


def _item(c: Row[Any], paths: list[str], matches: list[dict[str, Any]], category: str | None) -> dict[str, Any]:
    exif = {
        "make": c.exif_make,
        "model": c.exif_model,
        "serial": c.exif_serial,
        "datetime_original": c.exif_datetime,
        "gps_lat": c.gps_lat,
        "gps_lon": c.gps_lon,
    }
    return {
        "sha256": c.sha256,
        "md5": c.md5,
        "sha1": c.sha1,
        "kind": c.kind,
        "width": c.width,
        "height": c.height,
        "pdq": c.pdq,
        "pdq_quality": c.pdq_quality,
        "paths": paths,
        "status": c.status,
        "category": category,
        "matches": matches,
        "size": c.size,
        "mime": c.mime,
        "duration": c.duration,
        "codec": c.codec,
        "exif": {k: v for k, v in exif.items() if v is not None},
        "encrypted": c.encrypted,
        "error": c.error,
    }
