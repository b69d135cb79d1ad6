"""Times in sightings files, to UTC.

An IP address is evidence only with its exact time (the provider looks up who held it then), so a time
without a zone is never guessed: it is refused, unless the column itself says the times are UTC
(``observed_at_utc``, ``timestamp (UTC)``). Unix epoch numbers are UTC by definition.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)
_UTC_SUFFIX = re.compile(r"\s*(?:UTC|GMT|Z)$", re.IGNORECASE)
_EPOCH = re.compile(r"\d{9,13}(?:\.\d+)?")


def parse_utc(text: str | int | float, *, column_says_utc: bool, now: datetime | None = None) -> datetime:
    """The UTC moment ``text`` names; ValueError with the reason when it names none or is implausible."""
    moment = _parse(text, column_says_utc)
    now = now or datetime.now(UTC)
    if moment < EARLIEST:
        raise ValueError(f"time {str(text)[:40]!r} is before 1990")
    if moment > now + FUTURE_SLACK:
        raise ValueError(f"time {str(text)[:40]!r} is in the future")
    return moment


def _parse(text: str | int | float, column_says_utc: bool) -> datetime:
    if isinstance(text, bool):
        raise ValueError(f"time {text!r} is not a time")
    if isinstance(text, int | float):
        return _epoch(float(text))
    raw = text.strip()
    if _EPOCH.fullmatch(raw):
        return _epoch(float(raw))
    says_utc = bool(_UTC_SUFFIX.search(raw)) and not raw.endswith(("+", "-"))
    bare = _UTC_SUFFIX.sub("", raw) if says_utc else raw
    try:
        moment = datetime.fromisoformat(bare)
    except ValueError:
        try:
            moment = parsedate_to_datetime(raw)  # RFC 2822, as in e-mail and newsgroup headers
        except (TypeError, ValueError, IndexError):
            raise ValueError(f"time {raw[:40]!r} is not ISO-8601, RFC 2822 or a Unix epoch") from None
    if moment.tzinfo is None:
        if not (says_utc or column_says_utc):
            raise ValueError(
                f"time {raw[:40]!r} has no zone: write it with Z or +00:00, or name the column observed_at_utc"
            )
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _epoch(seconds: float) -> datetime:
    if seconds > 1e11:  # milliseconds: 13 digits until the year 5138
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"epoch {seconds!r} is out of range") from None
