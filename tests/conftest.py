"""Shared fixtures: stores on SQLite and PostgreSQL, and a Haven environment for CLI tests.

PostgreSQL comes from HAVEN_TEST_PG_URL (`make test` starts a private server and sets it). Without it,
or when the server does not answer, the PostgreSQL variants are skipped with the reason (see `pytest -ra`).
Every PostgreSQL test gets a fresh database of its own, so tests are isolated and xdist-safe.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from backends import BACKENDS, fresh_pg_database
from haven.store import Store, open_store

# Rich wraps CLI output at 80 columns when there is no terminal; pytest's (and xdist's) long tmp paths
# would then be split across lines. Set before the test modules import haven.cli and build its Consoles.
os.environ["COLUMNS"] = "200"


def _libpq_url(sqlalchemy_url: str, database: str | None = None) -> str:
    """postgresql+psycopg://... -> a libpq URI that psycopg.connect accepts."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_url() -> str:
    """SQLAlchemy URL of the PostgreSQL test server's admin database; skips when there is none."""
    url = os.environ.get("HAVEN_TEST_PG_URL")
    if not url:
        pytest.skip("PostgreSQL: HAVEN_TEST_PG_URL is not set (run `make test`, or scripts/pg.sh start)")
    try:
        with psycopg.connect(_libpq_url(url), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL: no answer at {url}: {str(exc).strip()}")
    return url


@pytest.fixture
def pg_database_url(pg_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    with fresh_pg_database(pg_url) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL, once per backend: tests using it run as test_x[sqlite] and test_x[postgresql]."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/haven.db"
    return request.getfixturevalue("pg_database_url")


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A migrated store on each backend."""
    s = open_store(store_url)
    try:
        yield s
    finally:
        s.dispose()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store, for tests that need no PostgreSQL variant."""
    s = open_store(f"sqlite:///{tmp_path}/haven.db")
    try:
        yield s
    finally:
        s.dispose()


@dataclass(frozen=True)
class HavenEnv:
    home: Path
    url: str


@pytest.fixture
def haven_env(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HavenEnv:
    """HAVEN_HOME and HAVEN_DATABASE_URL set for CLI tests (on each backend); HAVEN_USER is fixed."""
    home = tmp_path / "haven-home"
    home.mkdir()
    monkeypatch.setenv("HAVEN_HOME", str(home))
    monkeypatch.setenv("HAVEN_DATABASE_URL", store_url)
    monkeypatch.setenv("HAVEN_USER", "tester")
    return HavenEnv(home=home, url=store_url)
