"""What the SQLite-based hash databases (NSRL RDSv3, Sleuth Kit / Autopsy .kdb) share.

Detection sees only the first ``HEAD_SIZE`` bytes, so it looks for the SQLite header and for the
``CREATE`` statement of the table it needs: SQLite keeps the schema's SQL as plain text in the first
pages. A schema pushed further into the file (rare) is still readable with an explicit ``--format``.
The database is opened read-only and immutable: evidence-grade input is never written to, no journal
or lock file is created next to it, and the importer checks separately that the file did not change.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

from haven.formats.base import (
    ALGORITHM_BY_LENGTH,
    LABELS,
    NEVER_IMPORT,
    FormatError,
    Note,
    ParsedEntry,
    Skipped,
    is_hex,
    new_entry,
    shorten,
)

SQLITE_MAGIC = b"SQLite format 3\x00"
FETCH_ROWS = 5_000  # rows per fetchmany: memory stays flat on multi-GB NSRL files
HASH_COLUMNS = ("md5", "sha1", "sha256")
_LENGTH = {algorithm: length for length, algorithm in ALGORITHM_BY_LENGTH.items()}


def is_sqlite(head: bytes) -> bool:
    return head.startswith(SQLITE_MAGIC)


def connect_readonly(path: Path) -> sqlite3.Connection:
    """The database at ``path``, read-only and immutable (no journal, no locks, nothing written)."""
    try:
        # check_same_thread off: the importer may iterate a reader in a worker thread and the generator's
        # close (which closes this connection) may come from another; the generator serialises all use.
        uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
        connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()  # fails now if not a database
    except sqlite3.DatabaseError as error:
        raise FormatError("", f"not a readable SQLite database: {error}") from error
    return connection


def columns_of(connection: sqlite3.Connection, table: str) -> list[str]:
    """Lower-cased column names of a table or view (empty when there is none)."""
    rows = connection.execute(f'PRAGMA table_info("{table}")').fetchall()
    return [str(row[1]).lower() for row in rows]


def stream_rows(connection: sqlite3.Connection, sql: str) -> Iterator[tuple[object, ...]]:
    """Rows of ``sql`` in ``FETCH_ROWS`` batches; a database error midway becomes a FormatError."""
    try:
        cursor = connection.execute(sql)
        while rows := cursor.fetchmany(FETCH_ROWS):
            yield from rows
    except sqlite3.DatabaseError as error:
        raise FormatError("", f"database read failed: {error}") from error


def hash_text(value: object) -> str | None:
    """A stored hash as lowercase hex: BLOBs (Sleuth Kit stores MD5 as 16 raw bytes) or text."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.hex() if value else None
    return str(value).strip().lower() or None


def hashes_entry(where: str, values: Sequence[object]) -> Iterator[ParsedEntry | Skipped | Note]:
    """The entry for one record's (md5, sha1, sha256), or why there is none.

    An empty-file hash in any column condemns the whole record: all its hashes describe that empty
    file. A malformed hash next to a good one is dropped with a Note, so the good one still counts.
    """
    found = {algorithm: hash_text(value) for algorithm, value in zip(HASH_COLUMNS, values, strict=True)}
    for value in found.values():
        if value in NEVER_IMPORT:
            yield Skipped(where, NEVER_IMPORT[value])
            return
    entry = new_entry()
    problems: list[str] = []
    for algorithm, value in found.items():
        if value is None:
            continue
        if len(value) == _LENGTH[algorithm] and is_hex(value):
            entry[algorithm] = value  # type: ignore[literal-required]
        else:
            problems.append(f"{LABELS[algorithm]} {shorten(value)} is not {_LENGTH[algorithm]} hex digits")
    if not any(entry[algorithm] for algorithm in HASH_COLUMNS):  # type: ignore[literal-required]
        yield Skipped(where, "; ".join(problems) or "no MD5, SHA-1 or SHA-256")
        return
    for problem in problems:
        yield Note(where, f"dropped {problem}")
    yield entry
