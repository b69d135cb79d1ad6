"""Delimited-text records (CSV, tab- or semicolon-separated) read with bounded memory, one row at a time.

The csv module reads a whole physical line before it parses it, and a file object hands it lines of
any length; a hostile file with one 2 GB line would be held whole. Here physical lines come from
``base.bounded_lines`` (at most ``LINE_MAX`` characters each), a record whose quotes stay open continues
on the next line (a quoted field may hold a newline) up to the same limit, and each complete record
goes through one persistent ``csv.reader``: quoting and embedded delimiters as the csv module does
them, at its speed. Every row carries the number of the line it starts on.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from haven.formats.base import LINE_MAX, Skipped, bounded_lines, content_lines, too_long

DELIMITERS = (",", "\t", ";", "|")


def guess_delimiter(header: str) -> str:
    """The delimiter a header line uses most (comma when it uses none)."""
    counts = {delimiter: header.count(delimiter) for delimiter in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def split_header(line: str) -> list[str]:
    """A header line's cells, trimmed, without quotes or a byte-order mark; [] when it is not CSV."""
    try:
        cells = next(csv.reader([line], delimiter=guess_delimiter(line)), [])
    except csv.Error:
        return []
    return [cell.strip().lstrip("\ufeff").strip() for cell in cells]


def head_header(head: bytes) -> list[str]:
    """The cells of the first content line of a sniffed head."""
    lines = content_lines(head, limit=1)
    return split_header(lines[0]) if lines else []


class _Feed:
    """The iterator a persistent csv.reader pulls from: the current record, once. A record the reader
    still finds open (a stray quote inside an unquoted field) ends there instead of pulling more."""

    def __init__(self) -> None:
        self.text: str | None = None

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        text, self.text = self.text, None
        if text is None:
            raise StopIteration
        return text


def _records(path: Path) -> Iterator[tuple[int, str] | Skipped]:
    """(first line number, complete record text) or a Skipped for an overlong or unterminated record."""
    pending, start = "", 0
    for number, raw in bounded_lines(path):
        if raw is None:
            yield too_long(start or number)
            pending, start = "", 0
            continue
        if not pending:
            stripped = raw.strip()
            if not stripped or stripped.lstrip("\ufeff").startswith("#"):
                continue
            start = number
        pending += raw
        if pending.count('"') % 2:  # a quoted field runs on to the next line
            if len(pending) > LINE_MAX:
                yield too_long(start)
                pending, start = "", 0
            continue
        yield start, pending
        pending, start = "", 0
    if pending:
        yield Skipped(f"line {start}", "a quoted field is never closed")


def rows(path: Path, delimiter: str | None = None) -> Iterator[tuple[int, list[str]] | Skipped]:
    """(line number, cells) per record, the first (the header, when there is one) included.

    ``delimiter`` None: guessed from the first record. Cells are trimmed; a byte-order mark before the
    first cell is dropped.
    """
    feed = _Feed()
    reader = None
    for record in _records(path):
        if isinstance(record, Skipped):
            yield record
            continue
        number, text = record
        if reader is None:
            text = text.lstrip("\ufeff")
            reader = csv.reader(feed, delimiter=delimiter or guess_delimiter(text), skipinitialspace=True)
        feed.text = text
        try:
            cells = next(reader)
        except csv.Error as error:
            yield Skipped(f"line {number}", f"unreadable CSV ({error})")
            continue
        yield number, [cell.strip() for cell in cells]
