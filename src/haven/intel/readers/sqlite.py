"""SQLite databases (chat apps, browser histories, seized customer databases): every text value of every
table, each row a record ``TABLE:rowid=N`` whose fields are its columns. The database is opened from a
private copy under the scratch directory, read-only and immutable: the evidence is never opened by SQLite
(which could write a journal beside it) and the copy is deleted afterwards."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from haven.intel.readers.base import Body, Item, ReaderError, ReadLimits, Record, Segment, hint_for

NAME = "sqlite"
MAGIC = b"SQLite format 3\x00"
FETCH = 2_000


def read(body: Body, limits: ReadLimits) -> Iterator[Item]:
    with body.spool() as path:
        try:
            connection = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro&immutable=1", uri=True)
        except sqlite3.Error as exc:
            raise ReaderError(f"corrupt SQLite database: {exc}") from exc
        try:
            connection.text_factory = lambda raw: raw.decode("utf-8", errors="replace")
            tables = [
                row[0]
                for row in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
            for table in tables:
                yield from _table(connection, table, limits)
        except sqlite3.Error as exc:
            raise ReaderError(f"corrupt SQLite database: {exc}") from exc
        finally:
            connection.close()


def _table(connection: sqlite3.Connection, table: str, limits: ReadLimits) -> Iterator[Item]:
    quoted = '"' + table.replace('"', '""') + '"'
    columns = [str(row[1]) for row in connection.execute(f"PRAGMA table_info({quoted})")]
    if not columns:
        return
    hints = [hint_for(f"{table}.{column}") for column in columns]
    try:
        cursor = connection.execute(f"SELECT rowid, * FROM {quoted} ORDER BY rowid")
        with_rowid = True
    except sqlite3.OperationalError:  # WITHOUT ROWID tables: rows are numbered in reading order
        cursor = connection.execute(f"SELECT * FROM {quoted}")
        with_rowid = False
    number = 0
    while rows := cursor.fetchmany(FETCH):
        for row in rows:
            number += 1
            rowid = row[0] if with_rowid else number
            values = row[1:] if with_rowid else row
            record = f"{table}:rowid={rowid}"
            fields: dict[str, str] = {}
            for column, value, hint in zip(columns, values, hints, strict=False):
                if isinstance(value, str) and value.strip():
                    text = value[: limits.field_chars]
                    fields[column] = text
                    yield Segment(text, 0, 0, field=f"{table}.{column}", record=record, hint=hint)
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    fields[column] = str(value)
            if any(isinstance(v, str) and v.strip() for v in values):
                yield Record(record, fields)
