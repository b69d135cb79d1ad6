"""The review grid: which contents of a case to show, in which order, one page at a time.

Order: unknown material first, then near-known, then contents whose analysis failed (a truncated picture
is still evidence), then, only when asked, known and known-good. Within a status, ingest order (id).

Pages are keyset pages: the cursor is (status rank, last id), and each status is one indexed range scan
(``ix_content_review``: case, status, id) that stops once the page is full, so page 1,000 costs what
page 1 costs. Nothing counts the whole filtered set.

One tile per visual content: members of a near-duplicate stack are hidden behind the first of them the
grid would show (the stack's representative when it is in the case and shown, else the earliest), and
that tile carries the number of the stack's members in this case. A decision on it applies to them all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from haven.errors import HavenError
from haven.review.categories import PERSON_SOURCES
from haven.store.models import Content, NearGroup, NearGroupMember, Occurrence, Thumbnail

STATUS_ORDER = ("unknown", "near-known", "error", "known", "known-good")
REVIEW_STATUSES = ("unknown", "near-known", "error")
KNOWN_STATUSES = ("known", "known-good")
VISUAL_KINDS = ("image", "video")
KINDS = ("image", "video", "archive", "document", "other")
DEFAULT_PAGE = 60
MAX_PAGE = 200
MIN_BATCH = 32
_CURSOR = re.compile(r"^([0-9])\.([0-9]{1,18})$")


class GridQueryError(HavenError):
    """A filter or cursor the grid cannot use (the web app answers 400)."""


@dataclass(frozen=True)
class GridFilters:
    statuses: tuple[str, ...] = ()
    """Empty: the review statuses, plus known and known-good when ``show_known``."""
    show_known: bool = False
    kinds: tuple[str, ...] = VISUAL_KINDS
    """Empty: every kind."""
    category: str | None = None
    decided: bool | None = None
    """True: a person decided it (directly or through its stack); False: not yet."""
    source_id: int | None = None
    min_size: int | None = None
    max_size: int | None = None
    camera_make: str | None = None
    camera_model: str | None = None
    has_gps: bool | None = None
    path_text: str | None = None
    stacks: bool = True
    """One tile per near-duplicate stack; False shows every member."""

    def shown_statuses(self) -> tuple[str, ...]:
        wanted = self.statuses or (REVIEW_STATUSES + (KNOWN_STATUSES if self.show_known else ()))
        unknown = set(wanted) - set(STATUS_ORDER)
        if unknown:
            raise GridQueryError(f"unknown status {sorted(unknown)[0]!r} (choose from: {', '.join(STATUS_ORDER)})")
        return tuple(s for s in STATUS_ORDER if s in wanted)


@dataclass
class Tile:
    content_id: int
    sha256: str
    kind: str
    mime: str | None
    status: str
    size: int
    width: int | None
    height: int | None
    duration: float | None
    category: str | None
    category_source: str | None
    has_thumbnail: bool = False
    stack_size: int = 1
    """Members of its near-duplicate stack in this case (1: not stacked)."""

    @property
    def decided(self) -> bool:
        return self.category_source in PERSON_SOURCES


@dataclass
class GridPage:
    tiles: list[Tile] = field(default_factory=list)
    next_cursor: str | None = None


def parse_cursor(cursor: str | None) -> tuple[int, int]:
    """'rank.id' -> (rank, id); no cursor starts at the beginning."""
    if not cursor:
        return 0, 0
    found = _CURSOR.match(cursor)
    if found is None or int(found.group(1)) >= len(STATUS_ORDER):
        raise GridQueryError("invalid page cursor")
    return int(found.group(1)), int(found.group(2))


def grid_page(
    session: Session, case_id: int, filters: GridFilters, *, cursor: str | None = None, limit: int = DEFAULT_PAGE
) -> GridPage:
    limit = max(1, min(limit, MAX_PAGE))
    start_rank, after_id = parse_cursor(cursor)
    statuses = filters.shown_statuses()
    conditions = _conditions(filters)
    columns = (
        Content.id,
        Content.sha256,
        Content.kind,
        Content.mime,
        Content.status,
        Content.size,
        Content.width,
        Content.height,
        Content.duration,
        Content.current_category,
        Content.category_source,
    )
    rows: list[tuple[int, Any]] = []
    for status in statuses:
        rank = STATUS_ORDER.index(status)
        if rank < start_rank:
            continue
        after = after_id if rank == start_rank else 0
        while len(rows) <= limit:
            # Read ahead a little: stack members the grid hides are dropped after reading.
            batch_size = max(2 * (limit + 1 - len(rows)), MIN_BATCH)
            stmt = select(*columns).where(Content.case_id == case_id, Content.status == status, *conditions)
            batch = session.execute(stmt.where(Content.id > after).order_by(Content.id).limit(batch_size)).all()
            if not batch:
                break
            after = batch[-1].id
            hidden = _hidden_behind_stacks(session, case_id, statuses, batch) if filters.stacks else set()
            rows.extend((rank, row) for row in batch if row.id not in hidden)
            if len(batch) < batch_size:
                break
    page = GridPage()
    if len(rows) > limit:
        rows = rows[:limit]
        last_rank, last = rows[-1]
        page.next_cursor = f"{last_rank}.{last.id}"
    page.tiles = [Tile(*row) for _, row in rows]
    _add_thumbnails_and_stacks(session, case_id, page.tiles)
    return page


def _conditions(filters: GridFilters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.kinds:
        bad = set(filters.kinds) - set(KINDS)
        if bad:
            raise GridQueryError(f"unknown kind {sorted(bad)[0]!r} (choose from: {', '.join(KINDS)})")
        where.append(Content.kind.in_(filters.kinds))
    if filters.category:
        where.append(Content.current_category == filters.category)
    if filters.decided is True:
        where.append(Content.category_source.in_(PERSON_SOURCES))
    elif filters.decided is False:
        where.append(or_(Content.category_source.is_(None), Content.category_source.not_in(PERSON_SOURCES)))
    if filters.min_size is not None:
        where.append(Content.size >= filters.min_size)
    if filters.max_size is not None:
        where.append(Content.size <= filters.max_size)
    if filters.camera_make:
        where.append(Content.exif_make == filters.camera_make)
    if filters.camera_model:
        where.append(Content.exif_model == filters.camera_model)
    if filters.has_gps is True:
        where.append(Content.gps_lat.is_not(None))
    elif filters.has_gps is False:
        where.append(Content.gps_lat.is_(None))
    if filters.source_id is not None:
        where.append(exists().where(Occurrence.content_id == Content.id, Occurrence.source_id == filters.source_id))
    if filters.path_text:
        where.append(
            exists().where(
                Occurrence.content_id == Content.id, Occurrence.path.icontains(filters.path_text, autoescape=True)
            )
        )
    return where


def _hidden_behind_stacks(session: Session, case_id: int, statuses: tuple[str, ...], batch: Sequence[Any]) -> set[int]:
    """The contents of ``batch`` that another member of their stack (same case) comes before in the grid.

    "Before" is the grid's own order among the shown statuses, with the stack's representative first within
    a status: (status rank, not the representative, id). So exactly one member of each stack is shown, and
    unknown material is never hidden behind a known picture the grid does not show. Worked out here, for one
    batch in one query, rather than as a correlated subquery: PostgreSQL would evaluate that for every row
    matching a filter before sorting, or plan it as an anti-join over every stack in the store.
    """
    status_of = {row.id: row.status for row in batch}
    mine, other = aliased(NearGroupMember), aliased(NearGroupMember)
    other_content = aliased(Content)
    pairs = session.execute(
        select(mine.content_id, other.content_id, other_content.status, NearGroup.representative_id)
        .join(NearGroup, NearGroup.id == mine.group_id)
        .join(other, other.group_id == mine.group_id)
        .join(other_content, other_content.id == other.content_id)
        .where(
            mine.content_id.in_(list(status_of)),
            other.content_id != mine.content_id,
            other_content.case_id == case_id,
            other_content.status.in_(statuses),
        )
    )

    def order(content_id: int, status: str, representative: int) -> tuple[int, bool, int]:
        return STATUS_ORDER.index(status), content_id != representative, content_id

    return {
        me
        for me, them, their_status, representative in pairs
        if order(them, their_status, representative) < order(me, status_of[me], representative)
    }


def _add_thumbnails_and_stacks(session: Session, case_id: int, tiles: list[Tile]) -> None:
    """One query each for the page: which tiles have a thumbnail, and how many stack members they stand for."""
    if not tiles:
        return
    ids = [t.content_id for t in tiles]
    with_thumb = set(session.scalars(select(Thumbnail.content_id).where(Thumbnail.content_id.in_(ids))))
    sizes = stack_sizes(session, case_id, ids)
    for tile in tiles:
        tile.has_thumbnail = tile.content_id in with_thumb
        tile.stack_size = sizes.get(tile.content_id, 1)


def stack_sizes(session: Session, case_id: int, content_ids: list[int]) -> dict[int, int]:
    """Members in this case of each content's stack (contents not in a stack are left out)."""
    mine, other = aliased(NearGroupMember), aliased(NearGroupMember)
    rows = session.execute(
        select(mine.content_id, func.count(other.id))
        .join(other, other.group_id == mine.group_id)
        .join(Content, Content.id == other.content_id)
        .where(mine.content_id.in_(content_ids), Content.case_id == case_id)
        .group_by(mine.content_id)
    )
    return {content_id: n for content_id, n in rows}


def camera_options(session: Session, case_id: int) -> list[tuple[str | None, str | None, int]]:
    """(make, model, contents) of the cameras named in the case's EXIF, for the filter form."""
    rows = session.execute(
        select(Content.exif_make, Content.exif_model, func.count())
        .where(Content.case_id == case_id, Content.exif_make.is_not(None))
        .group_by(Content.exif_make, Content.exif_model)
        .order_by(Content.exif_make, Content.exif_model)
    )
    return [(make, model, n) for make, model, n in rows]
