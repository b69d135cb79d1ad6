"""Sleuth Kit / Autopsy SQLite hash databases (``.kdb``).

Schema (tsk/hashdb/sqlite_hdb.cpp, "Schema Version" 1): ``hashes(id, md5 BINARY(16) UNIQUE, sha1,
sha2_256)`` with ``file_names(name, hash_id)``, ``comments(comment, hash_id)`` and
``properties(name, value)``. The Sleuth Kit writes MD5 as 16 raw bytes; databases made by other
tools hold hex text, so both are read. sha1 and sha2_256 exist in the schema but are usually NULL.
A .kdb says nothing about whether it lists known-bad or known-good files: the ``--kind`` decides.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from haven.formats.base import FormatError, Note, ParsedEntry, Skipped
from haven.formats.sqlite_db import columns_of, connect_readonly, hashes_entry, is_sqlite, stream_rows

name = "kdb"

# The hashes table's CREATE statement with an md5 column before any ")" (so within its own column list).
_HASHES_SCHEMA = re.compile(
    rb"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?[\"`\[]?hashes[\"`\]]?\s*\([^)]*?\bmd5\b", re.I
)
_COLUMNS = {"md5": "md5", "sha1": "sha1", "sha256": "sha2_256"}  # entry column -> .kdb column


def sniff(head: bytes) -> bool:
    return is_sqlite(head) and _HASHES_SCHEMA.search(head) is not None


def scheme(head: bytes) -> str | None:
    return None  # a .kdb has comments, not categories


def read(path: Path) -> Iterator[ParsedEntry | Skipped | Note]:
    connection = connect_readonly(path)
    try:
        present = columns_of(connection, "hashes")
        if "md5" not in present:
            raise FormatError("", "no hashes table with an md5 column: not a Sleuth Kit hash database")
        selected = ", ".join(column if column in present else "NULL" for column in _COLUMNS.values())
        sql = f"SELECT {selected} FROM hashes ORDER BY rowid"
        for number, row in enumerate(stream_rows(connection, sql), start=1):
            yield from hashes_entry(f"record {number}", row)
    finally:
        connection.close()
