"""FastAPI dependencies every route uses: who is asking, may they see this case, a store session.

    user: Annotated[WebUser, Depends(current_user)]
    access: Annotated[CaseAccess, Depends(case_access("investigator"))]
    session: Annotated[Session, Depends(db_session)]

A non-member (or a case that does not exist) is a 404, so a case's existence is never revealed;
a member whose role in the case is too low gets a 403.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven.accounts import ROLES, UserPrefs, role_rank
from haven.config import Config
from haven.store import Store
from haven.store.models import Case, CaseMember
from haven.web.auth import ActiveLogin, resolve_session

__all__ = [
    "ROLES",
    "CaseAccess",
    "UserPrefs",
    "WebUser",
    "case_access",
    "current_user",
    "db_session",
    "get_config",
    "get_store",
    "login_state",
    "now",
]

SESSION_COOKIE = "haven_session"
PASSWORD_CHANGE_PATH = "/account/password"
# Reachable while a password change is due (the change itself, and leaving).
_ALLOWED_BEFORE_PASSWORD_CHANGE = frozenset({PASSWORD_CHANGE_PATH, "/logout"})


@dataclass(frozen=True)
class WebUser:
    id: int
    name: str
    role: str  # global role: admin | investigator | reviewer
    prefs: UserPrefs


@dataclass(frozen=True)
class CaseAccess:
    user: WebUser
    case_id: int
    reference: str
    scheme: str
    role: str  # the user's role in this case


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_config(request: Request) -> Config:
    return request.app.state.config


def now(request: Request) -> datetime:
    """The app's clock (tests replace `app.state.clock` to move time)."""
    return request.app.state.clock()


def db_session(request: Request) -> Iterator[Session]:
    """A store session in a transaction: committed when the route returns, rolled back on error."""
    with get_store(request).session() as session:
        yield session


def login_state(request: Request) -> ActiveLogin | None:
    """The request's live login session, or None. Resolved once per request (FastAPI caches it)."""
    if hasattr(request.state, "login"):
        return request.state.login
    token = request.cookies.get(SESSION_COOKIE)
    login = None
    if token:
        with get_store(request).session() as session:
            login = resolve_session(session, token, get_config(request), now(request))
    request.state.login = login
    return login


def wants_html(request: Request) -> bool:
    return (
        request.method in ("GET", "HEAD")
        and "text/html" in request.headers.get("accept", "")
        and "hx-request" not in request.headers
    )


def login_redirect_target(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/login?next={quote(target, safe='')}"


def current_user(request: Request, login: Annotated[ActiveLogin | None, Depends(login_state)]) -> WebUser:
    if login is None:
        if wants_html(request):
            raise HTTPException(303, headers={"Location": login_redirect_target(request)})
        # htmx follows HX-Redirect, so a partial request after a timeout still lands on the login page.
        raise HTTPException(401, "log in first", headers={"HX-Redirect": "/login"})
    if login.must_change_password and request.url.path not in _ALLOWED_BEFORE_PASSWORD_CHANGE:
        if wants_html(request):
            raise HTTPException(303, headers={"Location": PASSWORD_CHANGE_PATH})
        raise HTTPException(403, "change your password first", headers={"HX-Redirect": PASSWORD_CHANGE_PATH})
    return WebUser(id=login.user_id, name=login.name, role=login.role, prefs=UserPrefs.from_json(login.prefs_json))


def _plausible_reference(ref: str) -> bool:
    return 0 < len(ref) <= 200 and ref.isprintable()


def case_access(min_role: str = "reviewer") -> Callable[..., CaseAccess]:
    """A dependency reading path parameter `ref`: the caller's membership of that case."""
    if min_role not in ROLES:
        raise ValueError(f"unknown role {min_role!r}")
    needed = role_rank(min_role)

    def dependency(ref: str, request: Request, user: Annotated[WebUser, Depends(current_user)]) -> CaseAccess:
        if not _plausible_reference(ref):
            raise HTTPException(404, "not found")  # e.g. a NUL byte, which PostgreSQL refuses outright
        with get_store(request).session() as session:
            row = session.execute(
                select(Case.id, Case.reference, Case.scheme, CaseMember.role)
                .join(CaseMember, CaseMember.case_id == Case.id)
                .where(Case.reference == ref, CaseMember.user_id == user.id)
            ).first()
        if row is None:
            raise HTTPException(404, "not found")
        case_id, reference, scheme, role = row
        if role_rank(role) < needed:
            raise HTTPException(403, f"this needs the {min_role} role in the case")
        return CaseAccess(user=user, case_id=case_id, reference=reference, scheme=scheme, role=role)

    dependency.min_role = min_role  # type: ignore[attr-defined]  # read by the authorization-matrix test
    return dependency
