"""Build synthetic SQLite hash databases for tests: NSRL RDSv3 (full and minimal) and Sleuth Kit .kdb.

Schemas follow the real ones (RDSv3's FILE view over its tables; tsk/hashdb/sqlite_hdb.cpp for .kdb);
every hash is made up by ``fake_hash`` and every file name is invented.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

NsrlRow = tuple[str | None, str | None, str | None]  # (sha256, sha1, md5) as written, upper-case like NIST's
KdbRow = tuple[bytes | str | None, bytes | str | None, bytes | str | None]  # (md5, sha1, sha2_256)


def write_nsrl(path: Path, rows: Iterable[NsrlRow], *, minimal: bool = False) -> Path:
    """An RDSv3 database: full (tables FILE_, PKG, METADATA and ``CREATE VIEW FILE``) or minimal (table FILE)."""
    file_table = "FILE" if minimal else "FILE_"
    with sqlite3.connect(path) as db:
        if not minimal:
            db.execute("CREATE TABLE METADATA (key VARCHAR NOT NULL, value VARCHAR)")
            db.execute("INSERT INTO METADATA VALUES ('version', 'RDSv3 synthetic test')")
            db.execute("CREATE TABLE PKG (package_id INTEGER PRIMARY KEY, name VARCHAR, version VARCHAR)")
            db.execute("INSERT INTO PKG VALUES (1, 'Synthetic Suite', '1.0')")
        db.execute(
            f"CREATE TABLE {file_table} (sha256 VARCHAR, sha1 VARCHAR, md5 VARCHAR, crc32 VARCHAR,"
            " file_name VARCHAR, file_size INTEGER, package_id INTEGER)"
        )
        if not minimal:
            db.execute(
                "CREATE VIEW FILE AS SELECT sha256, sha1, md5, crc32, file_name, file_size, package_id FROM FILE_"
            )
        db.executemany(
            f"INSERT INTO {file_table} VALUES (?, ?, ?, '00000000', ?, 100, 1)",
            ((sha256, sha1, md5, f"file{index}.dll") for index, (sha256, sha1, md5) in enumerate(rows)),
        )
    return path


def write_kdb(path: Path, rows: Iterable[KdbRow]) -> Path:
    """A Sleuth Kit SQLite hash database (schema version 1), one file name and comment per hash."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE properties (name TEXT NOT NULL, value TEXT)")
        db.executemany("INSERT INTO properties VALUES (?, ?)", [("Schema Version", "1"), ("Hash Type", "md5")])
        db.execute(
            "CREATE TABLE hashes (id INTEGER PRIMARY KEY AUTOINCREMENT, md5 BINARY(16) UNIQUE,"
            " sha1 BINARY(20), sha2_256 BINARY(32))"
        )
        db.execute("CREATE TABLE file_names (name TEXT NOT NULL, hash_id INTEGER NOT NULL)")
        db.execute("CREATE TABLE comments (comment TEXT NOT NULL, hash_id INTEGER NOT NULL)")
        for index, row in enumerate(rows):
            hash_id = db.execute("INSERT INTO hashes (md5, sha1, sha2_256) VALUES (?, ?, ?)", row).lastrowid
            db.execute("INSERT INTO file_names VALUES (?, ?)", (f"picture{index}.jpg", hash_id))
            db.execute("INSERT INTO comments VALUES (?, ?)", ("synthetic", hash_id))
    return path
