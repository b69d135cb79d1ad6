"""A web-app test world: a store with a case of synthetic ingested images, users of each role, and
logged-in TestClients on https://testserver (so the Secure session cookie flows).

Use from a test module:

    @pytest.fixture
    def web(store: Store, tmp_path: Path) -> WebCase:
        return build_web_case(store, tmp_path)

    def test_x(web: WebCase) -> None:
        client = web.login("reviewer")          # a member of web.case_ref with that case role
        client.post(..., headers=web.csrf_headers(client))

Identities (`WebCase.users`): "reviewer", "investigator", "admin" are members of `case_ref` with that
role (and that global role); "outsider" is a global admin who is a member only of `other_case_ref`.
Everyone's password is PASSWORD. The app's clock is `web.clock` (call `web.clock.advance(minutes=31)`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from haven import accounts
from haven.cases import create_case
from haven.config import Config
from haven.hashsets import import_hashset
from haven.matching.run import match_case
from haven.pipeline import ingest
from haven.store import Store
from haven.store.models import Case, Content
from haven.web.app import create_app
from media_builders import ExifFacts, jpeg_bytes, png_bytes
from victimid_fixtures import merge_example, name_example, split_example

# Cheap argon2id parameters for tests: the format is the same, only the cost differs (the production
# parameters are asserted in test_web_auth). Half a second per hash on a loaded machine adds up.
accounts.use_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))

PASSWORD = "correct horse battery staple"
BASE_URL = "https://testserver"
CASE_REF = "WEB-001"
OTHER_CASE_REF = "WEB-OTHER"
MEMBER_ROLES = ("reviewer", "investigator", "admin")
CSRF_IN_PAGE = re.compile(r'name="csrf_token" value="([^"]+)"')


class MutableClock:
    """The app's clock, moved by hand: idle timeouts and lock-outs without sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class WebCase:
    app: FastAPI
    store: Store
    config: Config
    clock: MutableClock
    case_ref: str
    other_case_ref: str
    sha256s: list[str]
    """Contents of `case_ref`, sorted."""
    known_sha256: str
    """One of them, on an imported known list (status known)."""
    users: dict[str, str] = field(default_factory=dict)
    """identity -> user name."""

    def client(self) -> TestClient:
        """An anonymous browser."""
        return TestClient(self.app, base_url=BASE_URL, follow_redirects=False)

    def login(self, identity: str, password: str = PASSWORD) -> TestClient:
        client = self.client()
        response = login(client, self.users.get(identity, identity), password)
        assert response.status_code == 303, f"login of {identity} failed: {response.status_code}"
        return client

    def csrf_headers(self, client: TestClient) -> dict[str, str]:
        return {"X-CSRF-Token": session_csrf(client)}


def login_csrf(client: TestClient) -> str:
    """GET /login: sets the login double-submit cookie; returns the token the form carries."""
    page = client.get("/login")
    match = CSRF_IN_PAGE.search(page.text)
    assert match, "login form without csrf_token"
    return match.group(1)


def login(client: TestClient, username: str, password: str) -> object:
    token = login_csrf(client)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def session_csrf(client: TestClient) -> str:
    """The logged-in session's CSRF token, as base.html hands it to htmx."""
    page = client.get("/account", headers={"accept": "text/html"})
    match = re.search(r"hx-headers='([^']+)'", page.text)
    assert match, f"no hx-headers on /account ({page.status_code})"
    return json.loads(match.group(1))["X-CSRF-Token"]


def evidence_folder(root: Path, images: int = 6) -> Path:
    """Synthetic pictures (benign, generated): JPEGs with and without EXIF, a PNG, in two folders."""
    folder = root / "evidence"
    (folder / "DCIM").mkdir(parents=True, exist_ok=True)
    (folder / "Downloads").mkdir(exist_ok=True)
    for seed in range(images):
        exif = ExifFacts() if seed % 2 == 0 else None
        (folder / "DCIM" / f"img_{seed:03d}.jpg").write_bytes(jpeg_bytes(320, 240, seed=seed + 1, exif=exif))
    (folder / "Downloads" / "picture.png").write_bytes(png_bytes(300, 200, seed=99))
    return folder


def build_web_case(store: Store, home: Path, *, images: int = 6) -> WebCase:
    """Ingest a synthetic case into `store`, add the users, and build the app on a movable clock."""
    home.mkdir(parents=True, exist_ok=True)
    config = Config(home=home, database_url=store.engine.url.render_as_string(hide_password=False), user="tester")
    evidence = evidence_folder(home, images)
    known_list = home / "known-md5.txt"
    first_picture = sorted((evidence / "DCIM").iterdir())[0].read_bytes()
    known_list.write_text(hashlib.md5(first_picture).hexdigest() + "\n")
    with store.session() as session:
        create_case(session, CASE_REF, user="tester", title="Web test case")
        create_case(session, OTHER_CASE_REF, user="tester", title="Someone else's case")
    import_hashset(store, known_list, name="web-known", user="tester")
    ingest(store, config, CASE_REF, [evidence], label="EXHIBIT-1", workers=1, show_progress=False)
    match_case(store, CASE_REF, user="tester", index_dir=config.index_dir)
    users = {role: f"member-{role}" for role in MEMBER_ROLES} | {"outsider": "outsider"}
    with store.session() as session:
        for role in MEMBER_ROLES:
            accounts.create_user(session, users[role], PASSWORD, role=role, by="tester")
            accounts.add_member(session, CASE_REF, users[role], role=role, by="tester")
        accounts.create_user(session, users["outsider"], PASSWORD, role="admin", by="tester")
        accounts.add_member(session, OTHER_CASE_REF, users["outsider"], role="admin", by="tester")
        sha256s = sorted(
            session.scalars(
                select(Content.sha256).join(Case, Case.id == Content.case_id).where(Case.reference == CASE_REF)
            )
        )
    clock = MutableClock()
    app = create_app(config, store, clock=clock)
    return WebCase(
        app=app,
        store=store,
        config=config,
        clock=clock,
        case_ref=CASE_REF,
        other_case_ref=OTHER_CASE_REF,
        sha256s=sha256s,
        known_sha256=hashlib.sha256(first_picture).hexdigest(),
        users=users,
    )


# ---------------------------------------------------------------- route examples (matrix and CSRF tests)

ExampleBody = tuple[str, dict[str, object]]  # ("form" | "json", body)

POST_EXAMPLES: dict[str, Callable[[WebCase], ExampleBody]] = {
    "/login": lambda web: ("form", {"username": web.users["reviewer"], "password": PASSWORD}),
    "/logout": lambda web: ("form", {}),
    "/account/password": lambda web: (
        "form",
        {"current_password": PASSWORD, "new_password": PASSWORD + " 2", "new_password_again": PASSWORD + " 2"},
    ),
    "/account/preferences": lambda web: ("form", {"blur": "1", "greyscale": "1", "break_minutes": "50"}),
    "/cases/{ref}/decisions": lambda web: ("form", {"category": "5", "sha256": [unknown_sha256(web)]}),
    "/cases/{ref}/decisions/undo": lambda web: ("form", {}),
    "/cases/{ref}/identities/name": name_example,
    "/cases/{ref}/identities/merge": merge_example,
    "/cases/{ref}/identities/split": split_example,
}
"""For every POST route: a body with which a user allowed on the route gets a 2xx/3xx. A POST route
without an entry fails the authorization-matrix and CSRF tests: add one with the route."""


def unknown_sha256(web: WebCase) -> str:
    """A content of the fixture case that no list knows."""
    return next(s for s in web.sha256s if s != web.known_sha256)


def example_url(web: WebCase, path: str) -> str:
    """A concrete URL for a route path: `{ref}` is the fixture case, `{sha256}` one of its contents."""
    return path.replace("{ref}", web.case_ref).replace("{sha256}", unknown_sha256(web))


def reset_password(web: WebCase, identity: str) -> None:
    """Undo an example password change, so the next login with PASSWORD works."""
    with web.store.session() as session:
        user = accounts.get_user(session, web.users.get(identity, identity))
        user.password_hash = accounts.hash_password(PASSWORD)
        user.must_change_password = False
