"""The case pages: dashboard, review grid (with htmx pages), item view, thumbnails, reveal, decisions and
undo, the audit page, and the JSON twins of the grid and the counts.

Every route takes the case from the path (`{ref}`) through `case_access`, so a non-member gets 404 and
a member with too low a role 403 before anything is read. Contents are named by SHA-256 only (64
lowercase hex, checked before use), never by a path. Every unblurred view (reveal) and every decision
is an audit record on the case chain. Media go out with `Cache-Control: no-store`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import audit
from haven.cases import case_chain
from haven.errors import HavenError
from haven.report.charts import bar_chart
from haven.review.categories import scheme_categories
from haven.review.dashboard import audit_events, counts, gather_dashboard
from haven.review.decide import NothingToUndoError, content_ids_for, decide, undo
from haven.review.filters import filters_from_query, query_from_filters
from haven.review.grid import (
    KINDS,
    STATUS_ORDER,
    GridFilters,
    GridPage,
    GridQueryError,
    camera_options,
    grid_page,
)
from haven.review.item import ItemNotFoundError, item_view
from haven.review.rendition import image_rendition
from haven.review.retrieve import SHA256, MediaBody, RevealError, open_media, read_range
from haven.store.models import Case, Content, Source, Thumbnail
from haven.web.deps import CaseAccess, case_access, db_session, get_config
from haven.web.templating import render

router = APIRouter()

Reviewer = Annotated[CaseAccess, Depends(case_access("reviewer"))]
Investigator = Annotated[CaseAccess, Depends(case_access("investigator"))]
DbSession = Annotated[Session, Depends(db_session)]

PAGE_SIZE = 60
AUDIT_PAGE = 50
STREAM_CHUNK = 1024 * 1024
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
STATUS_COLOURS = {
    "unknown": "#7fa7c9",
    "near-known": "#d6b46a",
    "error": "#d98a84",
    "known": "#8a6d9e",
    "known-good": "#7fb58a",
}


# ---------------------------------------------------------------- dashboard


@router.get("/cases/{ref}")
def case_dashboard(request: Request, access: Reviewer, session: DbSession) -> Response:
    board = gather_dashboard(session, access.case_id, access.reference, access.scheme)
    case = session.get_one(Case, access.case_id)
    charts = {
        "status": bar_chart("chart-status", "Contents by status", list(board.by_status.items()), STATUS_COLOURS),
        "category": bar_chart(
            "chart-category",
            "Contents by current category",
            [(f"{c.code} {c.name}", c.count) for c in board.by_category] + [("not categorized", board.uncategorized)],
        ),
    }
    return render(
        request,
        "review/dashboard.html",
        {"access": access, "case": case, "board": board, "charts": charts, "section": "dashboard"},
    )


@router.get("/cases/{ref}/stats.json")
def case_stats(access: Reviewer, session: DbSession) -> Response:
    by_status, by_category, uncategorized, progress = counts(session, access.case_id, access.scheme)
    return JSONResponse(
        {
            "case": access.reference,
            "by_status": by_status,
            "by_category": [{"code": c.code, "name": c.name, "count": c.count} for c in by_category],
            "uncategorized": uncategorized,
            "progress": {"decided": progress.decided, "total": progress.total, "to_do": progress.to_do},
        },
        headers=NO_STORE,
    )


# ---------------------------------------------------------------- the review grid


def _grid_filters(request: Request, access: CaseAccess) -> GridFilters:
    params = {key: request.query_params.getlist(key) for key in request.query_params}
    try:
        return filters_from_query(params, show_known_default=access.user.prefs.show_known)
    except GridQueryError as exc:
        raise HTTPException(400, str(exc)) from exc


def _page(request: Request, access: CaseAccess, session: Session, filters: GridFilters) -> GridPage:
    limit = request.query_params.get("limit", str(PAGE_SIZE))
    if not limit.isdigit():
        raise HTTPException(400, "'limit' must be a whole number")
    try:
        return grid_page(session, access.case_id, filters, cursor=request.query_params.get("cursor"), limit=int(limit))
    except GridQueryError as exc:
        raise HTTPException(400, str(exc)) from exc


def _grid_context(access: CaseAccess, session: Session, filters: GridFilters, page: GridPage) -> dict[str, Any]:
    query = query_from_filters(filters, show_known_default=access.user.prefs.show_known)
    base = f"/cases/{quote(access.reference, safe='')}"
    return {
        "access": access,
        "base": base,
        "page": page,
        "filters": filters,
        "query": query,
        "next_url": f"{base}/review/page?{query}&cursor={page.next_cursor}" if page.next_cursor else None,
        "category_names": {c.code: c.name for c in scheme_categories(session, access.scheme)},
    }


@router.get("/cases/{ref}/review")
def review_grid(request: Request, access: Reviewer, session: DbSession) -> Response:
    filters = _grid_filters(request, access)
    page = _page(request, access, session, filters)
    by_status, by_category, uncategorized, progress = counts(session, access.case_id, access.scheme)
    context = _grid_context(access, session, filters, page) | {
        "section": "review",
        "categories": scheme_categories(session, access.scheme),
        "counts": {"by_status": by_status, "by_category": by_category, "uncategorized": uncategorized},
        "progress": progress,
        "sources": session.execute(
            select(Source.id, Source.label).where(Source.case_id == access.case_id).order_by(Source.label)
        ).all(),
        "cameras": camera_options(session, access.case_id),
        "statuses": STATUS_ORDER,
        "kinds": KINDS,
    }
    return render(request, "review/grid.html", context)


@router.get("/cases/{ref}/review/page")
def review_grid_page(request: Request, access: Reviewer, session: DbSession) -> Response:
    filters = _grid_filters(request, access)
    page = _page(request, access, session, filters)
    return render(request, "review/_tiles.html", _grid_context(access, session, filters, page))


@router.get("/cases/{ref}/items.json")
def review_items(request: Request, access: Reviewer, session: DbSession) -> Response:
    filters = _grid_filters(request, access)
    page = _page(request, access, session, filters)
    return JSONResponse(
        {
            "items": [
                {
                    "sha256": t.sha256,
                    "kind": t.kind,
                    "mime": t.mime,
                    "status": t.status,
                    "size": t.size,
                    "width": t.width,
                    "height": t.height,
                    "duration": t.duration,
                    "category": t.category,
                    "category_source": t.category_source,
                    "decided": t.decided,
                    "stack_size": t.stack_size,
                    "has_thumbnail": t.has_thumbnail,
                }
                for t in page.tiles
            ],
            "next_cursor": page.next_cursor,
        },
        headers=NO_STORE,
    )


# ---------------------------------------------------------------- one item


def _sha256(value: str) -> str:
    if not SHA256.match(value):
        raise HTTPException(404, "not found")  # never a path: nothing else may reach the store
    return value


@router.get("/cases/{ref}/items/{sha256}")
def item_page(request: Request, sha256: str, access: Reviewer, session: DbSession) -> Response:
    try:
        view = item_view(session, access.case_id, _sha256(sha256))
    except ItemNotFoundError as exc:
        raise HTTPException(404, "not found") from exc
    base = f"/cases/{quote(access.reference, safe='')}"
    return render(
        request,
        "review/item.html",
        {
            "access": access,
            "base": base,
            "item": view,
            "categories": scheme_categories(session, access.scheme),
            "section": "review",
        },
    )


@router.get("/cases/{ref}/items/{sha256}/thumbnail")
def item_thumbnail(sha256: str, access: Reviewer, session: DbSession) -> Response:
    jpeg = session.scalar(
        select(Thumbnail.jpeg)
        .join(Content, Content.id == Thumbnail.content_id)
        .where(Content.case_id == access.case_id, Content.sha256 == _sha256(sha256))
    )
    if jpeg is None:
        raise HTTPException(404, "not found")
    return Response(jpeg, media_type="image/jpeg", headers=NO_STORE)


@router.get("/cases/{ref}/items/{sha256}/reveal")
def item_reveal(request: Request, sha256: str, access: Reviewer, session: DbSession) -> Response:
    """The unblurred item, read again from the evidence and verified; each view is an audit record."""
    settings = get_config(request).analysis_settings()
    try:
        media = open_media(session, access.case_id, _sha256(sha256), settings)
        if media.mime.startswith("video/"):
            return _video_response(request, session, access, sha256, media)
        assert media.data is not None  # pictures always come back in memory
        rendition = image_rendition(media.data, greyscale=access.user.prefs.greyscale, settings=settings)
    except RevealError as exc:
        raise HTTPException(404 if "no such content" in str(exc) else 422, str(exc)) from exc
    _audit_reveal(session, access, sha256, "image", media.size)
    return Response(rendition, media_type="image/jpeg", headers=NO_STORE)


def _audit_reveal(session: Session, access: CaseAccess, sha256: str, kind: str, size: int) -> None:
    audit.record(
        session,
        chain=case_chain(access.reference),
        user=access.user.name,
        action="review.reveal",
        detail={"sha256": sha256, "kind": kind, "bytes": size, "greyscale": access.user.prefs.greyscale},
    )


def _video_response(request: Request, session: Session, access: CaseAccess, sha256: str, media: MediaBody) -> Response:
    """The video itself (browsers cannot play a rendition we do not make), with byte ranges for seeking.
    A player asks for many ranges: only the first (from byte 0) counts as a view."""
    wanted = _byte_range(request.headers.get("range"), media.size)
    start, end = wanted if wanted is not None else (0, media.size - 1)
    if start == 0:
        _audit_reveal(session, access, sha256, "video", media.size)
    headers = NO_STORE | {"Accept-Ranges": "bytes", "Content-Length": str(end - start + 1)}
    status = 200
    if wanted is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{media.size}"
    if media.data is not None:
        return Response(media.data[start : end + 1], status_code=status, media_type=media.mime, headers=headers)
    assert media.path is not None
    return StreamingResponse(
        _stream(media.path, start, end), status_code=status, media_type=media.mime, headers=headers
    )


def _stream(path: str, start: int, end: int) -> Iterator[bytes]:
    position = start
    while position <= end:
        block = read_range(path, position, min(STREAM_CHUNK, end - position + 1))
        if not block:
            return
        position += len(block)
        yield block


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The first range of a `Range: bytes=...` header; None when absent or unreadable (send it all)."""
    if not header or not header.startswith("bytes=") or size == 0:
        return None
    first, _, last = header[len("bytes=") :].split(",")[0].strip().partition("-")
    if not (first.isdigit() or last.isdigit()):
        return None
    if not first:  # the last N bytes
        start, end = max(size - int(last), 0), size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last.isdigit() else size - 1
    if start >= size or start > end:
        raise HTTPException(416, "range not satisfiable", headers={"Content-Range": f"bytes */{size}"})
    return start, end


# ---------------------------------------------------------------- decisions


def _after_change(
    request: Request, access: CaseAccess, session: Session, event: str, detail: dict[str, Any], next_url: str | None
) -> Response:
    """htmx: the counts element, with an event for the page; JSON clients: the result; forms: back."""
    if "application/json" in request.headers.get("accept", ""):
        by_status, by_category, uncategorized, progress = counts(session, access.case_id, access.scheme)
        body = detail | {"by_status": by_status, "progress": {"decided": progress.decided, "total": progress.total}}
        return JSONResponse(body, headers=NO_STORE)
    if request.headers.get("hx-request"):
        by_status, by_category, uncategorized, progress = counts(session, access.case_id, access.scheme)
        response = render(
            request,
            "review/_counts.html",
            {
                "access": access,
                "counts": {"by_status": by_status, "by_category": by_category, "uncategorized": uncategorized},
                "progress": progress,
            },
        )
        response.headers["HX-Trigger"] = json.dumps({event: detail})
        return response
    base = f"/cases/{quote(access.reference, safe='')}"
    target = next_url if next_url and next_url.startswith(base + "/") and "//" not in next_url else base + "/review"
    return RedirectResponse(target, status_code=303)


@router.post("/cases/{ref}/decisions")
def post_decision(
    request: Request,
    access: Reviewer,
    session: DbSession,
    category: Annotated[str, Form(max_length=60)],
    sha256: Annotated[list[str], Form()],
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    wanted = list(dict.fromkeys(sha256))
    if not wanted or not all(SHA256.match(s) for s in wanted):
        raise HTTPException(400, "sha256 must name contents by their SHA-256")
    ids = content_ids_for(session, access.case_id, wanted)
    if len(ids) != len(wanted):
        raise HTTPException(404, "not found")
    try:
        result = decide(session, access, [ids[s] for s in wanted], category, access.user.name)
    except HavenError as exc:
        raise HTTPException(400, str(exc)) from exc
    detail = {
        "batch": result.batch_id,
        "category": category,
        "decided": result.decided,
        "propagated": result.propagated,
        "unchanged": result.unchanged,
    }
    return _after_change(request, access, session, "haven:decided", detail, next)


@router.post("/cases/{ref}/decisions/undo")
def post_undo(
    request: Request,
    access: Reviewer,
    session: DbSession,
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> Response:
    try:
        result = undo(session, access, access.user.name)
    except NothingToUndoError:  # not an error: the page just says so
        empty = {"batch": None, "undone": None, "restored": {}, "kept": 0, "message": "nothing to undo"}
        return _after_change(request, access, session, "haven:undone", empty, next)
    shas = dict(
        session.execute(select(Content.id, Content.sha256).where(Content.id.in_(list(result.categories)))).all()
    )
    detail = {
        "batch": result.batch_id,
        "undone": result.undone_batch_id,
        "restored": {shas[cid]: category for cid, category in result.categories.items()},
        "kept": result.kept,
    }
    return _after_change(request, access, session, "haven:undone", detail, next)


# ---------------------------------------------------------------- audit


@router.get("/cases/{ref}/audit")
def case_audit(request: Request, access: Investigator, session: DbSession) -> Response:
    before = request.query_params.get("before")
    if before is not None and not before.isdigit():
        raise HTTPException(400, "'before' must be a record number")
    events, more = audit_events(session, access.reference, limit=AUDIT_PAGE, before_seq=int(before) if before else None)
    return render(
        request,
        "review/audit.html",
        {
            "access": access,
            "base": f"/cases/{quote(access.reference, safe='')}",
            "events": [e | {"detail_data": json.loads(e["detail"])} for e in events],
            "before": more,
            "section": "audit",
        },
    )
