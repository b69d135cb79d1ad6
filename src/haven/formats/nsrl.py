"""NIST NSRL RDSv3: a SQLite database whose ``FILE`` view (or, in the "minimal" editions, table) lists
``sha256, sha1, md5, crc32, file_name, file_size, package_id`` per known file.

NSRL is a list of *known* files (operating systems, applications), not of benign ones: it is meant for
``--kind known-good`` to hide OS and application files. Imported as ``known`` it would flag every
system file, so the importer warns (see ``expected_kind``). NSRL hashes are upper-case hex; rows for
zero-byte files (NSRL lists them) are skipped like any empty-file hash. The same hash appears once per
package: entries are not de-duplicated here, as that would cost memory proportional to the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from haven.formats.base import FormatError, Note, ParsedEntry, Skipped
from haven.formats.sqlite_db import HASH_COLUMNS, columns_of, connect_readonly, hashes_entry, is_sqlite, stream_rows

name = "nsrl"
expected_kind = "known-good"
"""The kind this format is meant for; the importer warns when a set of it is imported as another kind."""

# "FILE" followed by its column list or AS: a table or view named exactly FILE, not FILE_ or FILE_OBJECT.
_FILE_SCHEMA = re.compile(
    rb"CREATE\s+(?:TABLE|VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?[\"`\[]?FILE[\"`\]]?\s*(?:\(|AS\b)", re.I
)


def sniff(head: bytes) -> bool:
    return is_sqlite(head) and _FILE_SCHEMA.search(head) is not None


def scheme(head: bytes) -> str | None:
    return None  # NSRL has no categories


def read(path: Path) -> Iterator[ParsedEntry | Skipped | Note]:
    connection = connect_readonly(path)
    try:
        present = [column for column in HASH_COLUMNS if column in columns_of(connection, "FILE")]
        if not present:
            raise FormatError("", "no FILE table or view with md5, sha1 or sha256: not an NSRL RDSv3 database")
        selected = ", ".join(column if column in present else "NULL" for column in HASH_COLUMNS)
        for number, row in enumerate(stream_rows(connection, f'SELECT {selected} FROM "FILE"'), start=1):
            yield from hashes_entry(f"record {number}", row)
    finally:
        connection.close()
