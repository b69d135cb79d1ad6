"""What every hash-set format module provides, and the small pieces they share.

A format is one module with ``name``, ``sniff(head)``, ``scheme(head)`` and ``read(path)``. ``read``
streams: it yields one ``ParsedEntry`` per usable record (a ``VideoEntry``, entry plus frames, for a
known video), a ``Skipped`` (with its line or record
number) per unusable one and a ``Note`` when it drops a field from an entry it keeps; it raises
``FormatError`` when the file cannot be read any further. Entries are plain dicts with every column
present, so the importer hands them to executemany unchanged. A reader with a bulk path (VICS) may
instead yield a ``ColumnBatch``: many records' entries at once, in only the columns they fill.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import chain
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TextIO, TypedDict

HEAD_SIZE = 64 * 1024
"""Bytes given to ``sniff``: enough for any header line or VICS context, small enough to read twice."""


class ParsedEntry(TypedDict):
    md5: str | None
    sha1: str | None
    sha256: str | None
    pdq: str | None
    photodna: str | None
    category: str | None
    series: str | None
    victim_identified: bool | None
    offender_identified: bool | None
    tags: str | None


EMPTY_ENTRY: ParsedEntry = {
    "md5": None,
    "sha1": None,
    "sha256": None,
    "pdq": None,
    "photodna": None,
    "category": None,
    "series": None,
    "victim_identified": None,
    "offender_identified": None,
    "tags": None,
}

ENTRY_COLUMNS = tuple(EMPTY_ENTRY)  # HashEntry columns an entry fills (all but id and set_id)


def new_entry() -> ParsedEntry:
    return EMPTY_ENTRY.copy()


@dataclass(frozen=True, slots=True)
class ColumnBatch:
    """Consecutive records' entries column by column, as a bulk reader checks them (VICS): for each of
    ``columns``, a list of values, or a str of hashes joined by newlines. Joined hashes cost almost
    nothing to make (the reader has joined them to check them), to send to another process, or to split
    back (``str.split``); rows of tuples are only made where they are inserted. Columns that no entry
    fills are left out: the database driver binds a None about as slowly as it inserts a row's text."""

    columns: tuple[str, ...]
    values: tuple[Sequence[Any] | str, ...]

    @staticmethod
    def from_rows(columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> ColumnBatch:
        """``rows`` (at least one, values in ``columns`` order) column by column, without the columns that
        are None in every row (a plain MD5 list's entries fill one of ten)."""
        kept = [
            (column, values)
            for column, values in zip(columns, zip(*rows, strict=True), strict=True)
            if values.count(None) != len(values)
        ] or [(columns[0], (None,) * len(rows))]
        return ColumnBatch(tuple(column for column, _ in kept), tuple(values for _, values in kept))

    def __len__(self) -> int:
        first = self.values[0]
        return (first.count("\n") + 1 if first else 0) if type(first) is str else len(first)

    def rows(self) -> list[tuple[Any, ...]]:
        """One tuple per entry, values in ``columns`` order: what executemany takes."""
        return list(zip(*map(_listed, self.values), strict=True))

    def entries(self) -> Iterator[ParsedEntry]:
        """The entries as ``ParsedEntry`` dicts (for readers of single entries, e.g. tests)."""
        for row in self.rows():
            entry = new_entry()
            entry.update(zip(self.columns, row, strict=True))  # type: ignore[typeddict-item]
            yield entry

    @staticmethod
    def joined(batches: list[ColumnBatch]) -> ColumnBatch:
        """``batches`` (all with the same columns) as one. A column joined in some and listed in others
        (a reader's batch beside entries gathered one by one) comes out listed."""
        if len(batches) == 1:
            return batches[0]
        values: list[Sequence[Any] | str] = []
        for parts in zip(*(batch.values for batch in batches), strict=True):
            if all(type(part) is str for part in parts):
                values.append("\n".join(parts))  # type: ignore[arg-type]
            else:
                values.append(list(chain.from_iterable(_listed(part) for part in parts)))
        return ColumnBatch(batches[0].columns, tuple(values))


def _listed(value: Sequence[Any] | str) -> Sequence[Any]:
    return value.split("\n") if type(value) is str else value


@dataclass(frozen=True, slots=True)
class Skipped:
    """A line or record left out, and why."""

    where: str  # "line 7", "record 12"
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class Note:
    """Something dropped from an entry that was kept (e.g. a malformed SHA1 next to a good MD5)."""

    where: str
    text: str

    def __str__(self) -> str:
        return f"{self.where}: {self.text}"


@dataclass(frozen=True, slots=True)
class VideoEntry:
    """A known video (vPDQ): its entry columns and its frames as (frame number, seconds, PDQ hex, quality)."""

    entry: ParsedEntry
    frames: list[tuple[int, float, str, int]]


class FormatError(Exception):
    """The file cannot be read (further): malformed, truncated, or not this format."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}" if where else message)


class HashListFormat(Protocol):
    name: str

    def sniff(self, head: bytes) -> bool: ...

    def scheme(self, head: bytes) -> str | None: ...

    def read(self, path: Path) -> Iterator[ParsedEntry | ColumnBatch | VideoEntry | Skipped | Note]: ...


# Hashes of zero bytes: every empty file on every disk matches them, so a set listing one is a mistake.
EMPTY_FILE_HASHES = {
    "d41d8cd98f00b204e9800998ecf8427e": "MD5",
    "da39a3ee5e6b4b0d3255bfef95601890afd80709": "SHA-1",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855": "SHA-256",
}
ALGORITHM_BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256"}
LABELS = {"md5": "MD5", "sha1": "SHA-1", "sha256": "SHA-256", "pdq": "PDQ"}

_LONG_HEX = re.compile(r"[0-9a-fA-F]{32}")

is_hex = re.compile(r"[0-9a-f]+").fullmatch
"""Truthy when ``text`` is lowercase hex (callers lowercase first); the bare C method, as it runs per hash."""

ZERO_PDQ = "0" * 64

# Hashes that never go into a set, and why. The empty-file hashes match every empty file on every
# disk; the all-zero PDQ is the hash of a blank or flat image, near most low-detail pictures.
NEVER_IMPORT = {
    **{value: f"{value} is the {label} of an empty file; never imported" for value, label in EMPTY_FILE_HASHES.items()},
    ZERO_PDQ: "all-zero PDQ hash (a blank image); never imported",
}


CATEGORY_MAX = 60  # HashEntry.category column width


def check_category(category: str | None) -> str | None:
    """Why a category cannot be stored, or None when it can."""
    if category is not None and len(category) > CATEGORY_MAX:
        return f"category {shorten(category)} is longer than {CATEGORY_MAX} characters"
    return None


def shorten(text: str, limit: int = 40) -> str:
    """Quote a bad value for a message without echoing a whole garbage line."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def text_encoding(head: bytes) -> str:
    """Encoding of a text list: by byte-order mark, else UTF-16 by its NUL pattern, else UTF-8."""
    for bom, encoding in BOMS:
        if head.startswith(bom):
            return encoding
    # BOM-less UTF-16 of ASCII hex has a NUL in every other byte; UTF-8 text never has NULs.
    if len(head) >= 4 and head[0] and not head[1] and head[2] and not head[3]:
        return "utf-16-le"
    if len(head) >= 4 and not head[0] and head[1] and not head[2] and head[3]:
        return "utf-16-be"
    return "utf-8"


def head_text(head: bytes) -> str:
    """The sniffed bytes as text (a multi-byte character cut at the end is dropped)."""
    encoding = text_encoding(head)
    if encoding == "utf-16":
        encoding = "utf-16-le" if head.startswith(b"\xff\xfe") else "utf-16-be"
        head = head[2:]
    return head.decode(encoding, errors="ignore")


def content_lines(head: bytes, limit: int = 50) -> list[str]:
    """The first non-blank, non-comment lines of a text head, stripped."""
    found: list[str] = []
    for raw in head_text(head).splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            found.append(line)
            if len(found) == limit:
                break
    return found


LINE_MAX = 64 * 1024
"""Characters in one line of a text list. Hash-list lines are short; a longer one is hostile or not a list,
and is skipped unread rather than held in memory (a 2 GB file without a newline is one "line")."""
_DRAIN_CHUNK = 1 << 20  # characters read at a time while discarding the rest of an overlong line


def too_long(number: int) -> Skipped:
    return Skipped(f"line {number}", f"longer than {LINE_MAX:,} characters; skipped unread")


def _open_text(path: Path) -> TextIO:
    """A text list opened in the encoding its byte-order mark or NUL pattern says; undecodable bytes become
    U+FFFD so that one bad line is skipped with its number, not fatal."""
    with path.open("rb") as probe:
        encoding = text_encoding(probe.read(4))
    return path.open(encoding=encoding, errors="replace", newline=None)


def _drain(readline: Callable[[int], str]) -> None:
    """Read past the rest of an overlong line without keeping it."""
    while (rest := readline(_DRAIN_CHUNK)) and rest[-1] != "\n":
        pass


def bounded_lines(path: Path) -> Iterator[tuple[int, str | None]]:
    """(line number, raw line) for every physical line, or (number, None) for a line longer than LINE_MAX.

    Memory stays at LINE_MAX whatever the file: an overlong line is read in chunks and dropped, never
    joined.
    """
    with _open_text(path) as stream:
        readline = stream.readline
        # readline with a limit, in C: about as fast as iterating, but a line never grows past LINE_MAX + 1.
        for number, raw in enumerate(iter(partial(readline, LINE_MAX + 1), ""), start=1):
            if len(raw) > LINE_MAX and raw[-1] != "\n":
                _drain(readline)
                yield number, None
            else:
                yield number, raw


JSON_GAP_MAX = 1 << 20
"""Bytes a JSON hash set may run without a quote character. Every VICS value worth reading is short and
every key is quoted, so a longer run is one giant string, number or garbage, and yajl builds a token in
time quadratic in its length (32 MiB: 12 s; 2 GiB: hours)."""


class JsonGapGuard:
    """A binary stream for a streaming JSON parser that refuses, with the byte offset, a run of more than
    ``JSON_GAP_MAX`` bytes without a quote character: the one cost a single JSON token can impose.

    One ``find`` and one ``rfind`` per buffer: the parser's speed is unchanged. Runs are measured across
    buffers only, which is exact enough while buffers are smaller than the limit (ijson reads 64 KiB).
    """

    def __init__(self, stream: BinaryIO, limit: int = JSON_GAP_MAX) -> None:
        self.stream = stream
        self.limit = limit
        self.offset = stream.tell()
        self.run_start = self.offset  # the byte after the last quote seen

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        first = data.find(b'"')
        run_end = self.offset + (first if first >= 0 else len(data))
        if run_end - self.run_start > self.limit:
            raise FormatError(
                f"byte {self.run_start:,}", f"more than {self.limit:,} bytes without a quote: not VICS JSON"
            )
        if first >= 0:
            self.run_start = self.offset + data.rfind(b'"') + 1
        self.offset += len(data)
        return data


def iter_lines(path: Path) -> Iterator[tuple[int, str] | Skipped]:
    """(line number, stripped line) for every content line, a ``Skipped`` for an overlong one.

    Blank lines and # comments are dropped. A byte-order mark inside the file (lists joined with
    ``cat``) is dropped like the leading one. (The loop of ``bounded_lines`` again rather than a layer on
    it: this runs once per line of 10-million-line lists.)
    """
    with _open_text(path) as stream:
        readline = stream.readline
        for number, raw in enumerate(iter(partial(readline, LINE_MAX + 1), ""), start=1):
            if len(raw) > LINE_MAX and raw[-1] != "\n":
                _drain(readline)
                yield too_long(number)
                continue
            line = raw.strip().lstrip("\ufeff")
            if line and not line.startswith("#"):
                yield number, line


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, stripped line) for every content line, as ``iter_lines``; an overlong line ends the
    read with a ``FormatError`` naming it (readers that can skip it use ``iter_lines``)."""
    for item in iter_lines(path):
        if isinstance(item, Skipped):
            raise FormatError(item.where, item.reason)
        yield item


_FIRST_SEP = re.compile(r"\s*[,;\t]\s*|\s+")
_FIELD_END = re.compile(r"\s*[,;\t]")
_QUOTES = "\"'"


def split_line(line: str) -> tuple[str, str | None]:
    """(first field, category or None) of ``hash[,;tab or space]category[,more ignored]``."""
    parts = _FIRST_SEP.split(line, maxsplit=1)
    token = parts[0].strip(_QUOTES)
    if len(parts) == 1:
        return token, None
    category = _FIELD_END.split(parts[1], maxsplit=1)[0].strip().strip(_QUOTES).strip()
    return token, category or None


def header_word(line: str) -> str:
    """A header line reduced to letters and digits: "SHA-1" -> "sha1", "MD5 hash" -> "md5hash"."""
    return re.sub(r"[^a-z0-9]", "", line.lower())


def header_type(line: str, vocabulary: Mapping[str, str]) -> str | None:
    """What a first line declares, if it is a header: it holds no hash, and the whole line or its
    first field is a known word ("MD5", "SHA-1", "md5 hash", "hash,category")."""
    if _LONG_HEX.search(line):
        return None
    for word in (header_word(line), header_word(split_line(line)[0])):
        if word in vocabulary:
            return vocabulary[word]
    return None


PDQ_HEADERS = {"pdq": "pdq", "pdqhash": "pdq", "pdqhashes": "pdq"}
