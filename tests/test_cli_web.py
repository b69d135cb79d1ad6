"""Web-app commands: haven user ..., haven case add-member/members, bootstrap admin, haven serve."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from conftest import HavenEnv
from haven import accounts, audit
from haven.cli import app
from haven.cli_web import is_loopback
from haven.store import open_store
from haven.store.models import AppUser, AuditEvent

runner = CliRunner()
GOOD = "a long enough password"


def users(env: HavenEnv) -> dict[str, AppUser]:
    store = open_store(env.url)
    try:
        with store.session() as session:
            return {u.name: u for u in session.scalars(select(AppUser))}
    finally:
        store.dispose()


def global_actions(env: HavenEnv) -> list[str]:
    store = open_store(env.url)
    try:
        with store.session() as session:
            assert audit.verify_chain(session, audit.GLOBAL_CHAIN)[1] is None
            return list(
                session.scalars(
                    select(AuditEvent.action).where(AuditEvent.chain == audit.GLOBAL_CHAIN).order_by(AuditEvent.seq)
                )
            )
    finally:
        store.dispose()


def test_user_add_reads_the_password_from_standard_input(haven_env: HavenEnv) -> None:
    result = runner.invoke(app, ["user", "add", "alice", "--role", "investigator"], input=GOOD + "\nignored\n")
    assert result.exit_code == 0, result.output
    alice = users(haven_env)["alice"]
    assert alice.role == "investigator"
    assert not alice.must_change_password and not alice.disabled
    assert alice.password_hash.startswith("$argon2id$")
    assert accounts.verify_password(alice.password_hash, GOOD)
    assert global_actions(haven_env) == ["user.add"]


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["user", "add", "bob"], "short\n", "at least 12 characters"),
        (["user", "add", "bob"], "", "no password on standard input"),
        (["user", "add", "bo b"], GOOD + "\n", "invalid user name"),
        (["user", "add", "bob", "--role", "boss"], GOOD + "\n", "boss"),
    ],
)
def test_user_add_refuses_bad_input(haven_env: HavenEnv, args: list[str], stdin: str, message: str) -> None:
    result = runner.invoke(app, args, input=stdin)
    assert result.exit_code != 0
    assert message in result.output + str(result.exception or "")
    assert "bob" not in users(haven_env)


def test_a_user_name_is_taken_once(haven_env: HavenEnv) -> None:
    assert runner.invoke(app, ["user", "add", "alice"], input=GOOD + "\n").exit_code == 0
    again = runner.invoke(app, ["user", "add", "alice"], input=GOOD + "\n")
    assert again.exit_code != 0
    assert "already exists" in str(again.exception)


def test_user_list_and_disable(haven_env: HavenEnv) -> None:
    runner.invoke(app, ["user", "add", "alice", "--role", "admin"], input=GOOD + "\n")
    runner.invoke(app, ["user", "add", "bob"], input=GOOD + "\n")
    assert runner.invoke(app, ["user", "disable", "bob"]).exit_code == 0
    listing = runner.invoke(app, ["user", "list"])
    assert listing.exit_code == 0
    lines = {line.split()[1]: line for line in listing.output.splitlines() if "alice" in line or "bob" in line}
    assert "admin" in lines["alice"] and "active" in lines["alice"]
    assert "disabled" in lines["bob"]
    assert users(haven_env)["bob"].disabled
    assert global_actions(haven_env) == ["user.add", "user.add", "user.disable"]
    assert runner.invoke(app, ["user", "disable", "nobody"]).exit_code != 0


def test_case_add_member_and_members(haven_env: HavenEnv) -> None:
    assert runner.invoke(app, ["case", "create", "OP-1"]).exit_code == 0
    runner.invoke(app, ["user", "add", "alice"], input=GOOD + "\n")
    added = runner.invoke(app, ["case", "add-member", "OP-1", "alice", "--role", "investigator"])
    assert added.exit_code == 0, added.output
    changed = runner.invoke(app, ["case", "add-member", "OP-1", "alice", "--role", "reviewer"])
    assert changed.exit_code == 0
    members = runner.invoke(app, ["case", "members", "OP-1"])
    row = next(line for line in members.output.splitlines() if "alice" in line)
    cells = [cell.strip() for cell in row.split("│") if cell.strip()]
    assert cells[:4] == ["alice", "reviewer", "reviewer", "active"]  # user, case role, global role, state
    assert runner.invoke(app, ["case", "add-member", "NO-CASE", "alice"]).exit_code != 0
    assert runner.invoke(app, ["case", "add-member", "OP-1", "nobody"]).exit_code != 0
    store = open_store(haven_env.url)
    try:
        with store.session() as session:
            actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.chain == "case:OP-1")))
    finally:
        store.dispose()
    assert actions == ["case.create", "case.member.add", "case.member.role"]


def test_bootstrap_admin_prints_a_one_time_password_once(haven_env: HavenEnv) -> None:
    first = runner.invoke(app, ["user", "bootstrap-admin"])
    assert first.exit_code == 0
    password = first.output.splitlines()[1].strip()
    assert len(password) >= 20
    admin = users(haven_env)["admin"]
    assert admin.role == "admin" and admin.must_change_password
    assert accounts.verify_password(admin.password_hash, password)
    second = runner.invoke(app, ["user", "bootstrap-admin"])
    assert second.exit_code == 0
    assert password not in second.output
    assert "no admin created" in second.output
    assert len(users(haven_env)) == 1
    assert global_actions(haven_env) == ["user.add"]


def test_bootstrap_admin_bare_prints_only_the_password(haven_env: HavenEnv) -> None:
    result = runner.invoke(app, ["user", "bootstrap-admin", "--bare"])
    (password,) = result.output.split()
    assert accounts.verify_password(users(haven_env)["admin"].password_hash, password)


def test_bootstrap_admin_does_nothing_when_users_exist(haven_env: HavenEnv) -> None:
    runner.invoke(app, ["user", "add", "alice", "--role", "admin"], input=GOOD + "\n")
    result = runner.invoke(app, ["user", "bootstrap-admin", "--bare"])
    assert result.exit_code == 0
    assert set(users(haven_env)) == {"alice"}


def test_serve_refuses_a_non_loopback_address_without_allow_remote(haven_env: HavenEnv) -> None:
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code != 0
    assert "--allow-remote" in str(result.exception)
    assert users(haven_env) == {}  # refused before touching the store


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.10", False),
        ("::", False),
        ("example.org", False),
    ],
)
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_haven_serve_runs_for_real_and_creates_the_first_admin(tmp_path: Path) -> None:
    """A real `haven serve` process on a free port (SQLite): health, login page, headers."""
    port = _free_port()
    env = os.environ | {"HAVEN_HOME": str(tmp_path / "home"), "HAVEN_USER": "tester"}
    env.pop("HAVEN_DATABASE_URL", None)
    haven = Path(sys.executable).with_name("haven")
    process = subprocess.Popen(
        [str(haven), "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert health is not None, "haven serve did not answer"
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        page = httpx.get(f"http://127.0.0.1:{port}/login", timeout=5)
        assert page.status_code == 200 and 'name="username"' in page.text
        assert page.headers["x-frame-options"] == "DENY"
        assert "server" not in page.headers
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert "ONE-TIME password" in output
    assert output.count("ONE-TIME") == 1
