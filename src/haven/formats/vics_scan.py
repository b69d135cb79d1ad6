"""Fast path for VICS: split the Media arrays into byte runs of whole records and decode each run with orjson.

ijson builds every record through Python callbacks, about 4 µs a record. Here a regular expression (in
C, atomic groups, nesting up to a fixed depth) finds where the last complete record in a buffer ends,
and orjson decodes all the records before it as one JSON array, so per-record Python work is left to
``media_entry``. Memory stays one buffer (about ``CHUNK`` bytes) plus one decoded batch.

This module never decides what is an error. It vouches only for what orjson accepted: a run that
starts at a record boundary and decodes as ``[run]`` ends at one too (a JSON lexer reads a prefix
exactly as it reads the whole, so a cut inside a string or a nested value cannot decode). Anything
it cannot vouch for (malformed or truncated JSON, nesting deeper than the pattern, an integer yajl
would overflow on, a key written with escapes, an unusual layout) raises ``UnsureError``, and the caller
hands the file to ijson, whose verdict and wording stay the reference.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

try:  # a declared dependency; should it be missing, every file goes to ijson: slower, the same result
    import orjson
except ImportError:  # pragma: no cover
    orjson = None  # type: ignore[assignment]

CHUNK = 64 << 10  # bytes read at a time: ~160 typical records decoded together (small batches stay in cache)
MAX_VALUE = 8 << 20  # a single record (or other value) larger than this is left to ijson
MAX_TOKEN = 64 << 10  # a key or punctuation not found within this many bytes: not a layout this path reads

_WS = rb"[ \t\n\r]*+"  # JSON's white space only (a regular expression's \s also takes \v and \f)
_STRING = rb'"(?>[^"\\]++|\\.)*+"'
_PLAIN = rb'[^{}\[\]"]++'  # anything but structure and strings: numbers, literals, commas, colons, spaces


def _nested(depth: int) -> bytes:
    inner = rb"(?:" + _STRING + rb"|" + _PLAIN + rb")*+"
    for _ in range(depth):
        inner = rb"(?:" + _STRING + rb"|" + _PLAIN + rb"|\{" + inner + rb"\}|\[" + inner + rb"\])*+"
    return inner


_BODY = _nested(4)  # a record -> AlternativeHashes -> hash object -> (list) -> deeper than real exports go
# One array item: an object or array (bracket-balanced, strings respected), a string, or a scalar.
_ITEM = rb"(?:\{" + _BODY + rb"\}|\[" + _BODY + rb"\]|" + _STRING + rb"|[^{}\[\]\", \t\n\r]++)"
_ITEMS = re.compile(rb"(?:" + _WS + _ITEM + _WS + rb",)*+", re.DOTALL)
_LAST_ITEM = re.compile(_WS + _ITEM + _WS + rb"\]", re.DOTALL)
_VALUE = re.compile(_WS + _ITEM, re.DOTALL)
_KEY = re.compile(_WS + rb'("[^"\\]*+")' + _WS + rb":", re.DOTALL)
_TOKEN = re.compile(_WS + rb"([\[\]{},])", re.DOTALL)
_NEXT = re.compile(_WS + rb"(.)", re.DOTALL)
_SPACE = re.compile(_WS, re.DOTALL)
# yajl refuses integers beyond 64 bits ("integer overflow"); orjson reads them as floats. A run of 19 or
# more digits that starts a number (after "-", ":", ",", "[" or white space: not inside a hex string) is
# left to ijson. Found on a copy mapping those bytes to "!", digits to "9" and the rest to ".", so the
# search is one bytes.find, not a regular expression stepping through every byte.
_NUMBER_MAP = bytes(0x39 if 0x30 <= byte <= 0x39 else 0x21 if byte in b"-:,[ \t\r\n" else 0x2E for byte in range(256))
_LONG_NUMBER = b"!" + b"9" * 19


def _has_long_number(run: bytes) -> bool:
    return run.translate(_NUMBER_MAP).find(_LONG_NUMBER) >= 0


PATHS = {"Cases": (b'"value"', b'"Media"'), "Media": (b'"value"',)}


class UnsureError(Exception):
    """The fast path cannot vouch for what comes next; read the file with ijson instead."""


class _Buffer:
    """A window on the stream: ``data[pos:]`` is unread; ``more`` appends, dropping what was read."""

    def __init__(self, stream: BinaryIO, start: bytes, decode: Callable[[bytes], Any]) -> None:
        self.stream = stream
        self.decode = decode  # for runs of records
        self.data = start
        self.pos = 0
        self.eof = False

    def more(self, limit: int) -> None:
        if self.eof:
            raise UnsureError("end of file inside the document")
        if len(self.data) - self.pos > limit:
            raise UnsureError("no value of a size this path reads")
        chunk = self.stream.read(CHUNK)
        self.data = self.data[self.pos :] + chunk
        self.pos = 0
        self.eof = not chunk

    def match(self, pattern: re.Pattern[bytes], limit: int = MAX_TOKEN) -> re.Match[bytes]:
        """``pattern`` at the read position, reading on until the match ends before the buffer does
        (a scalar or a run of spaces at the very end may go on in the next chunk)."""
        while True:
            found = pattern.match(self.data, self.pos)
            if found is not None and (found.end() < len(self.data) or self.eof):
                return found
            self.more(limit)

    def take(self, pattern: re.Pattern[bytes] = _TOKEN, limit: int = MAX_TOKEN) -> re.Match[bytes]:
        found = self.match(pattern, limit)
        self.pos = found.end()
        return found

    def peek(self) -> bytes:
        return self.match(_NEXT).group(1)


def _decode(run: bytes, decode: Callable[[bytes], Any] | None = None) -> Any:
    if _has_long_number(run):
        raise UnsureError("a long number")
    try:
        return (decode or orjson.loads)(run)
    except ValueError as error:  # orjson's and msgspec's decode errors are ValueErrors
        raise UnsureError(str(error)) from error


def media_batches(
    stream: BinaryIO, collection: str, start: bytes = b"", decode: Callable[[bytes], Any] | None = None
) -> Iterator[list[Any]]:
    """Lists of decoded Media records, in file order, for ``#Cases`` or ``#Media`` (ijson paths
    ``value.item.Media.item`` and ``value.item``). ``stream`` is positioned after any BOM; ``start``
    holds bytes already read from it. ``decode`` turns a run of records (a JSON array) into a list,
    raising ``ValueError`` when it is not JSON (default: orjson, into dicts). Raises ``UnsureError`` at
    the first thing it cannot vouch for, having yielded only records ijson would also yield, in the
    same order."""
    if orjson is None:
        raise UnsureError("orjson is not installed")
    buffer = _Buffer(stream, start, decode or orjson.loads)
    yield from _object(buffer, PATHS[collection])
    while True:  # only white space may follow the document
        if _SPACE.match(buffer.data, buffer.pos).end() != len(buffer.data):  # type: ignore[union-attr]
            raise UnsureError("something after the document")
        if buffer.eof:
            return
        buffer.pos = len(buffer.data)
        buffer.more(MAX_TOKEN)


def _object(buffer: _Buffer, path: tuple[bytes, ...]) -> Iterator[list[Any]]:
    """An object whose ``path[0]`` key holds an array to descend into (the rest of ``path`` below it)."""
    if buffer.take().group(1) != b"{":
        raise UnsureError("not an object")
    if buffer.peek() == b"}":
        buffer.take()
        return
    while True:
        key = buffer.take(_KEY).group(1)
        _decode(key)  # its UTF-8 and characters, as ijson would check them
        if key == path[0]:
            yield from _array(buffer, path[1:])
        else:
            _skip_value(buffer)
        found = buffer.take().group(1)
        if found == b"}":
            return
        if found != b",":
            raise UnsureError("expected , or }")


def _skip_value(buffer: _Buffer) -> None:
    """A value on no path of interest, checked by orjson all the same (ijson would refuse it too)."""
    _decode(buffer.take(_VALUE, MAX_VALUE).group(0))


def _array(buffer: _Buffer, path: tuple[bytes, ...]) -> Iterator[list[Any]]:
    """An array: its items are the records (``path`` empty) or objects to descend into."""
    if buffer.peek() != b"[":
        raise UnsureError("not an array")  # ijson's path would not match it; let ijson say what it makes of it
    buffer.take()
    if buffer.peek() == b"]":
        buffer.take()
        return
    if not path:
        yield from _records(buffer)
        return
    while True:
        yield from _object(buffer, path)
        found = buffer.take().group(1)
        if found == b"]":
            return
        if found != b",":
            raise UnsureError("expected , or ]")


def _records(buffer: _Buffer) -> Iterator[list[Any]]:
    """Whole records up to each buffer's last complete one, decoded a run at a time, until ``]``.

    Finding the last boundary with ``_ITEMS`` costs as much as decoding (the pattern steps through
    every byte in Python's regex engine), so a run is first cut where the last record starts, found
    by ``rfind`` of how the first record starts (``{"MediaID"``: writers keep one key order). A cut
    that lands elsewhere (a nested object or a string with the same bytes) fails to decode, and that
    buffer goes the slow way.
    """
    signature = b""
    while True:
        data, pos = buffer.data, buffer.pos
        if not signature:
            signature = _signature(data, pos)
        cut = _cut_before_last(data, pos, signature) if signature else -1
        if cut > pos:
            run = b"[" + data[pos:cut] + b"]"
            batch = None if _has_long_number(run) else _decoded_or_none(buffer.decode, run)
            if batch is not None:
                buffer.pos = cut + 1  # past the comma
                yield batch
                continue
        end = _ITEMS.match(data, pos).end()  # type: ignore[union-attr]  # zero items always match
        if end > pos:
            batch = _decode(b"[" + data[pos : end - 1] + b"]", buffer.decode)  # end - 1: the comma after the last
            buffer.pos = end
            yield batch
            continue
        last = _LAST_ITEM.match(data, pos)
        if last is not None:
            batch = _decode(b"[" + data[pos : last.end()], buffer.decode)
            buffer.pos = last.end()
            yield batch
            return
        buffer.more(MAX_VALUE)


_FIRST_KEY = re.compile(_WS + rb"\{" + _WS + rb'"[^"\\]++"')


def _signature(data: bytes, pos: int) -> bytes:
    """How the record at ``pos`` starts, through its first key (``{"MediaID"``); empty if not an object."""
    found = _FIRST_KEY.match(data, pos)
    if found is None or found.end() == len(data):
        return b""
    return data[_SPACE.match(data, pos).end() : found.end()]  # type: ignore[union-attr]


def _cut_before_last(data: bytes, pos: int, signature: bytes) -> int:
    """Where the comma before the last ``signature`` after ``pos`` is, or -1."""
    start = data.rfind(signature, pos + 1)
    if start < 0:
        return -1
    comma = len(data[pos:start].rstrip()) + pos - 1
    return comma if data[comma] == 0x2C else -1  # ","


def _decoded_or_none(decode: Callable[[bytes], Any], run: bytes) -> Any:
    try:
        return decode(run)
    except ValueError:
        return None
