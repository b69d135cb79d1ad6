"""Intelligence pages (issue 7): the case's identifiers, its targets with their link graph, and the
deconfliction warnings the case dashboard loads.

Identifiers name people under investigation: every route takes the case through `case_access`, so only
members see them (a non-member gets the same 404 as for a case that does not exist). Other cases are
named only when the user may see them (``haven.intel.register.deconflict`` and `case_links`); partner
agencies are shown by their agency and contact, never a case. Each view is an ``intel.web.*`` audit
record on the case chain, as every intel command is.

The link graph is served as its own ``image/svg+xml`` response for an ``<img>``: an image cannot run
script, and it is drawn with presentation attributes only, so the CSP (no inline script or style) holds.
"""

from __future__ import annotations

import math
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from haven.errors import HavenError
from haven.intel import access as intel_access
from haven.intel.types import IDENTIFIER_TYPES
from haven.store.models import Case
from haven.web.case_links import NO_STORE, case_base, cursor_param, int_param, member_cases
from haven.web.deps import CaseAccess, case_access, db_session, get_config
from haven.web.intel_pages import identifier_page
from haven.web.templating import render

router = APIRouter()

Reviewer = Annotated[CaseAccess, Depends(case_access("reviewer"))]
DbSession = Annotated[Session, Depends(db_session)]

IDENTIFIER_PAGE = 50
TARGET_PAGE = 25
MAX_TEXT = 200
RESTRICTED_CASE = "(restricted)"


def _audit(session: Session, access: CaseAccess, view: str, detail: dict[str, Any]) -> None:
    intel_access.record(session, reference=access.reference, user=access.user.name, action=f"web.{view}", detail=detail)


# ---------------------------------------------------------------- identifiers


@router.get("/cases/{ref}/intel/identifiers")
def identifiers(request: Request, access: Reviewer, session: DbSession) -> Response:
    identifier_type = request.query_params.get("type") or None
    text = (request.query_params.get("q") or "").strip() or None
    if text is not None and (len(text) > MAX_TEXT or not text.isprintable()):
        raise HTTPException(400, f"'q' must be printable text of at most {MAX_TEXT} characters")
    cursor = cursor_param(request)
    try:
        page = identifier_page(
            session, access.case_id, identifier_type=identifier_type, text=text, cursor=cursor, limit=IDENTIFIER_PAGE
        )
    except HavenError as exc:
        raise HTTPException(400, str(exc)) from exc
    _audit(
        session,
        access,
        "identifiers",
        {"type": identifier_type, "text": text, "cursor": cursor, "shown": len(page.rows)},
    )
    base = case_base(access.reference)
    filters = {k: v for k, v in (("type", identifier_type), ("q", text)) if v}
    return render(
        request,
        "intel/identifiers.html",
        {
            "access": access,
            "base": base,
            "section": "identifiers",
            "page": page,
            "types": IDENTIFIER_TYPES,
            "identifier_type": identifier_type,
            "text": text or "",
            "first_page": cursor is None,
            "first_url": f"{base}/intel/identifiers?{urlencode(filters)}",
            "next_url": (
                f"{base}/intel/identifiers?{urlencode(filters | {'cursor': page.next_cursor})}"
                if page.next_cursor
                else None
            ),
        },
    )


# ---------------------------------------------------------------- targets


def _visible_targets(session: Session, access: CaseAccess) -> list[dict[str, Any]]:
    """The case's targets (``list_targets``), leads into cases the user is not a member of left unnamed."""
    from haven.intel.targets.listing import list_targets

    members_of = member_cases(session, access.user.id)
    targets = list_targets(session, session.get_one(Case, access.case_id))
    for target in targets:
        named, hidden = [], 0
        for lead in target["cases"]:
            if lead["reference"] in members_of:
                named.append(lead | {"url": case_base(lead["reference"])})
            else:
                hidden += 1
        target["cases"] = named
        target["restricted_cases"] = hidden
    return targets


@router.get("/cases/{ref}/intel/targets")
def targets(request: Request, access: Reviewer, session: DbSession) -> Response:
    found = _visible_targets(session, access)
    pages = max(1, math.ceil(len(found) / TARGET_PAGE))
    number = min(int_param(request, "page", default=1, minimum=1) or 1, pages)
    shown = found[(number - 1) * TARGET_PAGE : number * TARGET_PAGE]
    _audit(session, access, "targets", {"targets": len(found), "page": number})
    return render(
        request,
        "intel/targets.html",
        {
            "access": access,
            "base": case_base(access.reference),
            "section": "targets",
            "targets": shown,
            "total": len(found),
            "page_number": number,
            "pages": pages,
        },
    )


@router.get("/cases/{ref}/intel/targets/graph.svg")
def targets_graph(access: Reviewer, session: DbSession) -> Response:
    from haven.intel.targets.svg import targets_svg

    found = _visible_targets(session, access)
    for target in found:  # the picture shows a restricted lead as such, never its reference
        target["cases"] = target["cases"] + [{"reference": RESTRICTED_CASE}] * target["restricted_cases"]
    svg = targets_svg(found, svg_id="targets-graph", title=f"Targets of {access.reference}")
    _audit(session, access, "targets.graph", {"targets": len(found)})
    document = '<?xml version="1.0" encoding="UTF-8"?>\n' + svg
    return Response(document, media_type="image/svg+xml", headers=NO_STORE)


# ---------------------------------------------------------------- deconfliction (on the dashboard)


@router.get("/cases/{ref}/intel/deconfliction")
def deconfliction(request: Request, access: Reviewer, session: DbSession) -> Response:
    """The dashboard's warnings: who else works this case's identifiers, targets, series or victims."""
    from haven.intel.register.deconflict import deconflict
    from haven.intel.register.keys import KeyRing

    error, overlaps, warnings = None, [], []
    try:
        found = deconflict(
            session,
            session.get_one(Case, access.case_id),
            user=access.user.name,
            ring=KeyRing(get_config(request).home),
        )
    except HavenError as exc:
        error = str(exc)
    else:
        overlaps, warnings = found.overlaps, found.warnings
        _audit(
            session,
            access,
            "deconflict",
            {
                "overlaps": len(overlaps),
                "partner_overlaps": sum(1 for o in overlaps if o.partners),
                "case_overlaps": sum(1 for o in overlaps if o.cases or o.restricted_cases),
            },
        )
    partner = [o for o in overlaps if o.partners]
    in_store = [o for o in overlaps if not o.partners and (o.cases or o.restricted_cases)]
    return render(
        request,
        "intel/_deconfliction.html",
        {
            "access": access,
            "base": case_base(access.reference),
            "error": error,
            "partner": partner,
            "in_store": in_store,
            "warnings": warnings,
        },
    )
