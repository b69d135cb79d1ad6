"""Login, logout, the case list, the user's own account (password, wellbeing preferences), health."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from haven import accounts
from haven.errors import HavenError
from haven.store.models import Case, CaseMember, Content, LoginSession
from haven.web import auth
from haven.web.deps import (
    PASSWORD_CHANGE_PATH,
    SESSION_COOKIE,
    WebUser,
    current_user,
    db_session,
    get_config,
    get_store,
    login_state,
    now,
)
from haven.web.security import LOGIN_CSRF_COOKIE, new_login_csrf
from haven.web.templating import render

router = APIRouter()

CurrentUser = Annotated[WebUser, Depends(current_user)]
DbSession = Annotated[Session, Depends(db_session)]
LOGIN_CSRF_MAX_AGE = 3600


def client_address(request: Request) -> str:
    return request.client.host if request.client else "-"


def safe_next(target: str | None) -> str:
    """Only a path on this site: never `//host`, `/\\host` or `https://...` (open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/cases"
    if any(c in target for c in "\\\r\n\t") or target.startswith("/login"):
        return "/cases"
    return target


def _set_session_cookie(response: Response, token: str) -> None:
    # No Max-Age: the cookie ends with the browser; the server ends the session on idle or lifetime.
    response.set_cookie(SESSION_COOKIE, token, path="/", secure=True, httponly=True, samesite="strict")


def _clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")


# ---------------------------------------------------------------- login / logout


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    if login_state(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_form(request, next=next)


def _login_form(request: Request, *, next: str | None, error: str | None = None, status_code: int = 200) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or new_login_csrf()
    request.state.login_csrf = token
    response = render(
        request, "login.html", {"next": safe_next(next), "error": error, "username": ""}, status_code=status_code
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=LOGIN_CSRF_MAX_AGE,
        path="/login",
        secure=True,
        httponly=True,
        samesite="strict",
    )
    return response


@router.post("/login")
def login_submit(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    outcome = auth.attempt_login(
        get_store(request),
        get_config(request),
        username.strip(),
        password,
        client=client_address(request),
        now=now(request),
        presented=request.cookies.get(SESSION_COOKIE),
    )
    if outcome.token is None:
        if outcome.locked_for is not None:
            minutes = max(1, round(outcome.locked_for.total_seconds() / 60))
            error = f"Too many failed attempts. Try again in {minutes} minute{'s' if minutes != 1 else ''}."
            response = _login_form(request, next=next, error=error, status_code=429)
        else:
            response = _login_form(request, next=next, error="Wrong user name or password.", status_code=401)
        _clear_session_cookie(response)
        return response
    target = PASSWORD_CHANGE_PATH if outcome.must_change_password else safe_next(next)
    response = RedirectResponse(target, status_code=303)
    _set_session_cookie(response, outcome.token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login", secure=True, httponly=True, samesite="strict")
    return response


@router.post("/logout")
def logout(request: Request, user: CurrentUser) -> Response:
    with get_store(request).session() as session:
        auth.end_session(session, request.cookies.get(SESSION_COOKIE))
        from haven import audit

        audit.record(session, chain=audit.GLOBAL_CHAIN, user=user.name, action="logout", detail={})
    response = RedirectResponse("/login", status_code=303)
    _clear_session_cookie(response)
    return response


# ---------------------------------------------------------------- cases


@router.get("/")
def home(user: CurrentUser) -> Response:
    return RedirectResponse("/cases", status_code=303)


@router.get("/cases")
def cases_page(request: Request, user: CurrentUser, session: DbSession) -> Response:
    rows = session.execute(
        select(Case.id, Case.reference, Case.title, Case.scheme, Case.created_at, CaseMember.role)
        .join(CaseMember, CaseMember.case_id == Case.id)
        .where(CaseMember.user_id == user.id)
        .order_by(Case.reference)
    ).all()
    counts: dict[int, int] = (
        dict(
            session.execute(  # type: ignore[arg-type]
                select(Content.case_id, func.count())
                .where(Content.case_id.in_([r.id for r in rows]))
                .group_by(Content.case_id)
            ).all()
        )
        if rows
        else {}
    )
    cases = [
        {
            "reference": r.reference,
            "title": r.title,
            "scheme": r.scheme,
            "created_at": r.created_at,
            "role": r.role,
            "items": counts.get(r.id, 0),
        }
        for r in rows
    ]
    return render(request, "cases.html", {"cases": cases})


# ---------------------------------------------------------------- account


@router.get("/account")
def account_page(request: Request, user: CurrentUser, session: DbSession) -> Response:
    row = accounts.get_user(session, user.name)
    memberships = session.execute(
        select(Case.reference, CaseMember.role)
        .join(CaseMember, CaseMember.case_id == Case.id)
        .where(CaseMember.user_id == user.id)
        .order_by(Case.reference)
    ).all()
    return render(request, "account.html", {"account": row, "memberships": memberships})


@router.get(PASSWORD_CHANGE_PATH)
def password_page(request: Request, user: CurrentUser) -> Response:
    return render(request, "account_password.html", {"error": None, "done": False})


@router.post(PASSWORD_CHANGE_PATH)
def password_submit(
    request: Request,
    user: CurrentUser,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    new_password_again: Annotated[str, Form()] = "",
) -> Response:
    error = None
    with get_store(request).session() as session:
        row = accounts.get_user(session, user.name)
        if not accounts.verify_password(row.password_hash, current_password):
            error = "The current password is wrong."
        elif new_password != new_password_again:
            error = "The two new passwords differ."
        else:
            try:
                accounts.set_password(session, row, new_password, by=user.name)
            except HavenError as exc:
                error = str(exc).capitalize() + "."
        if error is None:
            # Other browsers logged in as this user end: a changed password locks out whoever knew the old one.
            login = login_state(request)
            keep = login.session_id if login else -1
            session.execute(delete(LoginSession).where(LoginSession.user_id == user.id, LoginSession.id != keep))
    if error is not None:
        return render(request, "account_password.html", {"error": error, "done": False}, status_code=400)
    return RedirectResponse("/cases", status_code=303)


@router.get("/account/preferences")
def preferences_page(request: Request, user: CurrentUser) -> Response:
    return render(request, "account_preferences.html", {"saved": False, "error": None})


@router.post("/account/preferences")
def preferences_submit(
    request: Request,
    user: CurrentUser,
    session: DbSession,
    blur: Annotated[str | None, Form()] = None,
    greyscale: Annotated[str | None, Form()] = None,
    show_known: Annotated[str | None, Form()] = None,
    break_minutes: Annotated[str, Form()] = "50",
) -> Response:
    try:
        minutes = accounts.clamp_break_minutes(int(break_minutes))
    except ValueError:
        return render(
            request,
            "account_preferences.html",
            {"saved": False, "error": "The break reminder must be a whole number of minutes."},
            status_code=400,
        )
    prefs = accounts.UserPrefs(
        blur=blur is not None, greyscale=greyscale is not None, show_known=show_known is not None, break_minutes=minutes
    )
    accounts.save_prefs(session, accounts.get_user(session, user.name), prefs, by=user.name)
    request.state.user = WebUser(id=user.id, name=user.name, role=user.role, prefs=prefs)
    return render(request, "account_preferences.html", {"saved": True, "error": None})


# ---------------------------------------------------------------- health


@router.get("/healthz")
def healthz(request: Request) -> Response:
    """Public: says only whether the store answers."""
    try:
        with get_store(request).session() as session:
            session.execute(text("SELECT 1"))
    except Exception:  # any store failure is "unavailable", never details
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})
