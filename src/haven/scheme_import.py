"""The category scheme of a hash set being imported, and the check of each entry's category against it.

A set's scheme is what the file declares (VICS ``/US/``, ``/UK/``) or what ``--scheme`` says for a
list that declares none; both at once must agree. Once the scheme is known, an entry whose category
is not one of its codes is skipped with its line or record number, so no code outside the scheme
reaches the store; codes are stored in the scheme's own spelling ("01" -> "1", "a" -> "A").

A VICS file that says ``/CUSTOM/`` uses codes from a scheme agreed outside the file. With ``--scheme
NAME`` they are checked against NAME; without it they are kept as written under the reserved name
``custom``, which matches no scheme and has no mappings, so they never become a category in any case
(matching reports them as not applied). Sets whose scheme stays unknown (plain lists without
``--scheme``) are not checked here; matching takes their codes as the case's own only where they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any, cast

from sqlalchemy.orm import Session

from haven.category_codes import SchemeCodes
from haven.formats.base import (
    ColumnBatch,
    FormatError,
    Note,
    ParsedEntry,
    Skipped,
    VideoEntry,
    new_entry,
    read_lines,
    shorten,
)
from haven.schemes import CUSTOM, SchemeError, get_scheme, scheme_codes

Item = ParsedEntry | ColumnBatch | VideoEntry | Skipped | Note
RECORD_FORMATS = frozenset({"vics", "nsrl", "kdb", "vpdq", "haven"})
"""Formats whose Skipped say "record N" (or whose records span lines); every other format is a text list
that yields one entry or Skipped per content line (after any header), in file order."""
_HASH_COLUMNS = ("md5", "sha1", "sha256", "pdq")


def out_of_scheme(category: str, scheme: str) -> str:
    """The Skipped reason, worded once: other tests and tools match on it."""
    return f"category {shorten(category)} is not in scheme {scheme}"


@dataclass(frozen=True)
class ImportScheme:
    """The scheme a set is stored with (None: unknown) and the codes its entries are checked against."""

    scheme: str | None
    codes: SchemeCodes | None

    @classmethod
    def resolve(cls, session: Session, *, declared: str | None, given: str | None) -> ImportScheme:
        """From what the file declares and what ``--scheme`` says; raises ``SchemeError`` when they disagree."""
        if given is not None:
            if given == CUSTOM:
                raise SchemeError(f"'{CUSTOM}' names no scheme: give the scheme the file's codes are in")
            get_scheme(session, given)
            if declared not in (None, CUSTOM, given):
                raise SchemeError(
                    f"the file declares category scheme {declared}, but --scheme says {given}; "
                    "leave --scheme out, or check the file"
                )
        scheme = given or declared
        if scheme is None or scheme == CUSTOM:
            return cls(scheme, None)
        return cls(scheme, scheme_codes(session, scheme))

    def check(self, items: Iterable[Item], path: Path, fmt: str) -> Iterable[Item]:
        """``items`` with out-of-scheme entries turned into Skipped (or unchanged when nothing is checked)."""
        if self.codes is not None:
            locate = _record if fmt in RECORD_FORMATS else _LineLocator(path)
            return _checked(items, self.codes, locate)
        if self.scheme == CUSTOM:
            return _prefixed(items, Note("category scheme", _CUSTOM_NOTE))
        return items


_CUSTOM_NOTE = (
    "the file declares a custom category scheme (VICS /CUSTOM/): its categories are kept as written but never "
    "applied to a case; to use them, remove the set and import it again with --scheme NAME"
)


def _prefixed(items: Iterable[Item], first: Note) -> Iterator[Item]:
    yield first
    yield from items


def _checked(items: Iterable[Item], codes: SchemeCodes, locate: Callable[[int, ParsedEntry], str]) -> Iterator[Item]:
    # Runs once per entry of sets of millions: a kept entry costs one type test and one set lookup (None, no
    # category, is in the set too). Each reader yields one entry or Skipped per record (or a ColumnBatch of
    # consecutive records), plus Notes, so a record's number is counted from what came before it.
    accepted, canonical, scheme = codes.exact | {None}, codes.canonical, codes.scheme
    record = 0  # records before the current item
    for item in items:
        if type(item) is dict:
            record += 1
            if item["category"] not in accepted:
                category = cast(str, item["category"])  # None is accepted, so this is text
                code = canonical(category)
                if code is None:
                    yield Skipped(locate(record, item), out_of_scheme(category, scheme))
                    continue
                item["category"] = code
        elif type(item) is ColumnBatch:
            count = len(item)
            if "category" in item.columns and not accepted.issuperset(item.values[item.columns.index("category")]):
                yield from _checked_batch(item, record, accepted, canonical, scheme, locate)
            else:
                yield item  # the usual case: every code as the scheme spells it, checked in one set operation
            record += count
            continue
        elif isinstance(item, Note):
            pass
        elif isinstance(item, VideoEntry):
            record += 1
            if item.entry["category"] not in accepted:
                category = cast(str, item.entry["category"])
                code = canonical(category)
                if code is None:
                    yield Skipped(locate(record, item.entry), out_of_scheme(category, scheme))
                    continue
                item.entry["category"] = code
        else:
            record += 1  # a Skipped record
        yield item


def _checked_batch(
    batch: ColumnBatch,
    before: int,
    accepted: set[str | None],
    canonical: Callable[[str], str | None],
    scheme: str,
    locate: Callable[[int, ParsedEntry], str],
) -> Iterator[ColumnBatch | Skipped]:
    """``batch``'s entries with their codes respelled as the scheme spells them, and those whose code is
    not in the scheme skipped (with their record numbers: ``before`` records came first)."""
    at = batch.columns.index("category")
    rows = batch.rows()
    spelled = {category: canonical(category) for category in set(map(itemgetter(at), rows)) - accepted}
    kept: list[tuple[Any, ...]] = []
    for number, row in enumerate(rows, start=before + 1):
        category = row[at]
        if category in accepted:
            kept.append(row)
        elif (code := spelled[category]) is not None:
            kept.append((*row[:at], code, *row[at + 1 :]))
        else:
            entry = new_entry()
            entry.update(zip(batch.columns, row, strict=True))  # type: ignore[typeddict-item]
            yield Skipped(locate(number, entry), out_of_scheme(category, scheme))
    if kept:
        yield ColumnBatch.from_rows(batch.columns, kept)


def _record(ordinal: int, _entry: ParsedEntry) -> str:
    return f"record {ordinal}"


class _LineLocator:
    """The line of the ``ordinal``-th record of a line format, found by reading the file once more, forwards.

    Only out-of-scheme entries are located, so a clean file is never re-read. Every record uses at least
    one content line, so the ``ordinal``-th is at content line ``ordinal`` or later (later by the header,
    if any); it is the first such line holding the entry's hash. Records come in file order, so the
    search resumes where the last one stopped: the whole file is read at most once more.
    """

    def __init__(self, path: Path) -> None:
        self.lines: Iterator[tuple[int, str]] = read_lines(path)
        self.index = 0  # content lines consumed so far

    def __call__(self, ordinal: int, entry: ParsedEntry) -> str:
        needle = next((entry[column] for column in _HASH_COLUMNS if entry[column]), None)  # type: ignore[literal-required]
        try:
            for number, line in self.lines:
                self.index += 1
                if self.index >= ordinal and needle is not None and needle in line.lower():
                    return f"line {number}"
        except FormatError:  # a line the reader skipped and read_lines refuses: stop locating
            self.lines = iter(())
        return f"record {ordinal}"
