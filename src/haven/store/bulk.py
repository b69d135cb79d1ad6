"""Portable bulk "insert, ignoring rows that already exist" for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignore(session: Session, model: type, rows: Sequence[dict[str, Any]], conflict: Sequence[str]) -> None:
    """executemany-insert ``rows``; rows that clash on the ``conflict`` unique key are skipped."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement = postgresql.insert(model).on_conflict_do_nothing(index_elements=list(conflict))
    elif dialect == "sqlite":
        statement = sqlite.insert(model).on_conflict_do_nothing(index_elements=list(conflict))
    else:  # pragma: no cover - only the two supported back ends
        raise RuntimeError(f"unsupported database dialect {dialect}")
    session.execute(statement, list(rows))


def insert_ignore_from_select(session: Session, model: type, columns: Sequence[str], select_stmt: Any) -> None:
    """INSERT INTO model (columns) SELECT ... ON CONFLICT DO NOTHING (rowcount is not portable here)."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    session.execute(module.insert(model).from_select(list(columns), select_stmt).on_conflict_do_nothing())
