"""PDQ lists: one 256-bit PDQ hash (64 hex) per line, bare or as ``pdq <hex>``, optional category.

``pdq <hex>`` is the local-list form of python-threatexchange / HMA (``<signal type> <hash>``).
A bare 64-hex list is indistinguishable from a SHA-256 list, so auto-detection calls a file PDQ only
when it says so: its first line names PDQ ("PDQ", "pdq hash") or its lines carry the ``pdq`` prefix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from haven.formats.base import (
    NEVER_IMPORT,
    PDQ_HEADERS,
    Note,
    ParsedEntry,
    Skipped,
    check_category,
    content_lines,
    header_type,
    is_hex,
    new_entry,
    read_lines,
    shorten,
    split_line,
)

name = "pdq"

_PREFIX = re.compile(r"pdq(?:\s*[,;:\t]\s*|\s+)(?=\S)", re.IGNORECASE)
_PREFIXED_HASH = re.compile(r"pdq(?:\s*[,;:\t]\s*|\s+)[0-9a-f]{64}\b", re.IGNORECASE)


def sniff(head: bytes) -> bool:
    lines = content_lines(head)
    if not lines:
        return False
    return header_type(lines[0], PDQ_HEADERS) is not None or any(_PREFIXED_HASH.match(x) for x in lines)


def scheme(head: bytes) -> str | None:
    return None  # a PDQ list does not say which category scheme its codes are in


def read(path: Path) -> Iterator[ParsedEntry | Skipped | Note]:
    for index, (number, line) in enumerate(read_lines(path)):
        if index == 0 and header_type(line, PDQ_HEADERS):
            continue
        parsed = parse_line(line)
        yield parsed if isinstance(parsed, dict) else Skipped(f"line {number}", parsed)


def parse_line(line: str) -> ParsedEntry | str:
    """The entry on one line, or why there is none."""
    prefix = _PREFIX.match(line)
    token, category = split_line(line[prefix.end() :] if prefix else line)
    value = token.lower()
    if len(value) != 64 or not is_hex(value):
        return f"{shorten(token)} is not a PDQ hash (64 hex digits)"
    reason = NEVER_IMPORT.get(value) or check_category(category)
    if reason:
        return reason
    entry = new_entry()
    entry["pdq"] = value
    entry["category"] = category
    return entry
