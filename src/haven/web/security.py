"""CSRF protection and security headers, applied to the whole app.

CSRF: every request that is not GET/HEAD/OPTIONS must carry the login session's token, in the form
field `csrf_token` or the header `X-CSRF-Token` (htmx sends the header: base.html sets `hx-headers`).
Before login there is no session: the login form uses a double-submit token instead (a random cookie,
SameSite=Strict, that the form must repeat), so a foreign site cannot log a browser in either.
An anonymous change request to anything but the public POST routes is a 401, before anything else.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from haven.web.auth import ActiveLogin
from haven.web.deps import login_state

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
LOGIN_CSRF_COOKIE = "haven_login_csrf"
PUBLIC_POST_PATHS = frozenset({"/login"})
"""Change requests allowed without a login session (they use the double-submit token)."""

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
)


def new_login_csrf() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8", "replace"), given.encode("utf-8", "replace"))


async def submitted_token(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # cached on the request: the route reads the same parsed form
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def enforce_csrf(request: Request, login: Annotated[ActiveLogin | None, Depends(login_state)]) -> None:
    """App-wide dependency (see app.py)."""
    if request.method in SAFE_METHODS:
        return
    if request.url.path in PUBLIC_POST_PATHS:
        # Whatever session cookie came along (it is discarded at login): the login form's own token.
        expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    elif login is not None:
        expected = login.csrf_token
    else:
        raise HTTPException(401, "log in first", headers={"HX-Redirect": "/login"})
    if not tokens_match(expected, await submitted_token(request)):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")


class SecurityHeadersMiddleware:
    """Adds the security headers to every response, and `Cache-Control: no-store` to everything that is
    not a static asset: pages, partials, JSON and media may all show case material."""

    def __init__(self, app: ASGIApp, static_prefix: str = "/static/") -> None:
        self.app = app
        self.static_prefix = static_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_static = scope.get("path", "").startswith(self.static_prefix)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers.append(name.decode(), value.decode())
                if is_static:
                    headers["cache-control"] = "no-cache"
                else:
                    headers["cache-control"] = "no-store"
                    headers["pragma"] = "no-cache"
            await send(message)

        await self.app(scope, receive, send_with_headers)
