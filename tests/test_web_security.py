"""Web security: CSRF on every change, session fixation, path parameters, security headers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from backends import BACKENDS, backend_store
from haven import accounts
from haven.store.models import LoginSession
from test_web_authz_matrix import route_table
from web_fixtures import (
    PASSWORD,
    POST_EXAMPLES,
    WebCase,
    build_web_case,
    example_url,
    login,
    login_csrf,
    reset_password,
)

HTML = {"accept": "text/html"}
SECRET_FILE_MARKERS = ("root:", "[boot loader]", "BEGIN ", "SQLite format")


@pytest.fixture(scope="module", params=BACKENDS)
def web(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebCase]:
    home = tmp_path_factory.mktemp("web-security")
    with backend_store(request, home) as store:
        yield build_web_case(store, home / "home", images=2)


def post_routes(web: WebCase) -> list[str]:
    return sorted(path for method, path in route_table(web.app) if method == "POST")


def send(client, web: WebCase, path: str, headers: dict[str, str], token_field: str | None = None):
    kind, body = POST_EXAMPLES[path](web)
    url = example_url(web, path)
    if kind == "json":
        return client.post(url, json=body, headers=headers)
    data = dict(body)
    if token_field is not None:
        data["csrf_token"] = token_field
    return client.post(url, data=data, headers=headers)


# ---------------------------------------------------------------- CSRF


def test_every_post_route_refuses_a_missing_or_wrong_csrf_token(web: WebCase) -> None:
    routes = post_routes(web)
    assert {"/login", "/logout", "/account/password", "/account/preferences"} <= set(routes)
    other_session_token = web.csrf_headers(web.login("investigator"))["X-CSRF-Token"]
    refused: list[str] = []
    for path in routes:
        for label, headers, field in [
            ("no token", {}, None),
            ("wrong header", {"X-CSRF-Token": "not-the-token"}, None),
            ("wrong field", {}, "not-the-token"),
            ("another session's token", {"X-CSRF-Token": other_session_token}, None),
        ]:
            client = web.client() if path == "/login" else web.login("admin")
            if path == "/login":
                login_csrf(client)  # the double-submit cookie is there; the form token is not
            response = send(client, web, path, headers, field)
            if response.status_code != 403:
                refused.append(f"{path} with {label}: {response.status_code}")
            elif path != "/login":
                assert client.get("/account").status_code == 200, f"{path}: the refused request had an effect"
    assert not refused, "accepted without a valid CSRF token:\n" + "\n".join(refused)


def test_a_refused_change_changes_nothing(web: WebCase) -> None:
    client = web.login("reviewer")
    response = client.post("/account/preferences", data={"break_minutes": "5"})  # unticks blur/greyscale
    assert response.status_code == 403
    with web.store.session() as session:
        prefs = accounts.UserPrefs.from_json(accounts.get_user(session, web.users["reviewer"]).prefs)
    assert prefs.blur and prefs.greyscale and prefs.break_minutes != 5
    response = client.post("/account/password", data={"current_password": PASSWORD, "new_password": "x" * 20})
    assert response.status_code == 403
    assert login(web.client(), web.users["reviewer"], PASSWORD).status_code == 303


def test_the_login_form_needs_its_double_submit_token(web: WebCase) -> None:
    body = {"username": web.users["reviewer"], "password": PASSWORD}
    fresh = web.client()
    assert fresh.post("/login", data=body).status_code == 403  # no cookie, no token
    assert fresh.post("/login", data=body | {"csrf_token": "guess"}).status_code == 403
    other = web.client()
    token_from_another_browser = login_csrf(other)
    assert fresh.post("/login", data=body | {"csrf_token": token_from_another_browser}).status_code == 403
    login_csrf(fresh)
    assert fresh.post("/login", data=body | {"csrf_token": token_from_another_browser}).status_code == 403


def test_anonymous_changes_are_401_whatever_the_token(web: WebCase) -> None:
    for path in post_routes(web):
        if path == "/login":
            continue
        response = send(web.client(), web, path, {"X-CSRF-Token": "x"})
        assert response.status_code == 401, path


# ---------------------------------------------------------------- session fixation


def test_a_session_id_planted_before_login_is_not_the_session_after_login(web: WebCase) -> None:
    victim = web.client()
    token = login_csrf(victim)
    victim.cookies.set("haven_session", "attacker-chosen-value", domain="testserver.local")
    response = victim.post(
        "/login", data={"username": web.users["reviewer"], "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303
    new_token = victim.cookies.get("haven_session")
    assert new_token and new_token != "attacker-chosen-value"


def test_an_attackers_own_live_session_planted_in_a_victims_browser_is_discarded_at_login(web: WebCase) -> None:
    attacker = web.login("outsider")
    planted = attacker.cookies.get("haven_session")
    victim = web.client()
    token = login_csrf(victim)  # the victim's login page is open when the attacker plants the cookie
    victim.cookies.set("haven_session", planted, domain="testserver.local")
    response = victim.post(
        "/login", data={"username": web.users["reviewer"], "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303
    victim_token = victim.cookies.get("haven_session")
    assert victim_token != planted
    assert attacker.get("/cases").status_code == 401  # the planted session was deleted at login
    page = victim.get("/account")
    assert web.users["reviewer"] in page.text and web.users["outsider"] not in page.text
    with web.store.session() as session:
        assert all(row.token_sha256 != planted for row in session.scalars(select(LoginSession)))


def test_each_login_gets_a_new_token(web: WebCase) -> None:
    tokens = {web.login("reviewer").cookies.get("haven_session") for _ in range(3)}
    assert len(tokens) == 3


# ---------------------------------------------------------------- path parameters


TRAVERSALS = [
    "../../etc/passwd",
    "..%2f..%2fetc%2fpasswd",
    "%2e%2e/%2e%2e/etc/passwd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%5c..%5cetc%5cpasswd",
    "%252e%252e%252fetc%252fpasswd",
    "....//....//etc/passwd",
    "/etc/passwd",
    "%00",
]
BAD_SHA256 = [
    "A" * 64,  # upper case
    "g" * 64,  # not hex
    "a" * 63,
    "a" * 65,
    "0" * 64 + "/../../etc/passwd",
    "%2e%2e",  # a bare ".." is resolved by the client before sending; encoded, it reaches the server
]


def assert_no_file(response, what: str) -> None:
    assert response.status_code in (400, 404, 405, 422), f"{what}: {response.status_code}"
    body = response.text
    assert not any(marker in body for marker in SECRET_FILE_MARKERS), f"{what} returned a file"
    assert not response.headers.get("content-type", "").startswith(("image/", "video/", "application/octet"))


def test_static_files_cannot_be_left_by_traversal(web: WebCase) -> None:
    client = web.client()
    for attempt in TRAVERSALS:
        assert_no_file(client.get(f"/static/{attempt}"), f"/static/{attempt}")


def test_case_path_parameters_cannot_reach_files_outside_the_store(web: WebCase) -> None:
    client = web.login("admin")
    sha_routes = sorted(path for method, path in route_table(web.app) if method == "GET" and "{sha256}" in path)
    case_routes = sorted(path for method, path in route_table(web.app) if method == "GET" and "{ref}" in path)
    for path in case_routes:
        for attempt in TRAVERSALS:
            url = path.replace("{ref}", attempt)
            url = example_url(web, url)
            assert_no_file(client.get(url), url)
    for path in sha_routes:
        for attempt in TRAVERSALS + BAD_SHA256:
            url = example_url(web, path.replace("{sha256}", attempt))
            assert_no_file(client.get(url), url)
    # Well-formed but not in this case: also 404 (never another case's content).
    for path in sha_routes:
        url = example_url(web, path.replace("{sha256}", "0" * 64))
        assert client.get(url).status_code == 404, url


def test_unknown_paths_are_plain_404s(web: WebCase) -> None:
    client = web.login("reviewer")
    for url in ["/etc/passwd", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/cases/../../etc/passwd"]:
        assert_no_file(client.get(url), url)


# ---------------------------------------------------------------- headers


def test_every_response_carries_the_security_headers(web: WebCase) -> None:
    client = web.login("reviewer")
    responses = {
        "page": client.get("/cases"),
        "json error": client.get("/no-such-page"),
        "redirect": client.get("/"),
        "health": client.get("/healthz"),
        "static": client.get("/static/haven.css"),
        "login": web.client().get("/login"),
    }
    for name, response in responses.items():
        headers = response.headers
        csp = headers.get("content-security-policy", "")
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "'unsafe-inline'" not in csp, name
        assert "frame-ancestors 'none'" in csp, name
        assert headers.get("x-frame-options") == "DENY", name
        assert headers.get("referrer-policy") == "no-referrer", name
        assert headers.get("x-content-type-options") == "nosniff", name
        if name != "static":
            assert headers.get("cache-control") == "no-store", name


def test_pages_hold_no_inline_script_or_style(web: WebCase) -> None:
    client = web.login("reviewer")
    pages = ["/cases", "/account", "/account/password", "/account/preferences"]
    for url in pages:
        text = client.get(url).text.lower()
        assert "<script>" not in text and "<style" not in text and " style=" not in text, url
        assert " onclick=" not in text and " onload=" not in text and "javascript:" not in text, url
    assert "<script>" not in web.client().get("/login").text


def test_html_is_escaped(web: WebCase) -> None:
    with web.store.session() as session:
        accounts.create_user(session, "<b>x</b>", PASSWORD, role="reviewer", by="tester")
    client = web.login("<b>x</b>")
    text = client.get("/account").text
    assert "<b>x</b>" not in text and "&lt;b&gt;x&lt;/b&gt;" in text
    reset_password(web, "<b>x</b>")


@pytest.mark.parametrize("username", ["\x00", "admin\x00", "a" * 5000, "\u202e\n"])
def test_hostile_user_names_are_just_wrong_logins(web: WebCase, username: str) -> None:
    assert login(web.client(), username, PASSWORD).status_code == 401
