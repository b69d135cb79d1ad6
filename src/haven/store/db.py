"""Opening the store: engine, sessions, and migrating it to the current schema."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
SCHEMA_REVISION = "0015"
"""The newest Alembic revision; a test keeps it equal to the migrations' head."""


class Store:
    """A migrated database and a session factory."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def current_revision(self) -> str | None:
        try:
            with self.engine.connect() as connection:
                return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError:
            return None  # no alembic_version table yet: a new store

    def migrate(self) -> None:
        """Bring the schema to the newest revision. Alembic is imported only when there is work to do."""
        if self.current_revision() == SCHEMA_REVISION:
            return
        from alembic import command
        from alembic.config import Config as AlembicConfig

        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")

    def refresh_statistics(self) -> None:
        """Give SQLite's planner fresh statistics. It never gathers them by itself, and without them it
        picked a scan over all of a case's contents for the review grid's stack query (31 ms a page at
        100,000 items, 0.2 ms with them). ``analysis_limit`` samples each index, so this stays well under
        a second even beside 10-million-entry hash sets. PostgreSQL's autovacuum does this on its own."""
        if self.dialect != "sqlite":
            return
        with self.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA analysis_limit=1000")
            connection.exec_driver_sql("ANALYZE")
            connection.commit()

    def dispose(self) -> None:
        self.engine.dispose()


SQLITE_PAGE_SIZE = 16384


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # A new store's page size (an existing one keeps its own; WAL fixes it, so this comes first). Hash
    # sets of millions of rows are most of a store: with 16 KiB pages a million-entry VICS import ran
    # about a second faster of eight (fewer pages to spill, checkpoint and sort into indexes).
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
    # WAL: readers (report, web app) never block the ingest writer; NORMAL is crash-safe under WAL.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def open_store(url: str, migrate: bool = True) -> Store:
    store = Store(make_engine(url))
    if migrate:
        store.migrate()
    return store
