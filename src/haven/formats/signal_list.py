"""Local signal lists of python-threatexchange / HMA: ``<signal type> <hash>`` per line, types mixed.

``pdq 0f1e…``, ``md5 5d41…``, ``video_md5 …`` (threatexchange's name for a file MD5), ``sha256 …``; an
optional category may follow the hash as in plain lists. A list whose lines are all ``pdq`` is the PDQ
format (formats/pdqlist.py), so this one claims a file only when its first lines carry a signal type
other than PDQ; detection stays unambiguous whichever of the two registers first.
The signal-type vocabulary lives here and is shared with the HMA CSV reader (formats/hma.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from haven.formats.base import (
    NEVER_IMPORT,
    Note,
    ParsedEntry,
    Skipped,
    check_category,
    content_lines,
    is_hex,
    new_entry,
    read_lines,
    shorten,
    split_line,
)

name = "signals"

SIGNAL_COLUMNS = {"pdq": "pdq", "md5": "md5", "video_md5": "md5", "photo_md5": "md5", "sha256": "sha256"}
"""Signal type -> entry column. Only hashes of file content: url_md5 (a hashed URL) and text signals
would match nothing on a disk, so they are skipped like unknown types."""
HEX_DIGITS = {"pdq": 64, "md5": 32, "sha256": 64}

_LINE = re.compile(r"([A-Za-z0-9_]+)(?:\s*[,;:\t]\s*|\s+)(\S.*)")


def sniff(head: bytes) -> bool:
    lines = content_lines(head)
    if not lines:
        return False
    types = [match.group(1).lower() if (match := _LINE.fullmatch(line)) else None for line in lines]
    known = [t for t in types if t in SIGNAL_COLUMNS]
    return types[0] in SIGNAL_COLUMNS and any(t != "pdq" for t in known)


def scheme(head: bytes) -> str | None:
    return None  # a local list does not say which category scheme its codes are in


def read(path: Path) -> Iterator[ParsedEntry | Skipped | Note]:
    for number, line in read_lines(path):
        parsed = parse_line(line)
        yield parsed if isinstance(parsed, dict) else Skipped(f"line {number}", parsed)


def parse_line(line: str) -> ParsedEntry | str:
    match = _LINE.fullmatch(line)
    if match is None:
        return f"{shorten(line)} is not '<signal type> <hash>'"
    token, category = split_line(match.group(2))
    return signal_entry(match.group(1), token, category=category)


def signal_entry(
    signal_type: str, value: str, *, category: str | None = None, tags: str | None = None
) -> ParsedEntry | str:
    """The entry for one signal, or why there is none."""
    kind = signal_type.strip().lower()
    column = SIGNAL_COLUMNS.get(kind)
    if column is None:
        return f"signal type {shorten(signal_type)} is not a file hash Haven matches"
    digest = value.strip().lower()
    if len(digest) != HEX_DIGITS[column] or not is_hex(digest):
        return f"{shorten(value)} is not a {kind} hash ({HEX_DIGITS[column]} hex digits)"
    reason = NEVER_IMPORT.get(digest) or check_category(category)
    if reason:
        return reason
    entry = new_entry()
    entry[column] = digest  # type: ignore[literal-required]
    entry["category"] = category
    entry["tags"] = tags
    return entry
