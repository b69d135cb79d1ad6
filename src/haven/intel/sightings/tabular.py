"""CSV and JSON sightings: rows (objects) with tolerant column names, each an observation or a skipped row.

CSV: any of comma, semicolon, tab or pipe as the delimiter (the header line decides); a row whose field count
differs from the header's is skipped. JSON: an array of objects, an object holding one (``sightings``,
``observations``, ``rows``, ``records``, ``items``, ``data``), one object, or JSON Lines. A file whose
structure cannot be read at all (no usable header, broken quoting, a JSON syntax error, two columns meaning
one field) is refused whole.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from typing import Any

from haven.intel.sightings.records import (
    TYPED_COLUMNS,
    Column,
    Observation,
    Skipped,
    observation_from_fields,
    understand,
)

DELIMITERS = (",", ";", "\t", "|")
CONTAINER_KEYS = ("sightings", "observations", "rows", "records", "items", "data")


class MalformedFileError(ValueError):
    """The file as a whole cannot be read: nothing from it is imported."""


def read_csv(text: str, default_source: str | None) -> Iterator[Observation | Skipped]:
    lines = io.StringIO(text, newline="")
    header_line = text.split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=header_line.count)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise MalformedFileError("empty file") from None
    except csv.Error as error:
        raise MalformedFileError(f"line 1: unreadable header ({error})") from None
    columns = _columns(header, "column")
    previous = reader.line_num
    while True:
        start = previous + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            # A broken quote swallows the rest of the file into one field: the structure is gone.
            raise MalformedFileError(f"line {start}: {error}") from None
        previous = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield Skipped(f"line {start}", f"{len(row)} fields, the header has {len(header)}")
            continue
        values = [(column, row[i]) for i, column in columns.items()]
        yield _observation(values, f"line:{start}", start, f"line {start}", default_source)


def read_json(text: str, default_source: str | None) -> Iterator[Observation | Skipped]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        if error.msg != "Extra data":
            raise MalformedFileError(f"not JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
        yield from _read_json_lines(text, default_source)
        return
    records = _records(document)
    for number, item in enumerate(records, start=1):
        yield _object(item, f"record:{number}", None, f"record {number}", default_source)


def _read_json_lines(text: str, default_source: str | None) -> Iterator[Observation | Skipped]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            yield Skipped(f"line {number}", f"not JSON ({error.msg})")
            continue
        yield _object(item, f"line:{number}", number, f"line {number}", default_source)


def _records(document: Any) -> Sequence[Any]:
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        for key in CONTAINER_KEYS:
            if isinstance(document.get(key), list):
                return document[key]
        return [document]  # one sighting (a JSON Lines feed of one line reads the same)
    raise MalformedFileError("JSON is neither a list of sightings nor an object holding one")


def _object(item: Any, record: str, line: int | None, where: str, default_source: str | None) -> Observation | Skipped:
    if not isinstance(item, dict):
        return Skipped(where, f"not an object ({type(item).__name__})")
    flat = dict(item)
    hashes = flat.pop("hashes", None)
    if isinstance(hashes, dict):  # {"hashes": {"MD5": ..., "SHA-256": ...}}, as STIX and many tools write
        for name, value in hashes.items():
            flat.setdefault(str(name), value)
    try:
        columns = _columns([str(key) for key in flat], "key")
    except MalformedFileError as error:
        return Skipped(where, str(error))
    keys = list(flat)
    values = [(column, flat[keys[i]]) for i, column in columns.items()]
    if not values:
        return Skipped(where, "no known keys (expected e.g. identifier, type, hash, observed_at)")
    return _observation(values, record, line, where, default_source)


def _observation(
    values: Sequence[tuple[Column, object]], record: str, line: int | None, where: str, default_source: str | None
) -> Observation | Skipped:
    try:
        return observation_from_fields(values, record=record, line=line, default_source=default_source)
    except ValueError as error:
        return Skipped(where, str(error))


def _columns(names: Sequence[str], noun: str) -> dict[int, Column]:
    """Position -> understood column; MalformedFileError when two mean one field or none names a sighting."""
    found: dict[int, Column] = {}
    by_field: dict[str, str] = {}
    for position, name in enumerate(names):
        column = understand(name)
        if column is None:
            continue
        if column.field in by_field:
            raise MalformedFileError(f"{noun}s {by_field[column.field]!r} and {name!r} both mean {column.field}")
        by_field[column.field] = name
        found[position] = column
    if noun == "column" and not any(
        c.field in ("identifier", "hash", "md5", "sha1", "sha256", "pdq") or c.field.startswith("typed:")
        for c in found.values()
    ):
        expected = ", ".join(sorted({"identifier", "value", "hash", "md5", "sha256", "pdq", *TYPED_COLUMNS[:3]}))
        raise MalformedFileError(f"line 1: no identifier or hash column (expected one of: {expected})")
    return found
