"""VICS Media records to entry rows a batch at a time: column by column, in C, instead of record by record.

``vics.media_entry`` costs about 5 µs a record in Python; a million-record export spends most of its
import there. Most batches are uniform (every record has a valid MD5, the same kinds of fields, the
same AlternativeHashes names in the same order), and such a batch can be checked a column at a time:
``map(dict.get)`` pulls a field out of every record, ``set(map(type))`` and ``set(map(len))`` check
them, ``bytes.fromhex`` checks the digits of the whole column at once.

This path never decides anything ``media_entry`` would decide differently: ``entry_batch`` returns the
rows ``media_entry`` would make for every record of the batch, or None when anything is not the plain
case (a record to skip, a field that would be dropped with a note, a type it does not expect, records
that differ in shape), and the caller then reads that batch record by record. Tests hold the two to the
same output.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from itertools import chain, repeat
from operator import attrgetter
from typing import Any

import msgspec
import orjson

from haven.formats.base import CATEGORY_MAX, ENTRY_COLUMNS, NEVER_IMPORT, ColumnBatch

_NEVER_BY_WIDTH: dict[int, tuple[str, ...]] = {}
for _never in NEVER_IMPORT:
    _NEVER_BY_WIDTH[len(_never)] = (*_NEVER_BY_WIDTH.get(len(_never), ()), _never)
_NONE = type(None)
_CATEGORY_TYPES = frozenset({int, str, _NONE})
_WIDTHS = {"sha1": 40, "sha256": 64, "pdq": 64}
_RECORD_FIELDS = (
    "MD5",
    "Category",
    "SHA1",
    "VictimIdentified",
    "OffenderIdentified",
    "PhotoDNA",
    "Series",
    "Tags",
    "AlternativeHashes",
)
_FLAG_TYPES = frozenset({bool, _NONE})
_OPTIONAL_TEXT_TYPES = frozenset({str, _NONE})
_TEXTS = (("PhotoDNA", "photodna"), ("Series", "series"), ("Tags", "tags"))  # (field, column): text, stripped
_FLAGS = (("VictimIdentified", "victim_identified"), ("OffenderIdentified", "offender_identified"))


_GETTERS = {name: attrgetter(name) for name in _RECORD_FIELDS}
_HASH_NAME, _HASH_VALUE = attrgetter("HashName"), attrgetter("HashValue")


class _DeclinedError(Exception):
    """Not the plain case: the batch goes record by record."""


class AlternativeHash(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    HashName: str
    HashValue: str
    MD5: Any = None


class MediaRecord(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """A VICS 2.0 Media record (every property of the data model), with the fields Haven reads typed as
    plain records have them. A run of records that all fit decodes straight into these, a third faster
    than into dicts; anything else (a float category, a "yes" flag, a property the model does not name)
    fails the run, which is then read as dicts. Every value is decoded, none skipped, so a run is refused
    for exactly what orjson and ijson refuse (a number out of range in a field Haven ignores among them)."""

    MD5: str
    SHA1: str | None = None
    Category: int | str | None = None
    PhotoDNA: str | None = None
    Series: str | None = None
    VictimIdentified: bool | None = None
    OffenderIdentified: bool | None = None
    Tags: str | None = None
    AlternativeHashes: list[AlternativeHash] | None = None
    MediaID: Any = None
    IsDistributed: Any = None
    Comments: Any = None
    MediaSize: Any = None
    RelativeFilePath: Any = None
    DateUpdated: Any = None
    IsPrecategorized: Any = None
    PrecategorizationSource: Any = None
    IsSuspected: Any = None
    MimeType: Any = None
    SelfGenerated: Any = None
    Exifs: Any = None
    MediaFiles: Any = None
    Repositories: Any = None
    Cases: Any = None
    Segments: Any = None
    MediaMetadata: Any = None
    Identifiers: Any = None


_RECORDS = msgspec.json.Decoder(list[MediaRecord])


def decode_run(run: bytes) -> list[Any]:
    """A JSON array of Media records: ``MediaRecord``s when they all fit, else dicts. Raises ``ValueError``
    when ``run`` is not JSON (both decoders accept exactly the same JSON; duplicate keys: the last wins)."""
    try:
        return _RECORDS.decode(run)
    except msgspec.ValidationError:
        return orjson.loads(run)


def as_dict(record: Any) -> Any:
    """A record as ``media_entry`` reads it: a ``MediaRecord`` as the dict of its fields, anything else as is."""
    return msgspec.to_builtins(record) if type(record) is MediaRecord else record


def entry_batch(batch: list[Any], ignored: Counter[str], column_of: Callable[[str], str | None]) -> ColumnBatch | None:
    """The entries of ``batch`` (decoded Media records: dicts, or ``MediaRecord``s) as one ``ColumnBatch``,
    or None to read it record by record. ``column_of`` maps an AlternativeHashes name to its column (None:
    not kept); names it does not keep are counted in ``ignored``, as ``media_entry`` counts them."""
    kinds = set(map(type, batch))
    if kinds == {MediaRecord}:
        fields, hash_fields = _struct_fields(batch), _struct_hash_fields
    elif kinds == {dict}:
        fields, hash_fields = _fields(batch, _RECORD_FIELDS), _dict_hash_fields
    else:
        return None
    try:
        columns = _columns(fields, len(batch), ignored, column_of, hash_fields)
    except _DeclinedError:
        return None
    names = tuple(name for name in ENTRY_COLUMNS if name in columns)  # the table's order: no reordering later
    return ColumnBatch(names, tuple(map(columns.__getitem__, names)))


HashFields = Callable[[list[Any]], tuple[Sequence[Any], Sequence[Any]]]


def _columns(
    fields: dict[str, list[Any]],
    size: int,
    ignored: Counter[str],
    column_of: Callable[[str], str | None],
    hash_fields: HashFields,
) -> dict[str, Sequence[Any]]:
    columns: dict[str, Sequence[Any]] = {"md5": _hashes(fields.get("MD5", ()), 32)}
    categories = _categories(fields.get("Category"))
    if categories is not None:
        columns["category"] = categories
    sha1 = fields.get("SHA1")
    if sha1 is not None and sha1.count(None) != size:
        columns["sha1"] = _hashes(sha1, 40)
    for name, column in _FLAGS:
        flags = fields.get(name)
        if flags is not None and flags.count(None) != size:
            if not set(map(type, flags)) <= _FLAG_TYPES:
                raise _DeclinedError  # "yes", 1, ...: media_entry's _flag reads them
            columns[column] = flags
    for name, column in _TEXTS:
        texts = fields.get(name)
        if texts is not None and texts.count(None) != size:
            if not set(map(type, texts)) <= _OPTIONAL_TEXT_TYPES:
                raise _DeclinedError  # a list of tags, a number: media_entry's helpers spell them
            columns[column] = [None if text is None else text.strip() or None for text in texts]
    alternatives = fields.get("AlternativeHashes")
    if alternatives is not None and alternatives.count(None) != size:
        counted = _alternatives(alternatives, columns, column_of, hash_fields)
        for label, count in counted.items():
            ignored[label] += count
    return columns


def _struct_fields(records: list[MediaRecord]) -> dict[str, list[Any]]:
    return {name: list(map(_GETTERS[name], records)) for name in _RECORD_FIELDS}


def _struct_hash_fields(items: list[Any]) -> tuple[Sequence[Any], Sequence[Any]]:
    if set(map(type, items)) != {AlternativeHash}:
        raise _DeclinedError
    return list(map(_HASH_NAME, items)), list(map(_HASH_VALUE, items))


def _dict_hash_fields(items: list[Any]) -> tuple[Sequence[Any], Sequence[Any]]:
    if set(map(type, items)) != {dict}:
        raise _DeclinedError
    hashes = _fields(items, ("HashName", "HashValue"))
    labels, values = hashes.get("HashName", ()), hashes.get("HashValue", ())
    if len(labels) != len(items):
        raise _DeclinedError  # no record names its hashes
    return labels, values


def _fields(records: list[dict[str, Any]], names: tuple[str, ...]) -> dict[str, list[Any]]:
    """The values of each of ``names`` that any record has, one per record (None where a record lacks it).
    Fields no record has are left out without a pass over the records for each."""
    present = set().union(*records)
    return {name: list(map(dict.get, records, repeat(name))) for name in names if name in present}


def _hashes(values: Sequence[Any], width: int) -> str:
    """``values`` lowercased and joined by newlines, when every one is ``width`` hex digits and none is
    never imported."""
    try:  # len or join of anything but text raises TypeError (a number has no len, a list joins no text)
        if set(map(len, values)) != {width}:
            raise _DeclinedError
        joined = "\n".join(values)
        digits = bytes.fromhex(joined)  # newlines between pairs are skipped; a space inside a hash shows below
    except (TypeError, ValueError):
        raise _DeclinedError from None
    if len(digits) * 2 != len(values) * width:
        raise _DeclinedError
    lowered = joined.lower()
    step = width + 1
    for never in _NEVER_BY_WIDTH.get(width, ()):  # a substring search in C rather than a set lookup per hash
        at = lowered.find(never)
        while at >= 0:
            if at % step == 0:
                raise _DeclinedError
            at = lowered.find(never, at + 1)
    return lowered


def _categories(values: Sequence[Any] | None) -> list[str | None] | None:
    """Category codes as ``media_entry`` writes them (an int as its digits, text stripped, empty as None),
    or None when no record has one. Floats and booleans are left to ``media_entry``."""
    if values is None:
        return None
    kinds = set(map(type, values))
    if kinds == {_NONE}:
        return None
    if not kinds <= _CATEGORY_TYPES:
        raise _DeclinedError
    spelled: dict[Any, str | None] = {}
    for value in set(values):  # a handful of distinct codes per batch
        text = None if value is None else str(value).strip() or None
        if text is not None and len(text) > CATEGORY_MAX:
            raise _DeclinedError
        spelled[value] = text
    return list(map(spelled.__getitem__, values))


def _alternatives(
    alternatives: Sequence[Any],
    columns: dict[str, Sequence[Any]],
    column_of: Callable[[str], str | None],
    hash_fields: HashFields,
) -> Counter[str]:
    """Fills ``columns`` from AlternativeHashes lists that name the same hashes in the same order in every
    record; returns the names not kept, counted. The first position naming a column fills it, as in
    ``media_entry`` (a later one, or the record's own SHA1, wins nothing)."""
    if set(map(type, alternatives)) != {list}:
        raise _DeclinedError
    lengths = set(map(len, alternatives))
    if len(lengths) != 1:
        raise _DeclinedError
    width = lengths.pop()
    items = list(chain.from_iterable(alternatives))
    if width == 0:
        return Counter()
    labels, values = hash_fields(items)
    ignored: Counter[str] = Counter()
    for position in range(width):
        names = set(labels[position::width])
        if len(names) != 1:
            raise _DeclinedError
        label = names.pop()
        if type(label) is not str:
            raise _DeclinedError
        column = column_of(label)
        if column is None:
            ignored[label] += len(alternatives)
        elif column == "photodna":
            raise _DeclinedError  # merged with the record's own PhotoDNA field: record by record
        elif column in _WIDTHS and column not in columns:
            columns[column] = _hashes(values[position::width], _WIDTHS[column])
    return ignored
