"""Web login: passwords, sessions, throttling, timeouts, logout, first-login password change."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from haven import accounts, audit
from haven.store import Store
from haven.store.models import AuditEvent, LoginFailure, LoginSession
from haven.web.auth import record_failure
from web_fixtures import PASSWORD, WebCase, build_web_case, login, login_csrf, session_csrf

HTML = {"accept": "text/html"}


@pytest.fixture
def web(store: Store, tmp_path: Path) -> WebCase:
    return build_web_case(store, tmp_path / "home", images=2)


def session_cookie_header(response) -> str:
    cookies = [c for c in response.headers.get_list("set-cookie") if c.startswith("haven_session=")]
    assert len(cookies) == 1, cookies
    return cookies[0]


def session_rows(web: WebCase) -> list[LoginSession]:
    with web.store.session() as session:
        return list(session.scalars(select(LoginSession)))


# ---------------------------------------------------------------- login


def test_login_with_the_right_password_sets_a_secure_httponly_strict_session_cookie(web: WebCase) -> None:
    client = web.client()
    response = login(client, "member-reviewer", PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"] == "/cases"
    flags = [part.strip().lower() for part in session_cookie_header(response).split(";")]
    assert "secure" in flags
    assert "httponly" in flags
    assert "samesite=strict" in flags
    assert "path=/" in flags
    assert client.get("/cases").status_code == 200


def test_the_store_keeps_only_a_sha256_of_the_session_token(web: WebCase) -> None:
    client = web.login("reviewer")
    token = client.cookies.get("haven_session")
    assert token and len(token) >= 40
    (row,) = session_rows(web)
    assert row.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (row.token_sha256, row.csrf_token)


def test_passwords_are_stored_as_argon2id_hashes(web: WebCase) -> None:
    with web.store.session() as session:
        user = accounts.get_user(session, "member-reviewer")
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
        assert accounts.verify_password(user.password_hash, PASSWORD)
        assert not accounts.verify_password(user.password_hash, PASSWORD + "x")
    # Production parameters (tests swap in cheap ones; see web_fixtures): RFC 9106 low-memory argon2id.
    params = accounts.DEFAULT_HASHER
    assert (params.time_cost, params.memory_cost, params.parallelism) >= (3, 65536, 1)
    assert accounts.DEFAULT_HASHER.hash("x").startswith("$argon2id$v=19$m=65536,t=3")


@pytest.mark.parametrize(("username", "password"), [("member-reviewer", "wrong password!"), ("nobody", PASSWORD)])
def test_a_wrong_password_or_unknown_user_is_refused_with_the_same_words(
    web: WebCase, username: str, password: str
) -> None:
    client = web.client()
    response = login(client, username, password)
    assert response.status_code == 401
    assert "Wrong user name or password." in response.text
    assert client.cookies.get("haven_session") is None
    assert session_rows(web) == []
    assert client.get("/cases", headers=HTML).status_code == 303


def test_a_disabled_user_cannot_log_in_and_their_open_sessions_end(web: WebCase) -> None:
    client = web.login("reviewer")
    with web.store.session() as session:
        accounts.disable_user(session, "member-reviewer", by="tester")
    assert client.get("/cases").status_code == 401
    assert login(web.client(), "member-reviewer", PASSWORD).status_code == 401


def test_next_goes_back_to_the_page_asked_for_but_never_off_site(web: WebCase) -> None:
    client = web.client()
    first = client.get("/account", headers=HTML)
    assert first.status_code == 303
    assert first.headers["location"] == "/login?next=%2Faccount"
    for target, expected in [
        ("/account", "/account"),
        ("//evil.example/x", "/cases"),
        ("https://evil.example", "/cases"),
    ]:
        client = web.client()
        token = login_csrf(client)
        response = client.post(
            "/login", data={"username": "member-reviewer", "password": PASSWORD, "csrf_token": token, "next": target}
        )
        assert response.headers["location"] == expected


# ---------------------------------------------------------------- throttling


def test_five_failures_lock_the_name_for_this_client_even_for_the_right_password(web: WebCase) -> None:
    client = web.client()
    for _ in range(5):
        assert login(client, "member-reviewer", "wrong password!").status_code in (401, 429)
    locked = login(client, "member-reviewer", PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed attempts" in locked.text
    # Another user from the same client is not locked.
    assert login(web.client(), "member-investigator", PASSWORD).status_code == 303
    web.clock.advance(seconds=61)
    assert login(client, "member-reviewer", PASSWORD).status_code == 303
    with web.store.session() as session:
        assert session.scalars(select(LoginFailure)).all() == []  # a success clears the count


def test_the_lock_grows_with_each_further_failure(web: WebCase) -> None:
    client = web.client()
    for _ in range(5):
        login(client, "member-reviewer", "wrong password!")
    web.clock.advance(seconds=61)
    assert login(client, "member-reviewer", "wrong again!!!").status_code == 429  # 6th failure: 2 minutes
    web.clock.advance(seconds=61)
    assert login(client, "member-reviewer", PASSWORD).status_code == 429
    web.clock.advance(seconds=60)
    assert login(client, "member-reviewer", PASSWORD).status_code == 303


def test_failed_and_locked_logins_are_audited(web: WebCase) -> None:
    client = web.client()
    for _ in range(6):
        login(client, "member-reviewer", "wrong password!")
    with web.store.session() as session:
        actions = list(
            session.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.chain == audit.GLOBAL_CHAIN, AuditEvent.user == "member-reviewer"
                )
            )
        )
        assert actions.count("login.failed") == 5
        assert actions.count("login.locked") == 1
        assert audit.verify_chain(session, audit.GLOBAL_CHAIN)[1] is None


# ---------------------------------------------------------------- timeouts and logout


def test_idle_timeout_ends_the_session_but_activity_keeps_it(web: WebCase) -> None:
    client = web.login("reviewer")
    for _ in range(3):
        web.clock.advance(minutes=29)
        assert client.get("/cases").status_code == 200
    web.clock.advance(minutes=31)
    response = client.get("/cases", headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    assert session_rows(web) == []  # the ended session is removed, not just ignored
    assert client.get("/cases").status_code == 401


def test_a_session_ends_after_its_absolute_lifetime_however_active(web: WebCase) -> None:
    client = web.login("reviewer")
    for _ in range(35):  # 35 x 20 min = 11 h 40
        web.clock.advance(minutes=20)
        assert client.get("/cases").status_code == 200
    web.clock.advance(minutes=20)
    assert client.get("/cases").status_code == 401


def test_logout_deletes_the_session_and_the_old_cookie_is_worthless(web: WebCase) -> None:
    client = web.login("reviewer")
    token = client.cookies.get("haven_session")
    response = client.post("/logout", headers=web.csrf_headers(client))
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert session_rows(web) == []
    replay = web.client()
    assert replay.get("/cases", headers={"cookie": f"haven_session={token}"}).status_code == 401


# ---------------------------------------------------------------- first login: must change password


def test_the_bootstrap_admin_must_change_the_one_time_password_first(web: WebCase) -> None:
    with web.store.session() as session:
        assert accounts.bootstrap_admin(session, by="tester") is None
        one_time = accounts.generate_password()
        accounts.create_user(session, "admin", one_time, role="admin", by="tester", must_change_password=True)
        accounts.add_member(session, web.case_ref, "admin", role="admin", by="tester")
    client = web.client()
    response = login(client, "admin", one_time)
    assert response.headers["location"] == "/account/password"
    assert client.get("/cases", headers=HTML).headers["location"] == "/account/password"
    assert client.get("/account/preferences", headers=HTML).headers["location"] == "/account/password"
    assert client.get("/cases").status_code == 403  # not a browser page: refused, not redirected
    page = client.get("/account/password", headers=HTML)
    assert page.status_code == 200
    assert "one-time password" in page.text
    token = session_csrf_from(page.text)
    wrong = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": "nope",
            "new_password": "x" * 14,
            "new_password_again": "x" * 14,
        },
    )
    assert wrong.status_code == 400
    short = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": one_time,
            "new_password": "short",
            "new_password_again": "short",
        },
    )
    assert short.status_code == 400
    new = "a much better passphrase"
    done = client.post(
        "/account/password",
        data={"csrf_token": token, "current_password": one_time, "new_password": new, "new_password_again": new},
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/cases"
    assert client.get("/cases").status_code == 200
    assert login(web.client(), "admin", one_time).status_code == 401
    assert login(web.client(), "admin", new).status_code == 303
    with web.store.session() as session:
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.chain == audit.GLOBAL_CHAIN)))
        assert "user.password" in actions


def session_csrf_from(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_changing_the_password_ends_the_users_other_sessions(web: WebCase) -> None:
    first, second = web.login("reviewer"), web.login("reviewer")
    new = "another long passphrase"
    response = first.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": new, "new_password_again": new},
        headers=web.csrf_headers(first),
    )
    assert response.status_code == 303
    assert first.get("/cases").status_code == 200
    assert second.get("/cases").status_code == 401


# ---------------------------------------------------------------- preferences


def test_wellbeing_preferences_are_saved_per_user_and_reach_every_page(web: WebCase) -> None:
    client = web.login("reviewer")
    page = client.get("/cases")
    assert 'data-blur="true"' in page.text and 'data-greyscale="true"' in page.text  # protective defaults
    response = client.post(
        "/account/preferences", data={"greyscale": "1", "break_minutes": "25"}, headers=web.csrf_headers(client)
    )
    assert response.status_code == 200
    page = client.get("/cases")
    assert 'data-blur="false"' in page.text
    assert 'data-greyscale="true"' in page.text
    assert 'data-break-minutes="25"' in page.text
    other = web.login("investigator").get("/cases")
    assert 'data-blur="true"' in other.text
    assert session_csrf(client)


def test_ended_sessions_and_old_failure_counts_are_purged_at_the_next_login(web: WebCase) -> None:
    web.login("reviewer")
    login(web.client(), "member-investigator", "wrong password!")
    web.clock.advance(minutes=31)
    web.login("admin")
    assert [row.user_id for row in session_rows(web)] == [_user_id(web, "member-admin")]
    with web.store.session() as session:
        assert len(session.scalars(select(LoginFailure)).all()) == 1  # younger than 24 h: kept
    web.clock.advance(hours=25)
    web.login("admin")
    with web.store.session() as session:
        assert session.scalars(select(LoginFailure)).all() == []


def _user_id(web: WebCase, name: str) -> int:
    with web.store.session() as session:
        return accounts.get_user(session, name).id


def test_a_lock_set_while_a_right_password_is_being_checked_still_refuses_it(
    web: WebCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parallel guesses: the lock-out is read again before a success is granted."""
    real_verify = accounts.verify_password

    def verify_while_others_fail(stored: str | None, password: str) -> bool:
        with web.store.session() as session:  # five wrong guesses from the same client land meanwhile
            for _ in range(5):
                record_failure(session, "member-reviewer", "testclient", web.clock())
        return real_verify(stored, password)

    monkeypatch.setattr(accounts, "verify_password", verify_while_others_fail)
    response = login(web.client(), "member-reviewer", PASSWORD)
    assert response.status_code == 429
    assert session_rows(web) == []
