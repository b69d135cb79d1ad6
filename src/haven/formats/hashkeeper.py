"""HashKeeper ``.hsh`` hash lists (the US National Drug Intelligence Center's format).

Layout, as The Sleuth Kit (tsk/hashdb/hashkeeper.c: ``hk_test``, ``hk_parse_md5``) and md5deep
(files.cpp: ``HASHKEEPER_HEADER``) read it: a CSV file whose first line is the quoted header
``"file_id","hashset_id","file_name","directory","hash","file_size","date_modified","time_modified",
"time_zone","comments","date_accessed","time_accessed"``, then one row per file with the MD5 in the
``hash`` column (quoted); names and text fields are quoted and may hold commas. The set's own
description (its ``.hke`` file, keyed by ``hashset_id``) is not part of this file.

Kept: the MD5, and ``comments`` as tags. ``file_name`` and ``directory`` are never stored (a name on
someone else's disk says nothing about the content and may identify a victim); sizes, dates and ids
are not Haven's to keep.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from haven.formats import delimited
from haven.formats.base import NEVER_IMPORT, FormatError, Note, ParsedEntry, Skipped, is_hex, new_entry, shorten

name = "hashkeeper"

LEADING = ("file_id", "hashset_id", "file_name", "directory", "hash")  # what TSK's hk_test checks


def _is_header(cells: list[str]) -> bool:
    return [cell.lower() for cell in cells[: len(LEADING)]] == list(LEADING)


def sniff(head: bytes) -> bool:
    return _is_header(delimited.head_header(head))


def scheme(head: bytes) -> str | None:
    return None  # HashKeeper rows carry no category


def read(path: Path) -> Iterator[ParsedEntry | Skipped | Note]:
    position: dict[str, int] | None = None
    for row in delimited.rows(path, delimiter=","):
        if isinstance(row, Skipped):
            yield row
            continue
        number, cells = row
        if position is None:
            if not _is_header(cells):
                raise FormatError(f"line {number}", f"not a HashKeeper header ({', '.join(LEADING)}, ...)")
            header = [cell.lower() for cell in cells]
            position = {column: header.index(column) for column in ("hash", "comments") if column in header}
            continue
        parsed = parse_row(cells, position)
        yield parsed if isinstance(parsed, dict) else Skipped(f"line {number}", parsed)


def parse_row(cells: list[str], position: dict[str, int]) -> ParsedEntry | str:
    """The entry of one HashKeeper row, or why there is none."""
    index = position["hash"]
    value = cells[index] if index < len(cells) else ""
    digest = value.lower()
    if not digest:
        return "no hash"
    if len(digest) != 32 or not is_hex(digest):
        return f"hash {shorten(value)} is not an MD5 (32 hex digits)"
    if digest in NEVER_IMPORT:
        return NEVER_IMPORT[digest]
    entry = new_entry()
    entry["md5"] = digest
    comments_at = position.get("comments")
    if comments_at is not None and comments_at < len(cells):
        entry["tags"] = cells[comments_at] or None
    return entry
