"""Timestamps written in logs, chats and mail headers, so an IP can carry the time it was seen.

The combined scan (``haven.intel.detect``) matches ``PATTERN`` as a token of its own: a date or time is
never read as a phone number, and each timestamp is kept so the IPs on the same line pick up the nearest
one. Explicit offsets (``+0100``, ``-05:00``, ``Z``, ``UTC``, ``GMT``, ``CET`` ...) are converted to UTC;
a naive time counts as UTC only when the context says so (``UTC`` on the line or near the top of the
text, or a field named ``*utc*``), otherwise it is kept as local time, unconverted.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING

from haven.intel.types import Found

if TYPE_CHECKING:
    from ._scan import Scan

_MONTHS = {
    m: i
    for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)
}
# Zone abbreviations mail and news servers write (RFC 5322 obsolete zones plus common European ones).
_ZONES = {
    "z": 0,
    "utc": 0,
    "gmt": 0,
    "ut": 0,
    "wet": 0,
    "bst": 60,
    "cet": 60,
    "cest": 120,
    "met": 60,
    "mest": 120,
    "eet": 120,
    "eest": 180,
    "est": -300,
    "edt": -240,
    "cst": -360,
    "cdt": -300,
    "mst": -420,
    "mdt": -360,
    "pst": -480,
    "pdt": -420,
}
_ZONE = (
    r"(?:\s?(?:[Zz]\b|(?:UTC|GMT|UT)(?:\s?[+-]\d{1,2}(?::?\d{2})?)?|[+-]\d{2}:?\d{2}"
    r"|\(?(?:[CEMP][SD]T|BST|CES?T|MES?T|EES?T|WET)\)?)(?![\w:]))?"
)
_TIME = r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:\s?[AaPp]\.?[Mm]\.?)?"
_MONTH_NAME = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*"

# One alternative per written form; the whole is a group-free fragment of the combined scan.
PATTERN = (
    r"(?<![\w.:/-])(?:"
    # ISO 8601 / SQL: 2024-01-15T14:03:22Z, 2024-01-15 14:03:22.123 +01:00, or a date alone
    rf"\d{{4}}-\d{{2}}-\d{{2}}(?:[T ]{_TIME}{_ZONE})?"
    # Apache/NCSA common log: 15/Jan/2024:14:03:22 +0100
    rf"|\d{{1,2}}/{_MONTH_NAME}/\d{{4}}:\d{{2}}:\d{{2}}:\d{{2}}(?:\s[+-]\d{{4}})?"
    # RFC 5322 mail/news: Mon, 15 Jan 2024 14:03:22 +0100 (weekday optional)
    rf"|(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?\s)?\d{{1,2}}\s{_MONTH_NAME}\s\d{{4}}(?:,?\s{_TIME}{_ZONE})?"
    # US/European numeric: 1/15/2024 2:03:22 PM, 15.01.2024 14:03, 2024/01/15 14:03, 15/01/24, 14:03
    rf"|\d{{1,4}}[./]\d{{1,2}}[./]\d{{2,4}}(?:,?\s{_TIME}{_ZONE})?"
    # ctime / syslog with year: Mon Jan 15 14:03:22 2024
    rf"|(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s{_MONTH_NAME}\s+\d{{1,2}}\s{_TIME}(?:{_ZONE}\s)?\s?\d{{4}}"
    # a time alone (chat lines: [14:03:22]); parsed as nothing, kept out of phones and IPv6
    rf"|{_TIME}{_ZONE}"
    r")(?![\w:])"
)

_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](.*))?$", re.S)
_CLF = re.compile(r"(\d{1,2})/([A-Za-z]+)/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?:\s([+-]\d{4}))?$")
_RFC = re.compile(r"(?:[A-Za-z]+,?\s)?(\d{1,2})\s([A-Za-z]+)\s(\d{4})(?:,?\s(.*))?$", re.S)
_NUMERIC = re.compile(r"(\d{1,4})([./])(\d{1,2})[./](\d{2,4})(?:,?\s(.*))?$", re.S)
_CTIME = re.compile(r"[A-Za-z]+\s([A-Za-z]+)\s+(\d{1,2})\s(.*?)\s?(\d{4})$", re.S)
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:\s?([AaPp])\.?[Mm]\.?)?\s*(.*)$", re.S)
_OFFSET = re.compile(r"(?:UTC|GMT|UT)?\s?([+-])(\d{1,2}):?(\d{2})?$", re.I)


@dataclass(frozen=True, slots=True)
class Stamp:
    """A parsed timestamp: ``moment`` is aware (UTC) when the text gave a zone, else naive local time."""

    start: int
    end: int
    moment: datetime
    aware: bool


def _zone_minutes(zone: str) -> int | None:
    zone = zone.strip().strip("()")
    if not zone:
        return None
    known = _ZONES.get(zone.lower())
    if known is not None:
        return known
    offset = _OFFSET.match(zone)
    if offset is None:
        return None
    minutes = int(offset.group(2)) * 60 + int(offset.group(3) or 0)
    return -minutes if offset.group(1) == "-" else minutes


def _clock(text: str) -> tuple[int, int, int, int, int | None] | None:
    """(hour, minute, second, microsecond, zone minutes or None) of ``14:03:22.5 PM +0100``."""
    match = _CLOCK.match(text.strip())
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    second = int(match.group(3) or 0)
    micro = int((match.group(4) or "0")[:6].ljust(6, "0"))
    meridiem = (match.group(5) or "").lower()
    if meridiem == "p" and hour < 12:
        hour += 12
    elif meridiem == "a" and hour == 12:
        hour = 0
    return hour, minute, second, micro, _zone_minutes(match.group(6))


def _build(
    year: int, month: int, day: int, clock: tuple[int, int, int, int, int | None] | None, start: int, end: int
) -> Stamp | None:
    if clock is None:
        return None
    hour, minute, second, micro, zone = clock
    if year < 100:
        year += 2000 if year < 70 else 1900
    try:
        moment = datetime(year, month, day, hour, minute, second, micro)
    except ValueError:
        return None
    if zone is None:
        return Stamp(start, end, moment, False)
    aware = moment.replace(tzinfo=timezone(timedelta(minutes=zone))).astimezone(UTC)
    return Stamp(start, end, aware, True)


def parse(token: str, start: int = 0) -> Stamp | None:
    """The moment a token matched by ``PATTERN`` names; None for a date or a time alone, or an impossible date."""
    end = start + len(token)
    if match := _ISO.match(token):
        rest = match.group(4)
        clock = _clock(rest) if rest else None
        return _build(int(match.group(1)), int(match.group(2)), int(match.group(3)), clock, start, end)
    if match := _CLF.match(token):
        month = _MONTHS.get(match.group(2)[:3].lower())
        if month is None:
            return None
        clock_text = f"{match.group(4)}:{match.group(5)}:{match.group(6)} {match.group(7) or ''}"
        return _build(int(match.group(3)), month, int(match.group(1)), _clock(clock_text), start, end)
    if match := _RFC.match(token):
        month = _MONTHS.get(match.group(2)[:3].lower())
        if month is None or not match.group(4):
            return None
        return _build(int(match.group(3)), month, int(match.group(1)), _clock(match.group(4)), start, end)
    if match := _CTIME.match(token):
        month = _MONTHS.get(match.group(1)[:3].lower())
        if month is None:
            return None
        return _build(int(match.group(4)), month, int(match.group(2)), _clock(match.group(3)), start, end)
    if match := _NUMERIC.match(token):
        if not match.group(5):
            return None
        first, second, third = int(match.group(1)), int(match.group(3)), int(match.group(4))
        if len(match.group(1)) == 4:  # 2024/01/15
            year, month, day = first, second, third
        elif match.group(2) == "." or first > 12:  # 15.01.2024: day first, as everywhere dots are used
            year, month, day = third, second, first
        else:  # 1/15/2024: month first (US, WhatsApp/Kik exports in en-US)
            year, month, day = third, first, second
        return _build(year, month, day, _clock(match.group(5)), start, end)
    return None


def iso_utc(moment: datetime) -> str:
    """ISO-8601 with a ``Z`` suffix, seconds precision (microseconds only when written)."""
    text = moment.astimezone(UTC).replace(tzinfo=None).isoformat()
    return text + "Z"


def iso_local(moment: datetime) -> str:
    return moment.isoformat()


_UTC_WORD = re.compile(r"\b(?:UTC|GMT)\b|\butc\b")
_HEADER_LINE = re.compile(r"[A-Za-z][\w-]*:[ \t]")
_DATE_HEADER = re.compile(r"(?im)^(?:nntp-posting-date|date|injection-date)[ \t]*:")


def _logical_line(text: str, pos: int) -> tuple[int, int]:
    """The line holding ``pos`` with its folded continuation lines (mail headers fold with leading blanks)."""
    start = text.rfind("\n", 0, pos) + 1
    while start > 0 and text[start : start + 1] in (" ", "\t"):
        start = text.rfind("\n", 0, start - 1) + 1
    end = text.find("\n", pos)
    while end >= 0 and text[end + 1 : end + 2] in (" ", "\t") and text[end + 1 : end + 2] != "":
        end = text.find("\n", end + 1)
    return start, len(text) if end < 0 else end


def _header_block(text: str, pos: int) -> tuple[int, int] | None:
    """The block of ``Name: value`` lines around ``pos`` (bounded by blank lines), or None."""
    start = text.rfind("\n\n", 0, pos)
    start = 0 if start < 0 else start + 2
    end = text.find("\n\n", pos)
    end = len(text) if end < 0 else end
    if not _HEADER_LINE.match(text, start) or not _HEADER_LINE.match(text, text.rfind("\n", 0, pos) + 1):
        return None
    return start, end


def _nearest(scan: Scan, begin: int, end: int, start: int, stop: int) -> Stamp | None:
    """The parseable timestamp token within ``begin..end`` nearest to ``start..stop``."""
    spans = scan.stamps
    first = bisect.bisect_left(spans, (begin, begin))
    last = bisect.bisect_right(spans, (end, end))
    inside = [span for span in spans[first:last] if span[1] <= end]
    inside.sort(key=lambda span: span[0] - stop if span[0] >= stop else start - span[1])
    for span_start, span_end in inside:
        stamp = parse(scan.text[span_start:span_end], span_start)
        if stamp is not None:
            return stamp
    return None


def attach(scan: Scan, found: list[Found]) -> list[Found]:
    """IPs with ``observed_at`` (UTC) or ``observed_at_local`` from the nearest timestamp on their line."""
    text = scan.text
    utc_context = bool(_UTC_WORD.search(text, 0, 2000)) or "utc" in (scan.hint.field or "").lower()
    result: list[Found] = []
    for item in found:
        if item.type not in ("ipv4", "ipv6"):
            result.append(item)
            continue
        begin, end = _logical_line(text, item.start)
        stamp = _nearest(scan, begin, end, item.start, item.end)
        if stamp is None and (block := _header_block(text, item.start)) is not None:
            header = _DATE_HEADER.search(text, *block)
            if header is not None:
                header_end = _logical_line(text, header.start())[1]
                stamp = _nearest(scan, header.start(), header_end, header.end(), header.end())
        if stamp is None:
            result.append(item)
            continue
        detail = dict(item.detail)
        if stamp.aware:
            detail["observed_at"] = iso_utc(stamp.moment)
        elif utc_context or _UTC_WORD.search(text, begin, end):
            detail["observed_at"] = iso_utc(stamp.moment.replace(tzinfo=UTC))
        else:
            detail["observed_at_local"] = iso_local(stamp.moment)
        result.append(replace(item, detail=detail))
    return result
