"""E-mail (.eml, mbox) and newsgroup articles: the headers that name people and machines, and the text bodies.

Headers are read from the raw header block so every value keeps its line: From, To, Cc, Bcc, Reply-To,
Return-Path, Sender, Delivered-To, Received (its IP and its date: the time that IP was seen, in UTC),
X-Originating-IP, Message-ID; for news also Path (hosts between ``!``), NNTP-Posting-Host (seen at
NNTP-Posting-Date), X-Trace (its host, IP and time). A message's header block is one record
(``headers``, in an mbox ``message:N:headers``): what identifiers co-occur in. Bodies: text/plain and
text/html parts, decoded (``email`` with ``policy.default``). An mbox is split on its ``From `` lines while
streaming, so only one message is held at a time.
"""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

from haven.intel.readers import html as html_reader
from haven.intel.readers.base import Body, Item, ReaderError, ReadLimits, Record, Segment, hint_for, text_segments, utc
from haven.intel.readers.body import BytesBody

NAME = "email"
MBOX = "mbox"
NEWS = "news"
IDENTIFYING_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "reply-to",
        "return-path",
        "sender",
        "delivered-to",
        "received",
        "x-originating-ip",
        "x-sender-ip",
        "x-sender",
        "message-id",
        "path",
        "nntp-posting-host",
        "x-trace",
        "x-complaints-to",
        "organization",
        "injection-info",
    }
)
_HEADER_LINE = re.compile(rb"^[!-9;-~]{1,76}:")
_MBOX_FROM = re.compile(rb"^From \S+ ")
_KNOWN_HEADERS = re.compile(
    rb"^(from|to|subject|date|message-id|received|return-path|mime-version|content-type|newsgroups|path|"
    rb"reply-to|cc|x-[a-z-]+|delivered-to|nntp-posting-host):",
    re.IGNORECASE | re.MULTILINE,
)
LINE_PIECE = 1 << 20
_UNIX_TIME = re.compile(r"\b(1\d{9})\b")


def looks_like_message(head: bytes) -> bool:
    """Starts with RFC 5322 headers, at least two of them ones a message has."""
    block = head.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    first = block.split(b"\n", 1)[0]
    return bool(_HEADER_LINE.match(first)) and len(_KNOWN_HEADERS.findall(block[:16384])) >= 2


def looks_like_mbox(head: bytes) -> bool:
    return bool(_MBOX_FROM.match(head)) and looks_like_message(head.split(b"\n", 1)[1] if b"\n" in head else b"")


def is_news(head: bytes) -> bool:
    block = head.split(b"\n\n", 1)[0].lower()
    return b"\nnewsgroups:" in b"\n" + block and (b"\npath:" in b"\n" + block or b"nntp-posting" in block)


def read_message(body: Body, limits: ReadLimits) -> Iterator[Item]:
    yield from message_items(body.whole(), 1, "headers", limits)


def read_mbox(body: Body, limits: ReadLimits) -> Iterator[Item]:
    stream = body.stream()
    number = 0
    current: list[bytes] = []
    size = 0
    start_line = line = 0
    previous_blank = True
    at_line_start = True
    # Lines are read in pieces of at most LINE_PIECE bytes, so a message's size is checked as it grows, even
    # when it is one enormous line.
    for raw in iter(lambda: stream.readline(LINE_PIECE), b""):
        starts_line, at_line_start = at_line_start, raw.endswith(b"\n")
        line += starts_line
        if starts_line and previous_blank and _MBOX_FROM.match(raw):
            if current:
                number += 1
                yield from message_items(b"".join(current), start_line, f"message:{number}:headers", limits)
            current, size, start_line = [], 0, line + 1
            previous_blank = False
            continue
        size += len(raw)
        if size > limits.in_memory_bytes:
            raise ReaderError(f"mbox message {number + 1} at line {start_line} is larger than the memory limit")
        current.append(raw[1:] if starts_line and raw.startswith(b">From ") else raw)
        previous_blank = starts_line and not raw.strip()
    if current:
        number += 1
        yield from message_items(b"".join(current), start_line, f"message:{number}:headers", limits)


def message_items(raw: bytes, first_line: int, record: str, limits: ReadLimits) -> Iterator[Item]:
    """Header values and body text of one message whose first header is on ``first_line``."""
    headers, body_line = _raw_headers(raw)
    dated = _date_of(headers)
    fields: dict[str, str] = {}
    for name, value, line in headers:
        lower = name.lower()
        if lower not in IDENTIFYING_HEADERS and lower not in ("date", "nntp-posting-date", "subject", "newsgroups"):
            continue
        fields.setdefault(name, value)
        if lower not in IDENTIFYING_HEADERS:
            continue
        observed = _header_time(lower, value, headers) or dated
        text = _decoded(name, value) if "=?" in value else value
        text = text.replace("!", " ") if lower == "path" else text
        yield Segment(
            text,
            first_line + line,
            len(name) + 2,
            field=name,
            record=record,
            observed_at=observed,
            hint=hint_for(name),
        )
    if fields:
        yield Record(record, fields)
    message = email.message_from_bytes(raw, policy=policy.default)
    yield from _bodies(message, raw, first_line, first_line + body_line, limits, dated)


def _raw_headers(raw: bytes) -> tuple[list[tuple[str, str, int]], int]:
    """(name, unfolded decoded value, 0-based line) of each header, and the 0-based line the body starts on."""
    headers: list[tuple[str, str, int]] = []
    lines = raw.split(b"\n")
    index = 0
    while index < len(lines):
        line = lines[index].rstrip(b"\r")
        if not line:
            return headers, index + 1
        if line[:1] in (b" ", b"\t") and headers:
            name, value, at = headers[-1]
            headers[-1] = (name, value + " " + _text(line).strip(), at)
        elif b":" in line:
            raw_name, _, raw_value = line.partition(b":")
            headers.append((_text(raw_name).strip(), _text(raw_value).strip(), index))
        index += 1
    return headers, index


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("cp1252", errors="replace")


def _decoded(name: str, value: str) -> str:
    try:
        return str(policy.default.header_fetch_parse(name, value))
    except Exception:
        return value


def _date_of(headers: list[tuple[str, str, int]]) -> datetime | None:
    for name, value, _ in headers:
        if name.lower() in ("date", "nntp-posting-date"):
            found = _parse_date(value)
            if found:
                return found
    return None


def _header_time(lower: str, value: str, headers: list[tuple[str, str, int]]) -> datetime | None:
    if lower == "received" and ";" in value:
        return _parse_date(value.rsplit(";", 1)[1])
    if lower == "nntp-posting-host":
        return next((_parse_date(v) for n, v, _ in headers if n.lower() == "nntp-posting-date"), None)
    if lower == "x-trace":
        inside = value[value.find("(") + 1 : value.rfind(")")] if "(" in value and ")" in value else ""
        if inside:
            found = _parse_date(inside)
            if found:
                return found
        unix = _UNIX_TIME.search(value)
        if unix:
            return datetime.fromtimestamp(int(unix.group(1)), UTC)
    return None


def _parse_date(value: str) -> datetime | None:
    try:
        return utc(parsedate_to_datetime(value.strip()))
    except (TypeError, ValueError, IndexError):
        return None


def _bodies(
    message: EmailMessage, raw: bytes, first_line: int, body_line: int, limits: ReadLimits, dated: datetime | None
) -> Iterator[Segment]:
    for part in message.walk():
        if part.is_multipart() or part.get_content_maintype() != "text":
            continue
        try:
            text = part.get_content()
        except (LookupError, ValueError, AssertionError):
            text = part.get_payload(decode=True).decode("latin-1", errors="replace")  # type: ignore[union-attr]
        if not isinstance(text, str) or not text.strip():
            continue
        line = _part_line(part, raw, first_line, body_line)
        if part.get_content_subtype() == "html":
            yield from _html_text(text, line, limits)
            continue
        yield from text_segments(text, line=line, limits=limits, field="body", observed_at=dated)


def _part_line(part: EmailMessage, raw: bytes, first_line: int, body_line: int) -> int:
    """Where the part's text starts in the raw message: exact for unencoded parts (the decoded text then has
    the raw lines), the body start otherwise. Leading blank lines of the payload are counted."""
    payload = part.get_payload(decode=False)
    encoding = str(part.get("Content-Transfer-Encoding", "7bit")).lower()
    if isinstance(payload, str) and payload.strip() and encoding in ("7bit", "8bit", "binary"):
        probe = payload[:200].encode("utf-8", errors="ignore")
        body_offset = _offset_of_line(raw, body_line - first_line)
        found = raw.find(probe, body_offset) if probe else -1
        if found >= 0:
            return first_line + raw.count(b"\n", 0, found)
    return body_line


def _offset_of_line(raw: bytes, index: int) -> int:
    offset = 0
    for _ in range(index):
        offset = raw.find(b"\n", offset) + 1
        if offset == 0:
            return len(raw)
    return offset


def _html_text(text: str, line: int, limits: ReadLimits) -> Iterator[Segment]:
    part = BytesBody(text.encode("utf-8"), "text/html", "part.html")
    for segment in html_reader.read(part, limits):
        yield Segment(segment.text, line + segment.line - 1, segment.char_offset, field="body", hint=segment.hint)
