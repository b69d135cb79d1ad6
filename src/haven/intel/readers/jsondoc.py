"""JSON documents, streamed with ijson (a multi-GB export is never loaded whole), and JSON Lines.

Every object holding scalar values is a record (``object:N`` in document order; ``line:N`` for JSON Lines,
where the line number is exact); its keys are the fields and hint the detectors (``telegram``: a handle
there). Strings and numbers are read; nested objects are records of their own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import ijson

from haven.intel.readers.base import Body, Item, ReaderError, ReadLimits, Record, Segment, hint_for
from haven.intel.readers.text import decoded_blocks, detect_encoding, lines_of

NAME = "json"


def looks_like_json(head: bytes) -> bool:
    """Starts like a JSON document and parses up to the end of the head (a chat log line starting with
    ``[2024-02-01 ...`` does not)."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] not in (b"{", b"["):
        return False
    try:
        for _ in ijson.parse(stripped, multiple_values=True):
            pass
    except ijson.IncompleteJSONError as exc:
        return "premature EOF" in str(exc)
    except ijson.JSONError:
        return False
    return True


def is_json_lines(head: bytes) -> bool:
    """Two or more lines that each hold a whole JSON object."""
    lines = [line for line in head.split(b"\n")[:-1] if line.strip()][:5]
    if len(lines) < 2:
        return False
    try:
        return all(isinstance(json.loads(line), dict) for line in lines)
    except ValueError:
        return False


def read(body: Body, limits: ReadLimits) -> Iterator[Item]:
    if is_json_lines(body.head):
        yield from _json_lines(body, limits)
        return
    encoding = detect_encoding(body.head)
    if encoding.name not in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
        raise ReaderError(f"malformed JSON: not UTF encoded ({encoding.name})")
    stream: Any = body.stream() if encoding.name == "utf-8" else _Utf8(decoded_blocks(body, encoding))
    yield from _events(ijson.parse(stream, use_float=True))


def _events(events: Iterator[tuple[str, str, Any]]) -> Iterator[Item]:
    stack: list[tuple[str, dict[str, str]]] = []  # open objects: record name, scalar fields
    objects = 0
    try:
        for prefix, event, value in events:
            if event == "start_map":
                objects += 1
                stack.append((f"object:{objects}", {}))
            elif event == "end_map":
                name, fields = stack.pop()
                if fields:
                    yield Record(name, fields)
            elif event in ("string", "number") and value is not None:
                text = str(value)
                field = next((part for part in reversed(prefix.split(".")) if part != "item"), "")
                record = stack[-1][0] if stack else None
                if stack and field:
                    stack[-1][1].setdefault(field, text)
                if text.strip():
                    yield Segment(text, 0, 0, field=field or None, record=record, hint=hint_for(field or None))
    except ijson.JSONError as exc:
        raise ReaderError(f"malformed JSON: {exc}") from exc


def _json_lines(body: Body, limits: ReadLimits) -> Iterator[Item]:
    for segment in lines_of(decoded_blocks(body), limits):
        line = segment.line
        for text in segment.text.splitlines():
            if text.strip():
                yield from _json_line(text, line)
            line += 1


def _json_line(text: str, line: int) -> Iterator[Item]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ReaderError(f"malformed JSON at line {line}: {exc}") from exc
    record = f"line:{line}"
    fields: dict[str, str] = {}
    for field, scalar in _scalars(value, ""):
        fields.setdefault(field, scalar)
        offset = max(0, text.find(scalar))
        yield Segment(scalar, line, offset, field=field or None, record=record, hint=hint_for(field or None))
    if fields:
        yield Record(record, fields)


def _scalars(value: Any, key: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for name, inner in value.items():
            yield from _scalars(inner, str(name))
    elif isinstance(value, list):
        for inner in value:
            yield from _scalars(inner, key)
    elif isinstance(value, str | int | float) and not isinstance(value, bool) and str(value).strip():
        yield key, str(value)


class _Utf8:
    """Decoded text blocks re-encoded as UTF-8 for ijson (JSON in UTF-16/32)."""

    def __init__(self, blocks: Iterator[str]) -> None:
        self._blocks = blocks

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # ijson probes the stream's type with read(0): no block may be lost to it
            return b""
        return next(self._blocks, "").encode("utf-8")
