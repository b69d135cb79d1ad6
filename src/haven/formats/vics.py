"""VICS (Project VIC / CAID) OData JSON, versions 2.0 and 1.x, streamed: orjson on whole-record runs
(``vics_scan``), with ijson as the reference for anything that path cannot vouch for (malformed JSON
and its error wording, unusual layouts).

The root names what ``value`` holds: ``{"@odata.context": ".../2.0.xml/US/$metadata#Cases", "value":
[Case{..., "Media": [...]}]}`` or ``...#Media`` with Media directly under ``value``; 1.x says
``"odata.metadata": ".../1.2.xml#Media"``. The context must appear near the start (every writer puts
it first) because it decides the path to the Media before the first is parsed. Real files run to
hundreds of MB, so nothing is ever loaded whole; some start with a UTF-8 BOM, which yajl rejects.

Category codes are read in the scheme the context URL declares (``/US/`` vic-us, ``/UK/`` caid-uk,
``/CUSTOM/`` custom); 1.x and other segments (e.g. ``/Default/``) declare none, so the set's scheme
is left unset rather than guessed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

import ijson

from haven.formats.base import (
    CATEGORY_MAX,
    HEAD_SIZE,
    NEVER_IMPORT,
    ColumnBatch,
    FormatError,
    JsonGapGuard,
    Note,
    ParsedEntry,
    Skipped,
    check_category,
    is_hex,
    shorten,
)
from haven.formats.vics_batch import as_dict, decode_run, entry_batch
from haven.formats.vics_scan import UnsureError, media_batches

try:  # the C backend is many times faster than pure Python; fall back where it was not built
    _ijson: Any = ijson.get_backend("yajl2_c")
except ImportError:
    _ijson = ijson

name = "vics"

BOM = b"\xef\xbb\xbf"
SCHEMES = {"US": "vic-us", "UK": "caid-uk", "CUSTOM": "custom"}
_CONTEXT = re.compile(rb'"(@odata\.context|odata\.metadata)"\s*:\s*"([^"]*)"')
_MODEL = re.compile(r"\.xml/([^/$#]+)[/#]")
PATHS = {"Cases": "value.item.Media.item", "Media": "value.item"}
# AlternativeHashes names (upper case, no separators) -> HashEntry column; others are reported, not kept.
ALTERNATIVE = {"SHA256": "sha256", "SHA1": "sha1", "PDQ": "pdq", "PHOTODNA": "photodna", "MD5": "md5"}
WIDTHS = {"sha1": 40, "sha256": 64, "pdq": 64}  # MD5 is the record's key: its alternative is redundant
_FLAGS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


@dataclass(frozen=True)
class Context:
    scheme: str | None
    collection: str  # Cases | Media


def read_context(head: bytes) -> Context:
    found = _CONTEXT.search(head)
    if found is None:
        raise FormatError("", "no @odata.context (VICS 2.0) or odata.metadata (VICS 1.x) near the start")
    url = found.group(2).decode("utf-8", errors="replace")
    collection = re.split(r"[/(]", url.rpartition("#")[2], maxsplit=1)[0]
    if collection not in PATHS:
        raise FormatError("", f"the OData context {shorten(url, 120)} lists {collection!r}, not Cases or Media")
    model = _MODEL.search(url)  # ".../2.0.xml/US/$metadata": the segment after the model names the scheme
    segment = model.group(1) if model else None
    return Context(scheme=SCHEMES.get(segment.upper()) if segment else None, collection=collection)


def sniff(head: bytes) -> bool:
    return head.removeprefix(BOM).lstrip().startswith(b"{") and _CONTEXT.search(head) is not None


def scheme(head: bytes) -> str | None:
    try:
        return read_context(head).scheme
    except FormatError:
        return None


def read(path: Path) -> Iterator[ParsedEntry | ColumnBatch | Skipped | Note]:
    with path.open("rb") as stream:
        head = stream.read(HEAD_SIZE)
        context = read_context(head)
        ignored: Counter[str] = Counter()
        notes: list[Note] = []
        number = 0  # Media records yielded so far
        try:  # the fast path; at the first thing it cannot vouch for, ijson reads the file from the start
            for batch in media_batches(stream, context.collection, head.removeprefix(BOM), decode_run):
                rows = entry_batch(batch, ignored, _column)  # the whole batch at once, when it is plain
                if rows is not None:
                    number += len(batch)
                    yield rows
                    continue
                for media in batch:
                    number += 1
                    yield media_entry(as_dict(media), number, notes, ignored)
                    if notes:
                        yield from notes
                        notes.clear()
        except UnsureError:
            stream.seek(len(BOM) if head.startswith(BOM) else 0)
            yield from _read_with_ijson(stream, context, number, notes, ignored)
        if ignored:
            names = ", ".join(f"{label} ({count})" for label, count in sorted(ignored.items()))
            yield Note("AlternativeHashes", f"not imported (Haven does not use them): {names}")


def _read_with_ijson(
    stream: BinaryIO, context: Context, done: int, notes: list[Note], ignored: Counter[str]
) -> Iterator[ParsedEntry | Skipped | Note]:
    """The Media records after the first ``done`` (already read by the fast path), and ijson's verdict on
    malformed JSON, worded as ijson words it, with the number of the last good record."""
    number = 0
    try:
        # The guard: one giant token would make yajl quadratic (a 2 GB string: hours).
        guarded = JsonGapGuard(stream)
        media_items = _ijson.items(guarded, PATHS[context.collection], use_float=True, buf_size=1 << 16)
        for number, media in enumerate(media_items, start=1):
            if number <= done:
                continue
            yield media_entry(media, number, notes, ignored)
            if notes:
                yield from notes
                notes.clear()
    except ijson.JSONError as error:
        where = f"after record {number}" if number else "before the first Media record"
        raise FormatError(where, f"malformed JSON ({_verdict(error)})") from error


def _verdict(error: Exception) -> str:
    """yajl's message, sometimes bytes, ends in a multi-line excerpt with a caret: keep the first line."""
    detail = error.args[0] if error.args else ""
    text = detail.decode("utf-8", errors="replace") if isinstance(detail, bytes) else str(detail)
    return (text.strip().splitlines() or ["parse error"])[0]


# The functions below run once per Media (hundreds of thousands per file): common cases (a string
# or None) are tested inline and only unusual values pay for a helper call.


def media_entry(media: Any, number: int, notes: list[Note], ignored: Counter[str]) -> ParsedEntry | Skipped:
    """One Media record as an entry; problems with optional fields become notes, not skips."""
    if type(media) is not dict:
        return Skipped(f"record {number}", "a Media record is not a JSON object")
    get = media.get
    md5 = get("MD5")
    md5 = md5.strip().lower() if type(md5) is str else _text(md5)
    if md5 is None or len(md5) != 32 or not is_hex(md5):
        return Skipped(f"record {number}", "no MD5" if md5 is None else f"MD5 {shorten(md5)} is not 32 hex digits")
    category = get("Category")
    if category is not None:
        category = str(category) if type(category) is int else _category(category)
    if md5 in NEVER_IMPORT or (category is not None and len(category) > CATEGORY_MAX):
        return Skipped(f"record {number}", NEVER_IMPORT.get(md5) or check_category(category) or "")
    sha1 = get("SHA1")
    if type(sha1) is str and len(text := sha1.strip().lower()) == 40 and is_hex(text) and text not in NEVER_IMPORT:
        sha1 = text  # the common case, without a call; anything else goes through _hash below
    elif sha1:
        sha1 = _hash(sha1, 40, "SHA1", number, notes)
    else:
        sha1 = None
    photodna = get("PhotoDNA")
    series = get("Series")
    victim = get("VictimIdentified")
    offender = get("OffenderIdentified")
    tags = get("Tags")
    entry: ParsedEntry = {
        "md5": md5,
        "sha1": sha1,
        "sha256": None,
        "pdq": None,
        "photodna": None if photodna is None else _text(photodna),
        "category": category,
        "series": None if series is None else _text(series),
        "victim_identified": victim if victim is None or type(victim) is bool else _flag(victim),
        "offender_identified": offender if offender is None or type(offender) is bool else _flag(offender),
        "tags": None if tags is None else _tags(tags),
    }
    alternatives = get("AlternativeHashes")
    if alternatives:
        _alternatives(entry, alternatives, number, notes, ignored)
    return entry


def _alternatives(entry: ParsedEntry, alternatives: Any, number: int, notes: list[Note], ignored: Counter[str]) -> None:
    for item in alternatives if type(alternatives) is list else ():
        if type(item) is not dict:
            continue
        label = item.get("HashName")
        label = label if type(label) is str else str(label)
        column = ALTERNATIVE.get(label) or _column(label)
        if column is None:
            ignored[label] += 1
        elif column == "photodna":
            entry["photodna"] = entry["photodna"] or _text(item.get("HashValue"))
        elif column in WIDTHS and entry[column] is None:  # type: ignore[literal-required]
            value, width = item.get("HashValue"), WIDTHS[column]
            # The common case, inline; _hash words the note otherwise.
            if (
                type(value) is str
                and len(text := value.strip().lower()) == width
                and is_hex(text)
                and text not in NEVER_IMPORT
            ):
                entry[column] = text  # type: ignore[literal-required]
                continue
            entry[column] = _hash(value, width, label, number, notes)  # type: ignore[literal-required]


@lru_cache(maxsize=64)
def _column(label: str) -> str | None:
    """The column for an AlternativeHashes name however it is spelled ("SHA-256", "sha256", "Pdq")."""
    return ALTERNATIVE.get(label) or ALTERNATIVE.get(re.sub(r"[^A-Z0-9]", "", label.upper()))


def _hash(value: Any, width: int, label: str, number: int, notes: list[Note]) -> str | None:
    """A valid lowercase hash, or None with a note saying why the field was dropped."""
    text = value.strip().lower() if type(value) is str else _text(value)
    if text is None:
        return None
    if len(text) == width and is_hex(text) and text not in NEVER_IMPORT:
        return text
    problem = NEVER_IMPORT.get(text) or f"{shorten(text)} is not {width} hex digits"
    notes.append(Note(f"record {number}", f"{label} dropped: {problem}"))
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = value.strip() if isinstance(value, str) else str(value)
    return text or None


def _category(value: Any) -> str | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _text(value)


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool) or value is None:
        return value
    return _FLAGS.get(str(value).strip().lower())


def _tags(value: Any) -> str | None:
    if isinstance(value, list):
        return ", ".join(str(tag) for tag in value if tag is not None) or None
    return _text(value)
