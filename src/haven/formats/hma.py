"""HMA (Hasher-Matcher-Actioner) / python-threatexchange CSV: ``signal_type,signal_str,collab,category,tags``.

Only ``signal_type`` and ``signal_str`` are required; the header names the columns, so missing or
reordered optional ones are fine. A file without the header is read in the documented column order,
but detection needs the header: a headerless ``pdq,<hex>`` line is a PDQ list's line too.
Signal types map as in formats/signal_list.py (``video_md5`` is an MD5); any other type is skipped
with its line number. ``category`` and ``tags`` are kept; ``collab`` (the sharing exchange) has no
column and is dropped.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from haven.formats.base import FormatError, Note, ParsedEntry, Skipped, content_lines, text_encoding
from haven.formats.signal_list import signal_entry

name = "hma"

COLUMNS = ("signal_type", "signal_str", "collab", "category", "tags")
REQUIRED = {"signal_type", "signal_str"}


def _header(row: list[str]) -> list[str]:
    return [cell.strip().lstrip("\ufeff").lower() for cell in row]


def sniff(head: bytes) -> bool:
    lines = content_lines(head, limit=1)
    if not lines:
        return False
    try:  # the head may be binary (a SQLite file) or cut mid-quote: then it is no HMA header
        header = next(csv.reader([lines[0]]), [])
    except csv.Error:
        return False
    return set(_header(header)) >= REQUIRED


def scheme(head: bytes) -> str | None:
    return None  # HMA categories are free text chosen by each exchange


def read(path: Path) -> Iterator[ParsedEntry | Skipped | Note]:
    with path.open("rb") as probe:
        encoding = text_encoding(probe.read(4))
    with path.open(encoding=encoding, errors="replace", newline="") as stream:
        rows = csv.reader(stream)
        position: dict[str, int] | None = None
        try:
            for row in rows:
                where = f"line {rows.line_num}"
                if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
                    continue
                if position is None:
                    header = _header(row)
                    if set(header) >= REQUIRED:
                        position = {column: header.index(column) for column in COLUMNS if column in header}
                        continue
                    position = {column: index for index, column in enumerate(COLUMNS)}
                parsed = _parse_row(row, position)
                yield parsed if isinstance(parsed, dict) else Skipped(where, parsed)
        except csv.Error as error:  # e.g. a NUL byte or an unterminated quote at the end of the file
            raise FormatError(f"line {rows.line_num}", f"unreadable CSV: {error}") from error


def _parse_row(row: list[str], position: dict[str, int]) -> ParsedEntry | str:
    def cell(column: str) -> str | None:
        index = position.get(column)
        value = row[index].strip() if index is not None and index < len(row) else ""
        return value or None

    signal_type, signal_str = cell("signal_type"), cell("signal_str")
    if signal_type is None or signal_str is None:
        return "no signal_type or signal_str"
    return signal_entry(signal_type, signal_str, category=cell("category"), tags=cell("tags"))
