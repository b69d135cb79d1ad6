"""One content of a case, everything known about it: hashes, where it was found, EXIF, matches,
its near-duplicate stack (members in this case only: other cases are not the viewer's to see) and
its decision history."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from haven.errors import HavenError
from haven.report.data import iso
from haven.store.models import (
    Content,
    Decision,
    HashEntry,
    HashSet,
    Match,
    NearGroup,
    NearGroupMember,
    Occurrence,
    Source,
    Thumbnail,
)


class ItemNotFoundError(HavenError):
    def __init__(self, sha256: str) -> None:
        super().__init__(f"no content {sha256} in this case")


@dataclass
class StackView:
    representative: str | None
    """sha256 of the stack's representative when it is in this case."""
    members: list[dict[str, Any]]
    """sha256, status, distance to the representative, current category: this case's members."""


@dataclass
class ItemView:
    content: dict[str, Any]
    occurrences: list[dict[str, Any]] = field(default_factory=list)
    exif: dict[str, Any] = field(default_factory=dict)
    matches: list[dict[str, Any]] = field(default_factory=list)
    stack: StackView | None = None
    decisions: list[dict[str, Any]] = field(default_factory=list)
    has_thumbnail: bool = False


def find_content(session: Session, case_id: int, sha256: str) -> Content:
    content = session.scalar(select(Content).where(Content.case_id == case_id, Content.sha256 == sha256))
    if content is None:
        raise ItemNotFoundError(sha256)
    return content


def item_view(session: Session, case_id: int, sha256: str) -> ItemView:
    c = find_content(session, case_id, sha256)
    view = ItemView(
        content={
            "id": c.id,
            "sha256": c.sha256,
            "md5": c.md5,
            "sha1": c.sha1,
            "size": c.size,
            "mime": c.mime,
            "kind": c.kind,
            "width": c.width,
            "height": c.height,
            "duration": c.duration,
            "codec": c.codec,
            "pdq": c.pdq,
            "pdq_quality": c.pdq_quality,
            "status": c.status,
            "category": c.current_category,
            "category_source": c.category_source,
            "encrypted": c.encrypted,
            "error": c.error,
        },
        exif={
            key: value
            for key, value in (
                ("make", c.exif_make),
                ("model", c.exif_model),
                ("serial", c.exif_serial),
                ("datetime", c.exif_datetime),
                ("gps_lat", c.gps_lat),
                ("gps_lon", c.gps_lon),
            )
            if value is not None
        },
    )
    view.has_thumbnail = session.get(Thumbnail, c.id) is not None
    view.occurrences = [
        {"source": label, "path": path, "container": container, "mtime": mtime, "error": error}
        for label, path, container, mtime, error in session.execute(
            select(Source.label, Occurrence.path, Occurrence.container, Occurrence.mtime, Occurrence.error)
            .join(Source, Source.id == Occurrence.source_id)
            .where(Occurrence.content_id == c.id, Source.case_id == case_id)
            .order_by(Occurrence.path, Occurrence.id)
        )
    ]
    view.matches = [
        {
            "set": name,
            "set_kind": kind,
            "method": method,
            "distance": distance,
            "entry_category": category,
            "series": series,
            "timestamp": timestamp,
        }
        for name, kind, method, distance, category, series, timestamp in session.execute(
            select(
                HashSet.name,
                HashSet.kind,
                Match.method,
                Match.distance,
                HashEntry.category,
                HashEntry.series,
                Match.timestamp,
            )
            .join(HashSet, HashSet.id == Match.set_id)
            .join(HashEntry, HashEntry.id == Match.entry_id)
            .where(Match.content_id == c.id)
            .order_by(Match.distance, HashSet.name, Match.method)
        )
    ]
    view.stack = _stack(session, case_id, c.id)
    view.decisions = [
        {
            "category": d.category,
            "source": d.source,
            "source_detail": d.source_detail,
            "decided_by": d.decided_by,
            "decided_at": iso(d.decided_at),
            "batch": d.batch_id,
        }
        for d in session.scalars(
            select(Decision).where(Decision.content_id == c.id).order_by(Decision.decided_at.desc(), Decision.id.desc())
        )
    ]
    return view


def _stack(session: Session, case_id: int, content_id: int) -> StackView | None:
    group = session.execute(
        select(NearGroup.id, NearGroup.representative_id)
        .join(NearGroupMember, NearGroupMember.group_id == NearGroup.id)
        .where(NearGroupMember.content_id == content_id)
    ).first()
    if group is None:
        return None
    group_id, representative_id = group
    members = []
    representative = None
    for member_id, sha, status, distance, category in session.execute(
        select(Content.id, Content.sha256, Content.status, NearGroupMember.distance, Content.current_category)
        .join(NearGroupMember, NearGroupMember.content_id == Content.id)
        .where(NearGroupMember.group_id == group_id, Content.case_id == case_id)
        .order_by(NearGroupMember.distance, Content.id)
    ):
        if member_id == representative_id:
            representative = sha
        members.append(
            {
                "sha256": sha,
                "status": status,
                "distance": distance,
                "category": category,
                "self": member_id == content_id,
            }
        )
    return StackView(representative, members)
