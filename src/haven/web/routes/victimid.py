"""Victim-identification pages (issue 6): identities (name, merge, split), cameras, places as text, and
pictures of the same room.

Every route takes the case through `case_access` (non-members 404). Pictures appear only as the stored
thumbnails (blurred and greyscale before they were stored) through the review routes' thumbnail URL; an
analyst reveals one from its item page, where the reveal is audited. Identity changes call the same
``haven.faces.identities`` functions as `haven faces name|merge|split`, which lock, record and audit them.
Leads into other cases name only the cases the user is a member of.
"""

from __future__ import annotations

import math
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven.clues.places import DEFAULT_RADIUS_M
from haven.errors import HavenError
from haven.faces.pages import CursorError, count_identities, faces_page, identity_of_case, identity_page
from haven.review.retrieve import SHA256
from haven.store.models import Content
from haven.web.case_links import (
    case_base,
    cursor_param,
    int_param,
    member_cases,
    row_id,
    visible_other_cases,
    with_thumbnail,
)
from haven.web.clue_pages import camera_overview, place_overview, serial_groups
from haven.web.deps import CaseAccess, case_access, db_session, get_config
from haven.web.templating import render

router = APIRouter()

Reviewer = Annotated[CaseAccess, Depends(case_access("reviewer"))]
DbSession = Annotated[Session, Depends(db_session)]

IDENTITY_PAGE = 30
FACES_PAGE = 60
GROUP_PAGE = 25
THUMBS_PER_GROUP = 6
MODEL_GROUPS = 100
SCENE_RESULTS = 24
MIN_RADIUS_M, MAX_RADIUS_M = 10.0, 50_000.0
DONE_MESSAGES = {
    "named": "Identity named.",
    "merged": "Identities merged.",
    "split": "Faces split off into a new identity.",
}


def face_model_name(request: Request) -> str:
    """The stored name of the configured face model (no model file is loaded for it)."""
    from haven.faces.model import model_name

    return model_name(get_config(request).faces)


# ---------------------------------------------------------------- identities


@router.get("/cases/{ref}/identities")
def identities(request: Request, access: Reviewer, session: DbSession) -> Response:
    model = face_model_name(request)
    try:
        page = identity_page(
            session, access.case_id, model, cursor=cursor_param(request), limit=IDENTITY_PAGE, faces_each=6
        )
    except CursorError as exc:
        raise HTTPException(400, str(exc)) from exc
    base = case_base(access.reference)
    return render(
        request,
        "victimid/identities.html",
        {
            "access": access,
            "base": base,
            "section": "identities",
            "page": page,
            "total": count_identities(session, access.case_id, model),
            "first_page": cursor_param(request) is None,
            "next_url": f"{base}/identities?{urlencode({'cursor': page.next_cursor})}" if page.next_cursor else None,
            "model": model,
        },
    )


@router.get("/cases/{ref}/identities/one")
def identity(request: Request, access: Reviewer, session: DbSession) -> Response:
    base = case_base(access.reference)
    identity_id = int_param(request, "identity")
    if identity_id is None:
        return RedirectResponse(f"{base}/identities", status_code=303)
    model = face_model_name(request)
    found = identity_of_case(session, access.case_id, model, identity_id)
    if found is None:
        raise HTTPException(404, "not found")
    cursor = cursor_param(request)
    try:
        faces = faces_page(session, found.id, cursor=cursor, limit=FACES_PAGE)
    except CursorError as exc:
        raise HTTPException(400, str(exc)) from exc
    total = len(faces.faces) if faces.next_cursor is None and cursor is None else None
    elsewhere = None
    if request.query_params.get("elsewhere") == "1" and faces.faces:
        elsewhere = _seen_elsewhere(request, session, access, found.id, [f.sha256 for f in faces.faces[:3]])
    done = request.query_params.get("done", "")
    return render(
        request,
        "victimid/identity.html",
        {
            "access": access,
            "base": base,
            "section": "identities",
            "identity": found,
            "faces": faces,
            "total": total,
            "elsewhere": elsewhere,
            "notice": DONE_MESSAGES.get(done),
            "next_url": (
                f"{base}/identities/one?{urlencode({'identity': found.id, 'cursor': faces.next_cursor})}"
                if faces.next_cursor
                else None
            ),
        },
    )


def _seen_elsewhere(
    request: Request, session: Session, access: CaseAccess, identity_id: int, pictures: list[str]
) -> dict[str, Any]:
    """Faces like this identity's best ones in other cases (`haven search-face` on its best pictures).

    Only the query faces that belong to this identity count (a picture may hold other people too)."""
    from haven.faces.model import load_face_model
    from haven.faces.search import search_face

    try:
        model = load_face_model(get_config(request).faces)
    except HavenError as exc:
        return {"error": str(exc), "cases": visible_other_cases([], set())}
    own_faces = {f.face_id for f in faces_page(session, identity_id, limit=10_000).faces}
    per_case: dict[str, int] = {}
    for sha256 in pictures:
        try:
            result = search_face(session, access.reference, sha256, model, limit=200)
        except HavenError as exc:
            return {"error": str(exc), "cases": visible_other_cases([], set())}
        for match in result.matches:
            query = result.query_faces[match["query_face"]]
            if query.face_id in own_faces and match["case"] != access.reference:
                per_case[match["case"]] = per_case.get(match["case"], 0) + 1
    ranked = sorted(per_case.items(), key=lambda kv: (-kv[1], kv[0]))
    cases = visible_other_cases(
        [{"case": ref, "contents": n} for ref, n in ranked], member_cases(session, access.user.id)
    )
    return {"error": None, "cases": cases, "searched": len(pictures)}


def _identity_url(access: CaseAccess, identity_id: int, done: str) -> str:
    return f"{case_base(access.reference)}/identities/one?{urlencode({'identity': identity_id, 'done': done})}"


def _act(action: Any) -> Any:
    """Run a faces service call; its refusals (HavenError) are the user's 400."""
    try:
        return action()
    except HavenError as exc:
        raise HTTPException(400, str(exc)) from exc


@router.post("/cases/{ref}/identities/name")
def name_identity_route(
    request: Request,
    access: Reviewer,
    session: DbSession,
    identity: Annotated[int, Form()],
    name: Annotated[str, Form(max_length=200)],
) -> Response:
    from haven.faces.identities import name_identity

    model = face_model_name(request)
    user = access.user.name
    identity = row_id(identity, "identity")
    result = _act(lambda: name_identity(session, access.reference, identity, name, model=model, user=user))
    return RedirectResponse(_identity_url(access, result.identity_id, "named"), status_code=303)


@router.post("/cases/{ref}/identities/merge")
def merge_identities_route(
    request: Request,
    access: Reviewer,
    session: DbSession,
    keep: Annotated[int, Form()],
    other: Annotated[int, Form()],
) -> Response:
    from haven.faces.identities import merge_identities

    model = face_model_name(request)
    user = access.user.name
    keep, other = row_id(keep, "identity"), row_id(other, "identity")
    result = _act(lambda: merge_identities(session, access.reference, keep, other, model=model, user=user))
    return RedirectResponse(_identity_url(access, result.identity_id, "merged"), status_code=303)


@router.post("/cases/{ref}/identities/split")
def split_identity_route(
    request: Request,
    access: Reviewer,
    session: DbSession,
    identity: Annotated[int, Form()],
    face: Annotated[list[int] | None, Form()] = None,
) -> Response:
    from haven.faces.identities import split_identity

    model = face_model_name(request)
    user = access.user.name
    identity = row_id(identity, "identity")
    refs = [str(row_id(f, "face")) for f in dict.fromkeys(face or [])][
        :10_000
    ]  # none ticked: the service says what is missing
    result = _act(lambda: split_identity(session, access.reference, identity, refs, model=model, user=user))
    return RedirectResponse(_identity_url(access, result.identity_id, "split"), status_code=303)


# ---------------------------------------------------------------- cameras and places


def _group_page(request: Request, groups: list[Any]) -> tuple[list[Any], int, int]:
    """(this page's share of ``groups``, page number, page count): clue results come whole, kept in memory."""
    pages = max(1, math.ceil(len(groups) / GROUP_PAGE))
    number = min(int_param(request, "page", default=1, minimum=1) or 1, pages)
    return groups[(number - 1) * GROUP_PAGE : number * GROUP_PAGE], number, pages


@router.get("/cases/{ref}/cameras")
def cameras(request: Request, access: Reviewer, session: DbSession) -> Response:
    overview = camera_overview(session, access.case_id)
    keys, number, pages = _group_page(request, overview.serial_order)
    members_of = member_cases(session, access.user.id)
    shown: list[str] = []

    def for_user(group: dict[str, Any]) -> dict[str, Any]:
        # A new dict: the clue results are cached and shared between users; the leads are this user's.
        thumbs = group["sha256"][:THUMBS_PER_GROUP]
        shown.extend(thumbs)
        return group | {"thumbs": thumbs, "leads": visible_other_cases(group["other_cases"], members_of)}

    serial = [for_user(g) for g in serial_groups(session, access.case_id, overview, keys)]
    models = [for_user(g) for g in overview.model_groups[:MODEL_GROUPS]]
    return render(
        request,
        "victimid/cameras.html",
        {
            "access": access,
            "base": case_base(access.reference),
            "section": "cameras",
            "serial_groups": serial,
            "shared_serials": len(overview.shared),
            "model_groups": models,
            "more_models": max(0, len(overview.model_groups) - MODEL_GROUPS),
            "with_camera": len(overview.facts),
            "has_thumbnail": with_thumbnail(session, access.case_id, shown),
            "page_number": number,
            "pages": pages,
        },
    )


@router.get("/cases/{ref}/places")
def places_page(request: Request, access: Reviewer, session: DbSession) -> Response:
    radius = _radius(request)
    found = place_overview(session, access.case_id, radius)
    page, number, pages = _group_page(request, found["clusters"])
    clusters = [c | {"thumbs": c["sha256"][:THUMBS_PER_GROUP]} for c in page]
    shown = [sha for c in clusters for sha in c["thumbs"]]
    return render(
        request,
        "victimid/places.html",
        {
            "access": access,
            "base": case_base(access.reference),
            "section": "places",
            "clusters": clusters,
            "radius": radius,
            "points": len(found["points"]),
            "places_total": len(found["clusters"]),
            "ignored": found["ignored_zero_points"],
            "has_thumbnail": with_thumbnail(session, access.case_id, shown),
            "page_number": number,
            "pages": pages,
        },
    )


def _radius(request: Request) -> float:
    text = request.query_params.get("radius", "")
    if not text:
        return DEFAULT_RADIUS_M
    try:
        radius = float(text)
    except ValueError:
        raise HTTPException(400, "'radius' must be a number of metres") from None
    if not MIN_RADIUS_M <= radius <= MAX_RADIUS_M:
        raise HTTPException(400, f"'radius' must be between {MIN_RADIUS_M:.0f} and {MAX_RADIUS_M:.0f} metres")
    return radius


# ---------------------------------------------------------------- same scene


@router.get("/cases/{ref}/items/{sha256}/same-scene")
def same_scene(request: Request, sha256: str, access: Reviewer, session: DbSession) -> Response:
    """Other pictures of the same room or object (`haven search-scene`), optionally from a region."""
    from haven.scenes.search import search_scene

    if not SHA256.match(sha256):
        raise HTTPException(404, "not found")
    # Only ever a content of this case: search_scene would also read a file of that name from disk.
    content_id = session.scalar(select(Content.id).where(Content.case_id == access.case_id, Content.sha256 == sha256))
    if content_id is None:
        raise HTTPException(404, "not found")
    box = _box(request)
    all_cases = request.query_params.get("all") == "1"
    error, matches, query_keypoints, hidden = None, [], 0, 0
    try:
        result = search_scene(
            session,
            access.reference,
            sha256,
            index_dir=get_config(request).index_dir,
            box=box,
            limit=SCENE_RESULTS,
            all_cases=all_cases,
        )
    except HavenError as exc:
        error = str(exc)
    else:
        query_keypoints = result.query_keypoints
        members_of = member_cases(session, access.user.id) | {access.reference}
        for match in result.matches:
            if match["case"] not in members_of:
                hidden += 1
                continue
            matches.append(match | {"base": case_base(match["case"])})
    own = with_thumbnail(session, access.case_id, [sha256] + [m["sha256"] for m in matches])
    others = {m["sha256"] for m in matches if m["case"] != access.reference}  # thumbnails there: their own route
    return render(
        request,
        "victimid/same_scene.html",
        {
            "access": access,
            "base": case_base(access.reference),
            "section": "review",
            "sha256": sha256,
            "box": box,
            "all_cases": all_cases,
            "error": error,
            "matches": matches,
            "hidden_matches": hidden,
            "query_keypoints": query_keypoints,
            "has_thumbnail": own | others,
        },
    )


def _box(request: Request) -> tuple[int, int, int, int] | None:
    names = ("x", "y", "w", "h")
    given = [request.query_params.get(n, "") for n in names]
    if not any(given):
        return None
    if not all(v.isdigit() and len(v) <= 6 for v in given):
        raise HTTPException(400, "a region needs x, y, w and h as whole numbers of pixels")
    x, y, w, h = (int(v) for v in given)
    if w == 0 or h == 0:
        raise HTTPException(400, "a region needs a width and a height above 0")
    return x, y, w, h
