"""Plain hash lists: one MD5, SHA-1 or SHA-256 per line, the length saying which.

Accepted, as investigators' tools write them (X-Ways, FTK, EnCase exports, hand-made lists):
- an optional first line naming the type ("MD5", "SHA-1", "SHA256", "md5 hash", "hash,category");
  when it names an algorithm, lines of another length are skipped rather than guessed;
- an optional category after the hash, separated by a comma, semicolon, tab or spaces;
- blank lines and ``#`` comments; UTF-8 with or without BOM, UTF-16 LE/BE (by BOM or NUL pattern).
Lines of mixed lengths are fine without a header: each line's length names its algorithm.
A line in md5sum's shape whose text is evidently a file name (``<hash> *<name>``, or a name with a path
or an extension) is read as checksum output: the name is dropped, never taken for a category
(formats/checksum_list.py, which auto-detection picks for whole md5sum files).
A line longer than ``LINE_MAX`` is skipped unread.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from haven.formats import checksum_list
from haven.formats.base import (
    ALGORITHM_BY_LENGTH,
    LABELS,
    NEVER_IMPORT,
    PDQ_HEADERS,
    FormatError,
    Note,
    ParsedEntry,
    Skipped,
    check_category,
    content_lines,
    header_type,
    is_hex,
    iter_lines,
    new_entry,
    shorten,
    split_line,
)

name = "plain"

ANY = "any"  # a header that names no algorithm ("hash", "hash,category")
HEADERS = {
    "md5": "md5",
    "md5hash": "md5",
    "hashmd5": "md5",
    "sha1": "sha1",
    "sha1hash": "sha1",
    "hashsha1": "sha1",
    "sha256": "sha256",
    "sha256hash": "sha256",
    "hashsha256": "sha256",
    "hash": ANY,
    "hashes": ANY,
    "hashvalue": ANY,
}


def sniff(head: bytes) -> bool:
    lines = content_lines(head, limit=1)
    if not lines:
        return False
    if header_type(lines[0], HEADERS):
        return True
    token = split_line(lines[0])[0].lower()
    return len(token) in ALGORITHM_BY_LENGTH and bool(is_hex(token))


def scheme(head: bytes) -> str | None:
    return None  # a plain list does not say which category scheme its codes are in


def read(path: Path) -> Iterator[ParsedEntry | Skipped | Note]:
    declared = ANY
    first = True
    for item in iter_lines(path):
        if isinstance(item, Skipped):
            yield item
            continue
        number, line = item
        if first:
            first = False
            if header_type(line, PDQ_HEADERS):
                raise FormatError(f"line {number}", "the header names PDQ: import it as a PDQ list")
            header = header_type(line, HEADERS)
            if header:
                declared = header
                continue
        parsed = parse_line(line, declared)
        yield parsed if isinstance(parsed, dict) else Skipped(f"line {number}", parsed)


def parse_line(line: str, declared: str) -> ParsedEntry | str:
    """The entry on one line, or why there is none."""
    algorithm = ALGORITHM_BY_LENGTH.get(len(line))
    if algorithm is not None and declared in (ANY, algorithm):
        # A bare hash, the line of almost every list: no splitting (10M-line lists spend most of their
        # time here). Anything unusual falls through to the full path below, which words the reason.
        value = line.lower()
        if is_hex(value) and value not in NEVER_IMPORT:
            entry = new_entry()
            entry[algorithm] = value  # type: ignore[literal-required]
            return entry
    if checksum_list.gnu_file_line(line):
        parsed = checksum_list.parse_line(line)
        if isinstance(parsed, dict) and declared != ANY and parsed[declared] is None:  # type: ignore[literal-required]
            return f"the hash is not {LABELS[declared]} as the header says"
        return parsed
    token, category = split_line(line)
    value = token.lower()
    if not is_hex(value):
        return f"{shorten(token)} is not a hex hash"
    algorithm = ALGORITHM_BY_LENGTH.get(len(value))
    if algorithm is None:
        return f"{shorten(token)} has {len(value)} hex digits; expected 32 (MD5), 40 (SHA-1) or 64 (SHA-256)"
    if declared not in (ANY, algorithm):
        return f"{LABELS[algorithm]} hash but the header says {LABELS[declared]}"
    reason = NEVER_IMPORT.get(value) or check_category(category)
    if reason:
        return reason
    entry = new_entry()
    entry[algorithm] = value  # type: ignore[literal-required]
    entry["category"] = category
    return entry
