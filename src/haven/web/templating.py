"""Jinja2 templates (autoescaped) and `render`, which gives every page what the layout needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from haven import __version__
from haven.accounts import UserPrefs
from haven.web.deps import WebUser, login_state, now
from haven.web.security import LOGIN_CSRF_COOKIE

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
HTMX_SCRIPT = "htmx-2.0.11.min.js"

templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
# Jinja2Templates autoescapes .html/.xml already; say so for every name, whatever its extension.
templates.env.autoescape = True
templates.env.globals.update(haven_version=__version__, htmx_script=HTMX_SCRIPT)


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    """Render `name` with `user`, `csrf_token`, `prefs` and `now` added (a route's own keys win)."""
    login = login_state(request)
    user = getattr(request.state, "user", None)
    if user is None and login is not None:
        user = WebUser(id=login.user_id, name=login.name, role=login.role, prefs=UserPrefs.from_json(login.prefs_json))
    csrf = login.csrf_token if login is not None else getattr(request.state, "login_csrf", None)
    if csrf is None:
        csrf = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    base: dict[str, Any] = {
        "user": user,
        "csrf_token": csrf,
        "prefs": user.prefs if user is not None else UserPrefs(),
        "now": now(request),
        "must_change_password": bool(login and login.must_change_password),
    }
    base.update(context or {})
    return templates.TemplateResponse(request, name, base, status_code=status_code)
