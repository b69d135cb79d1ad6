"""The two store backends for tests: a fresh PostgreSQL database, and one migrated store per backend for
module-scoped fixtures (conftest's ``store`` fixture is per test)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from haven.store import Store, open_store

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
"""``params=BACKENDS``: the fixture runs once on SQLite and once on PostgreSQL."""


@contextmanager
def fresh_pg_database(pg_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the test server, dropped (even if in use) afterwards."""
    admin_url = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"haven_t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def backend_store(request: pytest.FixtureRequest, root: Path) -> Iterator[Store]:
    """A migrated store on the backend ``request.param`` names (a fixture with ``params=BACKENDS``)."""
    with _backend_url(request, root) as url:
        store = open_store(url)
        try:
            yield store
        finally:
            store.dispose()


@contextmanager
def _backend_url(request: pytest.FixtureRequest, root: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{root}/haven.db"
        return
    with fresh_pg_database(request.getfixturevalue("pg_url")) as url:
        yield url
