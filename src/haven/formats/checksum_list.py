"""Checksum-tool output: md5sum / sha1sum / sha256sum, in the GNU and the BSD (``--tag``) layouts.

Layouts, as GNU coreutils writes them and The Sleuth Kit (tsk/hashdb/md5sum.cpp) and md5deep
(files.cpp: ``find_plain_hash``, ``find_bsd_hash``) read them:
- ``<hash>  <name>`` (text mode: two spaces) and ``<hash> *<name>`` (binary mode: space, asterisk); a
  leading backslash marks a name with escaped ``\\`` or newline characters;
- ``MD5 (<name>) = <hash>``, ``SHA1 (<name>) = <hash>``, ``SHA256 (<name>) = <hash>`` (BSD, GNU
  ``--tag``; OpenSSL ``dgst`` writes it without the spaces).
The hash length (or the BSD algorithm word, which must agree with it) names the algorithm.

The file name is not stored, not even in ``tags``: it names a file on someone else's disk, says
nothing about the content the hash identifies, and may name a victim. Haven never keeps partner
file names (VICS MediaFiles paths are dropped too, and exports never write names).

Detection: a ``<hash>  <text>`` line is also a plain list's ``hash  category``, so a file is claimed
only when its first lines are all in the checksum shape and at least one shows it is a file name (the
binary-mode asterisk, a path separator or a file extension), or when it starts with a BSD line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from haven.formats.base import (
    ALGORITHM_BY_LENGTH,
    LABELS,
    NEVER_IMPORT,
    Note,
    ParsedEntry,
    Skipped,
    content_lines,
    is_hex,
    iter_lines,
    new_entry,
    shorten,
)

name = "md5sum"

_GNU = re.compile(r"\\?([0-9A-Fa-f]+) ([ *])(.+)")
_BSD = re.compile(r"([A-Za-z0-9-]+) ?\((.*)\) ?= ?([0-9A-Fa-f]+)")
_FILE_LIKE = re.compile(r"[/\\]|\.[A-Za-z][A-Za-z0-9]{0,5}$")
BSD_ALGORITHMS = {"md5": "md5", "sha1": "sha1", "sha-1": "sha1", "sha256": "sha256", "sha-256": "sha256"}
SNIFF_LINES = 20


def gnu_file_line(line: str) -> bool:
    """True for ``<hash>  <name>`` / ``<hash> *<name>`` whose name is evidently a file name, not a category."""
    match = _GNU.fullmatch(line)
    if match is None or len(match.group(1)) not in ALGORITHM_BY_LENGTH:
        return False
    return match.group(2) == "*" or bool(_FILE_LIKE.search(match.group(3)))


def sniff(head: bytes) -> bool:
    lines = content_lines(head, limit=SNIFF_LINES)
    if not lines:
        return False
    if _BSD.fullmatch(lines[0]):
        return True
    if not all(_GNU.fullmatch(line) for line in lines[:-1]):  # the last one may be cut by the head's end
        return False
    return _GNU.fullmatch(lines[0]) is not None and any(gnu_file_line(line) for line in lines)


def scheme(head: bytes) -> str | None:
    return None  # checksum output carries no categories


def read(path: Path) -> Iterator[ParsedEntry | Skipped | Note]:
    for item in iter_lines(path):
        if isinstance(item, Skipped):
            yield item
            continue
        number, line = item
        parsed = parse_line(line)
        yield parsed if isinstance(parsed, dict) else Skipped(f"line {number}", parsed)


def parse_line(line: str) -> ParsedEntry | str:
    """The entry on one checksum line (its file name dropped), or why there is none."""
    declared: str | None = None
    gnu = _GNU.fullmatch(line)
    if gnu is not None:
        token = gnu.group(1)
    elif (bsd := _BSD.fullmatch(line)) is not None:
        word, token = bsd.group(1), bsd.group(3)
        declared = BSD_ALGORITHMS.get(word.lower())
        if declared is None:
            return f"{shorten(word)} is not a hash Haven matches (MD5, SHA1 or SHA256)"
    elif is_hex(bare := line.lower()) and len(bare) in ALGORITHM_BY_LENGTH:
        token = line  # a bare hash among checksum lines: fine, nothing to drop
    else:
        return f"{shorten(line)} is not '<hash>  <name>' or 'MD5 (<name>) = <hash>'"
    value = token.lower()
    algorithm = ALGORITHM_BY_LENGTH.get(len(value))
    if algorithm is None:
        return f"{shorten(token)} has {len(value)} hex digits; expected 32 (MD5), 40 (SHA-1) or 64 (SHA-256)"
    if declared is not None and declared != algorithm:
        return f"the line says {LABELS[declared]} but {shorten(token)} is a {LABELS[algorithm]} length"
    if value in NEVER_IMPORT:
        return NEVER_IMPORT[value]
    entry = new_entry()
    entry[algorithm] = value  # type: ignore[literal-required]
    return entry
