"""A case's identities one page at a time, for the web app's identities view.

``listing.list_identities`` reads every face of a case (the CLI prints them all). A page here costs two
queries whatever the case's size: identities ordered by face count (keyset on count and id, so page 200
is as fast as page 1), then the best few faces of just those identities (a window function).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from haven.store.models import Content, Face, FaceIdentity, Thumbnail


@dataclass(frozen=True)
class FaceTile:
    face_id: int
    sha256: str
    box: tuple[int, int, int, int]
    quality: float
    has_thumbnail: bool


@dataclass
class IdentityRow:
    id: int
    name: str | None
    analyst_named: bool
    locked: bool
    faces: int
    best: list[FaceTile] = field(default_factory=list)
    """The identity's best faces (quality first), at most ``faces_each`` of them."""


@dataclass(frozen=True)
class IdentityPage:
    rows: list[IdentityRow]
    next_cursor: str | None


@dataclass(frozen=True)
class FacePage:
    faces: list[FaceTile]
    next_cursor: str | None


class CursorError(ValueError):
    """A cursor this module did not write."""


def identity_page(
    session: Session, case_id: int, model: str, *, cursor: str | None = None, limit: int = 30, faces_each: int = 6
) -> IdentityPage:
    """Identities with at least one face, most faces first (then by id)."""
    count = func.count(Face.id)
    query = (
        select(FaceIdentity.id, FaceIdentity.name, FaceIdentity.analyst_named, FaceIdentity.locked, count)
        .join(Face, Face.identity_id == FaceIdentity.id)
        .where(FaceIdentity.case_id == case_id, FaceIdentity.model == model)
        .group_by(FaceIdentity.id, FaceIdentity.name, FaceIdentity.analyst_named, FaceIdentity.locked)
        .order_by(count.desc(), FaceIdentity.id)
        .limit(limit + 1)
    )
    if cursor:
        after_count, after_id = _two_numbers(cursor, int)
        query = query.having(or_(count < after_count, and_(count == after_count, FaceIdentity.id > after_id)))
    rows = [IdentityRow(i, name, bool(named), bool(locked), n) for i, name, named, locked, n in session.execute(query)]
    more = len(rows) > limit
    rows = rows[:limit]
    best = best_faces(session, [r.id for r in rows], faces_each)
    for row in rows:
        row.best = best.get(row.id, [])
    next_cursor = f"{rows[-1].faces}:{rows[-1].id}" if more and rows else None
    return IdentityPage(rows, next_cursor)


def count_identities(session: Session, case_id: int, model: str) -> int:
    with_faces = (
        select(Face.identity_id)
        .join(FaceIdentity, FaceIdentity.id == Face.identity_id)
        .where(FaceIdentity.case_id == case_id, FaceIdentity.model == model)
    )
    return session.scalar(select(func.count()).select_from(with_faces.distinct().subquery())) or 0


def best_faces(session: Session, identity_ids: list[int], each: int) -> dict[int, list[FaceTile]]:
    """Up to ``each`` faces per identity, best quality first, in one query."""
    if not identity_ids or each <= 0:
        return {}
    rank = func.row_number().over(partition_by=Face.identity_id, order_by=(Face.quality.desc(), Face.id))
    ranked = (
        select(
            Face.identity_id.label("identity_id"),
            Face.id.label("face_id"),
            Content.sha256.label("sha256"),
            Face.x.label("x"),
            Face.y.label("y"),
            Face.w.label("w"),
            Face.h.label("h"),
            Face.quality.label("quality"),
            Thumbnail.content_id.label("thumb"),
            rank.label("rank"),
        )
        .join(Content, Content.id == Face.content_id)
        .outerjoin(Thumbnail, Thumbnail.content_id == Face.content_id)
        .where(Face.identity_id.in_(identity_ids))
        .subquery()
    )
    out: dict[int, list[FaceTile]] = {}
    rows = session.execute(select(ranked).where(ranked.c.rank <= each).order_by(ranked.c.identity_id, ranked.c.rank))
    for identity_id, face_id, sha256, x, y, w, h, quality, thumb, _ in rows:
        out.setdefault(identity_id, []).append(FaceTile(face_id, sha256, (x, y, w, h), quality, thumb is not None))
    return out


def faces_page(session: Session, identity_id: int, *, cursor: str | None = None, limit: int = 60) -> FacePage:
    """One identity's faces, best quality first (keyset on quality and id)."""
    query = (
        select(Face.id, Content.sha256, Face.x, Face.y, Face.w, Face.h, Face.quality, Thumbnail.content_id)
        .join(Content, Content.id == Face.content_id)
        .outerjoin(Thumbnail, Thumbnail.content_id == Face.content_id)
        .where(Face.identity_id == identity_id)
        .order_by(Face.quality.desc(), Face.id)
        .limit(limit + 1)
    )
    if cursor:
        quality, after_id = _two_numbers(cursor, float)
        query = query.where(or_(Face.quality < quality, and_(Face.quality == quality, Face.id > int(after_id))))
    faces = [
        FaceTile(face_id, sha256, (x, y, w, h), quality, thumb is not None)
        for face_id, sha256, x, y, w, h, quality, thumb in session.execute(query)
    ]
    more = len(faces) > limit
    faces = faces[:limit]
    next_cursor = f"{faces[-1].quality!r}:{faces[-1].face_id}" if more and faces else None
    return FacePage(faces, next_cursor)


def identity_of_case(session: Session, case_id: int, model: str, identity_id: int) -> FaceIdentity | None:
    identity = session.get(FaceIdentity, identity_id)
    if identity is None or identity.case_id != case_id or identity.model != model:
        return None
    return identity


def _two_numbers(cursor: str, first: type) -> tuple[float, int]:
    head, _, tail = cursor.partition(":")
    try:
        return first(head), int(tail)
    except ValueError:
        raise CursorError(f"not a page cursor: {cursor[:40]!r}") from None
