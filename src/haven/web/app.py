"""The web app factory: `create_app(config, store)`; `haven serve` runs it under uvicorn."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from haven.config import Config, load_config
from haven.store import Store, open_store
from haven.web.auth import utc_now
from haven.web.security import SecurityHeadersMiddleware, enforce_csrf
from haven.web.templating import STATIC_DIR, render


def create_app(
    config: Config | None = None, store: Store | None = None, *, clock: Callable[[], datetime] = utc_now
) -> FastAPI:
    """The app on `store` (default: the store `config` names, migrated). `clock` is for tests."""
    from haven.web.routes import ROUTERS

    config = config or load_config()
    store = store or open_store(config.database_url)
    app = FastAPI(
        title="Haven",
        docs_url=None,  # no API explorer: it would need inline scripts and exposes nothing useful
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(enforce_csrf)],
    )
    app.state.config = config
    app.state.store = store
    app.state.clock = clock
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in ROUTERS:
        app.include_router(router)
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_middleware(SecurityHeadersMiddleware)
    return app


async def _http_error(request: Request, exc: HTTPException) -> Response:
    headers = dict(exc.headers or {})
    if 300 <= exc.status_code < 400 and "Location" in headers:
        location = headers.pop("Location")
        return RedirectResponse(location, status_code=exc.status_code, headers=headers)
    if _browser_navigation(request):
        headers.pop("HX-Redirect", None)
        context = {"status_code": exc.status_code, "message": _message(exc)}
        # render may look up the login session: off the event loop, like every other store access.
        return await run_in_threadpool(render, request, "error.html", context, exc.status_code)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


def _browser_navigation(request: Request) -> bool:
    """A page load or a plain form post (not htmx, not a script): answer with a page, not JSON."""
    return "text/html" in request.headers.get("accept", "") and "hx-request" not in request.headers


def _message(exc: HTTPException) -> str:
    if exc.status_code == 404:
        return "Not found."  # the same words whether the thing is missing or not yours to see
    return str(exc.detail)
