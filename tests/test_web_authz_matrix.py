"""Authorization matrix, generated from the app's route table so that no route can escape it.

For every route and method: an anonymous browser, a logged-in non-member, and a member of the case
with each role get exactly the status class they should. `MIN_ROLE` is the explicit table of what each
route needs; a route missing from it (or a stale row) fails `test_every_route_is_in_the_table`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount

from backends import BACKENDS, backend_store
from haven.accounts import role_rank
from haven.web.deps import current_user
from haven.web.security import enforce_csrf
from web_fixtures import (
    POST_EXAMPLES,
    WebCase,
    build_web_case,
    example_url,
    login_csrf,
    reset_password,
)

PUBLIC = "public"
USER = "user"  # any logged-in user; no case involved
MIN_ROLE: dict[tuple[str, str], str] = {
    # AUTH
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/"): USER,
    ("POST", "/logout"): USER,
    ("GET", "/cases"): USER,
    ("GET", "/account"): USER,
    ("GET", "/account/password"): USER,
    ("POST", "/account/password"): USER,
    ("GET", "/account/preferences"): USER,
    ("POST", "/account/preferences"): USER,
    # REVIEW (src/haven/web/routes/review.py)
    ("GET", "/cases/{ref}"): "reviewer",
    ("GET", "/cases/{ref}/stats.json"): "reviewer",
    ("GET", "/cases/{ref}/review"): "reviewer",
    ("GET", "/cases/{ref}/review/page"): "reviewer",
    ("GET", "/cases/{ref}/items.json"): "reviewer",
    ("GET", "/cases/{ref}/items/{sha256}"): "reviewer",
    ("GET", "/cases/{ref}/items/{sha256}/thumbnail"): "reviewer",
    ("GET", "/cases/{ref}/items/{sha256}/reveal"): "reviewer",
    ("POST", "/cases/{ref}/decisions"): "reviewer",
    ("POST", "/cases/{ref}/decisions/undo"): "reviewer",
    ("GET", "/cases/{ref}/audit"): "investigator",
    # VICTIM IDENTIFICATION (src/haven/web/routes/victimid.py)
    ("GET", "/cases/{ref}/identities"): "reviewer",
    ("GET", "/cases/{ref}/identities/one"): "reviewer",
    ("POST", "/cases/{ref}/identities/name"): "reviewer",
    ("POST", "/cases/{ref}/identities/merge"): "reviewer",
    ("POST", "/cases/{ref}/identities/split"): "reviewer",
    ("GET", "/cases/{ref}/cameras"): "reviewer",
    ("GET", "/cases/{ref}/places"): "reviewer",
    ("GET", "/cases/{ref}/items/{sha256}/same-scene"): "reviewer",
    # INTEL (src/haven/web/routes/intel.py): members only, whatever their role
    ("GET", "/cases/{ref}/intel/identifiers"): "reviewer",
    ("GET", "/cases/{ref}/intel/targets"): "reviewer",
    ("GET", "/cases/{ref}/intel/targets/graph.svg"): "reviewer",
    ("GET", "/cases/{ref}/intel/deconfliction"): "reviewer",
}
"""(method, route path) -> PUBLIC, USER, or the minimum role IN THE CASE (reviewer < investigator < admin)."""
STATIC_MOUNT = "/static"
IDENTITIES = ("anonymous", "outsider", "reviewer", "investigator", "admin")


def api_routes(app: FastAPI) -> list[RouteContext]:
    """Every route as the app serves it (FastAPI includes routers lazily: `app.routes` holds the
    included routers; their effective routes, with the app-wide dependencies, come from here)."""
    routes: list[RouteContext] = []
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            routes.append(context)
        elif isinstance(context.original_route, Mount):
            assert context.path == STATIC_MOUNT, f"unexpected mount {context.path}: add it to this test"
        else:
            raise AssertionError(f"route {context.path} is not an APIRoute: the matrix cannot check it")
    return routes


def route_table(app: FastAPI) -> set[tuple[str, str]]:
    return {(method, route.path) for route in api_routes(app) for method in route.methods if method != "HEAD"}


def dependency_calls(route: RouteContext) -> list[object]:
    calls, stack = [], [route.dependant]
    while stack:
        dependant = stack.pop()
        calls.append(dependant.call)
        stack.extend(dependant.dependencies)
    return calls


# ---------------------------------------------------------------- the world, once per module and backend


@pytest.fixture(scope="module", params=BACKENDS)
def web(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebCase]:
    home = tmp_path_factory.mktemp("web-matrix")
    with backend_store(request, home) as store:
        yield build_web_case(store, home / "home", images=3)


# ---------------------------------------------------------------- the table is complete and true


def test_every_route_is_in_the_table(web: WebCase) -> None:
    routes = route_table(web.app)
    missing = sorted(routes - MIN_ROLE.keys())
    stale = sorted(MIN_ROLE.keys() - routes)
    assert not missing, f"routes missing from MIN_ROLE (say who may use them): {missing}"
    assert not stale, f"MIN_ROLE rows for routes that no longer exist: {stale}"
    posts = {path for method, path in routes if method not in ("GET", "HEAD")}
    assert not posts - POST_EXAMPLES.keys(), f"POST routes without an example body: {posts - POST_EXAMPLES.keys()}"


def test_the_table_agrees_with_each_routes_dependencies(web: WebCase) -> None:
    for route in api_routes(web.app):
        calls = dependency_calls(route)
        assert enforce_csrf in calls, f"{route.path}: the app-wide CSRF check does not apply"
        case_roles = [getattr(call, "min_role", None) for call in calls if getattr(call, "min_role", None)]
        for method in route.methods - {"HEAD"}:
            needed = MIN_ROLE[(method, route.path)]
            where = f"{method} {route.path}"
            if needed == PUBLIC:
                assert current_user not in calls, f"{where} is public in the table but asks for a login"
            elif needed == USER:
                assert current_user in calls, f"{where} needs a login in the table but not in the code"
                assert not case_roles, f"{where} checks a case role the table does not know"
            else:
                assert "{ref}" in route.path, f"{where}: a case role needs a {{ref}} path parameter"
                assert case_roles == [needed], f"{where}: table says {needed}, code checks {case_roles}"


# ---------------------------------------------------------------- the matrix itself


@dataclass(frozen=True)
class Outcome:
    identity: str
    method: str
    path: str
    status: int
    location: str

    def __str__(self) -> str:
        return f"{self.identity:12} {self.method:4} {self.path} -> {self.status} {self.location}"


def expected_ok(identity: str, needed: str, path: str) -> str:
    """'ok' (2xx/3xx), 'login' (401 or 303 to /login), 'forbidden' (403), 'hidden' (404)."""
    if needed == PUBLIC:
        return "ok"
    if identity == "anonymous":
        return "login"
    if needed == USER:
        return "ok"
    if identity == "outsider":
        return "hidden"
    return "ok" if role_rank(identity) >= role_rank(needed) else "forbidden"


def status_class(status: int, location: str) -> str:
    if status == 401 or (status == 303 and location.startswith("/login?next=")):
        return "login"
    if status == 403:
        return "forbidden"
    if status == 404:
        return "hidden"
    if 200 <= status < 400:
        return "ok"
    return f"unexpected {status}"


def request_as(web: WebCase, identity: str, method: str, path: str, *, html: bool) -> Outcome:
    client = web.client() if identity == "anonymous" else web.login(identity)
    url = example_url(web, path)
    headers = {"accept": "text/html"} if html else {"accept": "application/json"}
    if method == "GET":
        response = client.get(url, headers=headers)
    else:
        kind, body = POST_EXAMPLES[path](web)
        headers |= csrf_for(web, client, identity, path)
        if kind == "json":
            response = client.request(method, url, json=body, headers=headers)
        else:
            response = client.request(method, url, data=body, headers=headers)
        if identity != "anonymous" and path == "/account/password":
            reset_password(web, identity)
    return Outcome(identity, method, path, response.status_code, response.headers.get("location", ""))


def csrf_for(web: WebCase, client: TestClient, identity: str, path: str) -> dict[str, str]:
    """A valid token, so that the matrix tests authorization and not CSRF (test_web_security does)."""
    if identity == "anonymous":
        if path == "/login":
            return {"X-CSRF-Token": login_csrf(client)}
        return {}
    return web.csrf_headers(client)


@pytest.mark.parametrize("identity", IDENTITIES)
def test_each_identity_gets_exactly_what_the_table_allows(web: WebCase, identity: str) -> None:
    wrong: list[str] = []
    checked = 0
    for method, path in sorted(route_table(web.app)):
        needed = MIN_ROLE[(method, path)]
        if path == "/login" and identity != "anonymous":
            continue  # a logged-in user is sent on from the login page; covered by test_web_auth
        for html in (False, True) if method == "GET" else (False,):
            outcome = request_as(web, identity, method, path, html=html)
            got = status_class(outcome.status, outcome.location)
            want = expected_ok(identity, needed, path)
            checked += 1
            if identity == "anonymous" and want == "login":
                # A browser page goes to the login form; anything else is a plain 401.
                ok_status = 303 if html else 401
                if outcome.status != ok_status or (html and not outcome.location.startswith("/login?next=")):
                    wrong.append(f"{outcome}  (want {ok_status} to /login)")
                continue
            if got != want:
                wrong.append(f"{outcome}  (want {want}, needs {needed})")
    assert checked >= len(MIN_ROLE) - 2
    assert not wrong, "authorization matrix violations:\n" + "\n".join(wrong)


def test_static_files_are_public_and_nothing_else_is_under_static(web: WebCase) -> None:
    client = web.client()
    assert client.get("/static/haven.css").status_code == 200
    assert client.get("/static/htmx-2.0.11.min.js").status_code == 200
    assert client.get("/static/nothing-here.js").status_code == 404


def test_a_member_of_another_case_and_a_missing_case_look_the_same(web: WebCase) -> None:
    """No case route may tell a non-member whether the reference exists."""
    outsider = web.login("outsider")
    case_routes = sorted((m, p) for m, p in route_table(web.app) if "{ref}" in p and m == "GET")
    for _method, path in case_routes:
        existing = outsider.get(example_url(web, path))
        missing = outsider.get(example_url(web, path).replace(web.case_ref, "NO-SUCH-CASE"))
        assert existing.status_code == missing.status_code == 404, path
        assert existing.text == missing.text, path
