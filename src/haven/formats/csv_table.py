"""Delimited tables with a header row naming their columns: ICSE-style baselines, spreadsheet exports,
EnCase table exports.

The header decides everything; columns may come in any order, separated by commas, tabs, semicolons
or pipes, and are recognised case-insensitively by these names (spaces, dashes and underscores ignored):
- MD5, SHA1 / SHA-1, SHA256 / SHA-256, PDQ: hashes, checked for length and hex; "Hash" / "Hash Value"
  (EnCase's column) holds MD5, SHA-1 or SHA-256 by its length;
- PhotoDNA: stored, never matched;
- Category; SeriesName / Series; VictimIdentified; OffenderIdentified (true/false, yes/no, 1/0, Y/N);
- Tags, Comments, and EnCase's Hash Set / Hash Category: joined into ``tags``.
An ICSE baseline (``MD5, SHA1, photoDNA, SeriesName, VictimIdentified, OffenderIdentified`` and maybe
Category) is such a table. File names and paths (Name, File Name, Path, ...) are never stored, and
other columns are listed once in a note.

A row without a usable MD5, SHA-1, SHA-256 or PDQ is skipped (PhotoDNA alone would never match). A bad
second hash or an unreadable flag is dropped from a row that is kept, with a note; every skip and note
names its line.

Detection: the first line must be a header naming a hash column and at least one more known column
("MD5,Category" is a table; a lone "MD5" line stays a plain list's header). HMA CSV and HashKeeper are
recognised by their own fixed headers first. Tables come before signal lists, which would otherwise
take an "md5,category" header for a ``<signal type> <hash>`` line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from haven.formats import delimited
from haven.formats.base import (
    ALGORITHM_BY_LENGTH,
    NEVER_IMPORT,
    FormatError,
    Note,
    ParsedEntry,
    Skipped,
    check_category,
    is_hex,
    new_entry,
    shorten,
)

name = "csv"

ANY_HASH = "hash"  # a column whose values are MD5, SHA-1 or SHA-256 by length
DROPPED = "dropped"  # file names and paths: read past, never stored
COLUMNS = {
    **dict.fromkeys(("md5", "md5hash", "hashmd5", "md5sum"), "md5"),
    **dict.fromkeys(("sha1", "sha1hash", "hashsha1"), "sha1"),
    **dict.fromkeys(("sha256", "sha256hash", "hashsha256"), "sha256"),
    **dict.fromkeys(("pdq", "pdqhash"), "pdq"),
    **dict.fromkeys(("photodna", "photodnahash"), "photodna"),
    **dict.fromkeys(("hash", "hashvalue", "hashes"), ANY_HASH),
    **dict.fromkeys(("category", "categoryid", "vicscategory"), "category"),
    **dict.fromkeys(("seriesname", "series"), "series"),
    **dict.fromkeys(("victimidentified", "victimidentifiedflag"), "victim_identified"),
    **dict.fromkeys(("offenderidentified", "offenderidentifiedflag"), "offender_identified"),
    **dict.fromkeys(("tags", "tag", "comments", "comment", "hashset", "hashsets", "hashcategory"), "tags"),
    **dict.fromkeys(("name", "filename", "file", "path", "fullpath", "filepath", "directory"), DROPPED),
}
HASH_FIELDS = ("md5", "sha1", "sha256", "pdq")
WIDTH = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}
LABEL = {
    "md5": "MD5",
    "sha1": "SHA1",
    "sha256": "SHA256",
    "pdq": "PDQ",
    ANY_HASH: "Hash",
    "victim_identified": "VictimIdentified",
    "offender_identified": "OffenderIdentified",
}
FLAGS = {"true": True, "yes": True, "y": True, "1": True, "false": False, "no": False, "n": False, "0": False}
_LONG_HEX = re.compile(r"[0-9a-fA-F]{32}")


def column_field(header: str) -> str | None:
    return COLUMNS.get(re.sub(r"[^a-z0-9]", "", header.lower()))


def sniff(head: bytes) -> bool:
    header = delimited.head_header(head)
    if len(header) < 2 or any(_LONG_HEX.search(cell) for cell in header):
        return False
    fields = [column_field(cell) for cell in header]
    hashes = [f for f in fields if f in HASH_FIELDS or f == ANY_HASH]
    return bool(hashes) and len([f for f in fields if f is not None]) >= 2


def scheme(head: bytes) -> str | None:
    return None  # a table does not say which category scheme its codes are in


def read(path: Path) -> Iterator[ParsedEntry | Skipped | Note]:
    layout: dict[int, str] | None = None
    for row in delimited.rows(path):
        if isinstance(row, Skipped):
            yield row
            continue
        number, cells = row
        if layout is None:
            layout, ignored = _layout(cells, number)
            if ignored:
                yield Note("header", f"columns not imported: {', '.join(ignored)}")
            continue
        if not any(cells):
            continue
        yield from parse_row(cells, layout, f"line {number}")


def _layout(header: list[str], number: int) -> tuple[dict[int, str], list[str]]:
    """Column index -> entry field, and the columns that are not read."""
    layout: dict[int, str] = {}
    ignored: list[str] = []
    for index, cell in enumerate(header):
        field = column_field(cell)
        if field is None or field == DROPPED:
            ignored.append(shorten(cell) + (" (file names are never stored)" if field == DROPPED else ""))
        elif field != "tags" and field in layout.values():
            ignored.append(f"{shorten(cell)} (a second {LABEL.get(field, field)} column)")
        else:
            layout[index] = field
    if not any(f in HASH_FIELDS or f == ANY_HASH for f in layout.values()):
        raise FormatError(f"line {number}", "the header names no MD5, SHA1, SHA256, PDQ or Hash column")
    return layout, ignored


def parse_row(cells: list[str], layout: dict[int, str], where: str) -> Iterator[ParsedEntry | Skipped | Note]:
    """The entry of one row and notes on what it dropped, or a Skipped saying why there is none."""
    entry = new_entry()
    problems: list[str] = []  # bad hashes: notes when the row is kept, the reason when it is not
    notes: list[Note] = []
    tags: list[str] = []
    for index, field in layout.items():
        value = cells[index] if index < len(cells) else ""
        if not value:
            continue
        if field in HASH_FIELDS or field == ANY_HASH:
            column, problem = _hash(field, value)
            if problem:
                problems.append(problem)
            elif entry[column] is None:  # type: ignore[literal-required]
                entry[column] = value.lower()  # type: ignore[literal-required]
        elif field in ("victim_identified", "offender_identified"):
            flag = FLAGS.get(value.lower())
            if flag is None:
                notes.append(Note(where, f"{LABEL[field]} {shorten(value)} is not true/false, yes/no or 1/0; dropped"))
            entry[field] = flag  # type: ignore[literal-required]
        elif field == "tags":
            tags.append(value)
        else:  # category, series, photodna
            entry[field] = value  # type: ignore[literal-required]
    if not any(entry[f] for f in HASH_FIELDS):  # type: ignore[literal-required]
        if problems:
            yield Skipped(where, "; ".join(problems))
        else:
            yield Skipped(where, "no MD5, SHA1, SHA256 or PDQ (PhotoDNA alone is never matched)")
        return
    reason = check_category(entry["category"])
    if reason:
        yield Skipped(where, reason)
        return
    entry["tags"] = "; ".join(tags) or None
    yield entry
    yield from notes
    for problem in problems:
        yield Note(where, f"{problem}; dropped")


def _hash(field: str, value: str) -> tuple[str, str | None]:
    """(entry column, problem or None) for one hash cell."""
    digest = value.lower()
    column = ALGORITHM_BY_LENGTH.get(len(digest), "md5") if field == ANY_HASH else field
    label = LABEL[field]
    if not is_hex(digest):
        return column, f"{label} {shorten(value)} is not hexadecimal"
    if field == ANY_HASH and len(digest) not in ALGORITHM_BY_LENGTH:
        return column, f"{label} {shorten(value)} has {len(digest)} hex digits; expected 32, 40 or 64"
    if field != ANY_HASH and len(digest) != WIDTH[field]:
        return column, f"{label} {shorten(value)} has {len(digest)} hex digits; expected {WIDTH[field]}"
    if digest in NEVER_IMPORT:
        return column, NEVER_IMPORT[digest]
    return column, None
