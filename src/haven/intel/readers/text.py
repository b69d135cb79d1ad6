"""Plain text and chat logs: the encoding found from the bytes, lines streamed, long lines in windows.

Encoding, in order: a byte-order mark (UTF-8, UTF-16/32 LE/BE); UTF-16 without a mark (NUL bytes in the
even or odd positions of mostly-ASCII text); UTF-8 when the head decodes as UTF-8; otherwise cp1252
(Latin-1's superset, as Windows wrote it), falling back to Latin-1 for the five bytes cp1252 leaves
undefined. Content that is none of these (NUL bytes, control characters) is "not text".

Memory is bounded: bytes are decoded incrementally in blocks, whole lines gathered into segments of about
``segment_chars``; a line longer than ``window_chars`` (a 1 GB single-line dump) is handed over in windows
that overlap by ``overlap_chars``, each keeping the findings that start in its own part.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass

from haven.intel.readers.base import Body, ReaderError, ReadLimits, Segment

NAME = "text"
BLOCK = 1 << 20
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CONTROL = frozenset(range(0, 32)) - {9, 10, 12, 13, 27}
UNDECODABLE_SHARE = 0.01
"""More replacement characters than this share of the text: recorded as undecodable (findings are kept)."""


@dataclass(frozen=True)
class Encoding:
    name: str
    bom: int  # bytes of byte-order mark to skip


class NotTextError(ReaderError):
    pass


def detect_encoding(head: bytes) -> Encoding:
    """The encoding of a content from its first bytes. Raises NotTextError for binary content."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return Encoding(name, len(bom))
    sample = head[:65536]
    if not sample:
        return Encoding("utf-8", 0)
    utf16 = _utf16_without_bom(sample)
    if utf16:
        return Encoding(utf16, 0)
    if b"\x00" in sample:
        raise NotTextError("not text: NUL bytes in the content (binary data)")
    controls = sum(1 for byte in sample if byte in _CONTROL)
    if controls > max(2, len(sample) // 200):
        raise NotTextError(f"not text: {controls} control bytes in the first {len(sample):,} (binary data)")
    try:
        sample.decode("utf-8")
        return Encoding("utf-8", 0)
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3 and exc.reason == "unexpected end of data":
            return Encoding("utf-8", 0)  # a character cut by the end of the head
    if any(byte in sample for byte in b"\x81\x8d\x8f\x90\x9d"):
        return Encoding("latin-1", 0)
    return Encoding("cp1252", 0)


def _utf16_without_bom(sample: bytes) -> str | None:
    even, odd = sample[0::2], sample[1::2]
    if len(odd) < 4:
        return None
    zeros_even, zeros_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if zeros_odd > 0.3 and zeros_even < 0.05:
        return "utf-16-le"
    if zeros_even > 0.3 and zeros_odd < 0.05:
        return "utf-16-be"
    return None


def decoded_blocks(body: Body, encoding: Encoding | None = None) -> Iterator[str]:
    """The content's text in blocks, decoded incrementally (a character cut by a block boundary is kept)."""
    encoding = encoding or detect_encoding(body.head)
    decoder = codecs.getincrementaldecoder(encoding.name)(errors="replace")
    stream = body.stream()
    skip = encoding.bom
    replaced = total = 0
    while block := stream.read(BLOCK):
        if skip:
            block, skip = block[skip:], 0
        text = decoder.decode(block)
        replaced += text.count("\ufffd")
        total += len(text)
        yield text
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail
    if total and replaced > total * UNDECODABLE_SHARE:
        raise ReaderError(f"undecodable text: {replaced:,} of {total:,} characters are not {encoding.name}")


def lines_of(blocks: Iterator[str], limits: ReadLimits, **where: object) -> Iterator[Segment]:
    """Whole lines gathered into segments; a line longer than the window in overlapping windows."""
    line = 1
    pending = ""  # whole lines not yet handed over, then the start of an unfinished line
    long_line: _LongLine | None = None
    for block in blocks:
        if long_line is not None:
            newline = block.find("\n")
            if newline < 0:
                yield from long_line.add(block)
                continue
            yield from long_line.finish(block[: newline + 1])
            long_line = None
            line += 1
            block = block[newline + 1 :]
        pending += block
        cut = pending.rfind("\n") + 1
        if cut >= limits.segment_chars or (cut and len(pending) > limits.window_chars):
            yield from _whole_lines(pending[:cut], line, limits, where)
            line += pending.count("\n", 0, cut)
            pending = pending[cut:]
        if len(pending) > limits.window_chars and "\n" not in pending:
            long_line = _LongLine(line, limits, where)
            yield from long_line.add(pending)
            pending = ""
    if long_line is not None:
        yield from long_line.finish("")
    elif pending:
        yield from _whole_lines(pending, line, limits, where)


def _whole_lines(text: str, line: int, limits: ReadLimits, where: dict[str, object]) -> Iterator[Segment]:
    start = 0
    while start < len(text):
        end = text.rfind("\n", start, start + limits.segment_chars) + 1
        if end <= start:
            end = text.find("\n", start + limits.segment_chars) + 1 or len(text)
        if end - start > limits.window_chars:  # one long line inside a block: windows, as below
            windows = _LongLine(line, limits, where)
            yield from windows.add(text[start:end])
            yield from windows.finish("")
        else:
            yield Segment(text[start:end], line, 0, **where)  # type: ignore[arg-type]
        line += text.count("\n", start, end)
        start = end


class _LongLine:
    """One line handed over in windows of ``window_chars`` overlapping by ``overlap_chars``.

    Window k starts at k*(window-overlap); it keeps findings starting in its own part, which begins half an
    overlap in (the first window: at 0) and ends half an overlap before its end (the last: at its end), so
    every identifier shorter than half the overlap is kept exactly once, whole.
    """

    def __init__(self, line: int, limits: ReadLimits, where: dict[str, object]) -> None:
        if limits.overlap_chars * 2 >= limits.window_chars:
            raise ValueError("the overlap must be under half the window")
        self.line, self.limits, self.where = line, limits, where
        self.buffer = ""
        self.start = 0  # offset of buffer[0] in the line

    def add(self, text: str) -> Iterator[Segment]:
        self.buffer += text
        window, half = self.limits.window_chars, self.limits.overlap_chars // 2
        while len(self.buffer) > window:
            yield self._segment(self.buffer[:window], (half if self.start else 0, window - half))
            step = window - self.limits.overlap_chars
            self.buffer = self.buffer[step:]
            self.start += step

    def finish(self, tail: str) -> Iterator[Segment]:
        yield from self.add(tail)
        if self.buffer:
            half = self.limits.overlap_chars // 2
            yield self._segment(self.buffer, (half if self.start else 0, len(self.buffer)))
        self.buffer = ""

    def _segment(self, text: str, own: tuple[int, int]) -> Segment:
        return Segment(text, self.line, self.start, own=own, **self.where)  # type: ignore[arg-type]


def read(body: Body, limits: ReadLimits) -> Iterator[Segment]:
    yield from lines_of(decoded_blocks(body), limits)
