"""What every reader shares: the segments of text it hands to the detectors, the records it keeps, the
bytes it reads from (``Body``), the limits it keeps to, and the hint a column or header name gives.

A reader turns one content's bytes into ``Segment``s (a run of text with where it sits: line, offset in
that line, field, record, the time written beside it, a detector hint) and ``Record``s (the fields of a
structured record: a CSV row, a JSON object, a database row, an e-mail header block). Readers stream:
memory stays bounded by the limits whatever the content's size, except for the formats whose libraries
need the whole file (XLSX, DOCX, PDF, pictures), which are refused above ``in_memory_bytes``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO, Protocol

from haven.intel.types import Hint


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of text for the detectors, and where it sits in the content.

    ``line``: 1-based line of ``text[0]`` (0 where lines mean nothing); a newline inside ``text`` moves to
    the next line. ``char_offset``: offset of ``text[0]`` within its line (or record). ``own``: for a window
    of a long line, the finding starts this window keeps (the overlap belongs to the neighbour).
    """

    text: str
    line: int = 0
    char_offset: int = 0
    field: str | None = None
    record: str | None = None
    observed_at: datetime | None = None
    hint: Hint | None = None
    own: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class Record:
    """The fields of a structured record (stored as ``intel_record``), named like the segments' ``record``."""

    name: str
    fields: dict[str, str]


Item = Segment | Record


class ReaderError(Exception):
    """The content cannot be read (further) as this format: one line, recorded as the content's error.
    What the reader yielded before is kept."""


@dataclass(frozen=True)
class ReadLimits:
    """How much a reader may hold at once (picklable: workers get it with each job)."""

    window_chars: int = 1 << 20
    """A line longer than this is read in windows of this many characters."""
    overlap_chars: int = 4096
    """Characters two windows share, so an identifier cut by one window is whole in the next."""
    segment_chars: int = 1 << 16
    """Whole lines are gathered into segments of about this many characters."""
    in_memory_bytes: int = 512 * 1024**2
    """Largest content a whole-file reader (XLSX, DOCX, PDF, picture, e-mail message) takes into memory."""
    field_chars: int = 1 << 20
    """Largest CSV field / database value read (larger ones are cut there)."""
    scratch_dir: str | None = None
    """Where private copies (SQLite databases) are made; the system temporary directory when None."""


class Body(Protocol):
    """A content's bytes, SHA-256-verified by whoever made the body. A reader uses one access mode."""

    name: str
    mime: str
    size: int
    head: bytes

    def stream(self) -> BinaryIO:
        """The bytes from the start, read sequentially."""
        ...

    def whole(self) -> bytes:
        """All the bytes (ReaderError above the in-memory limit)."""
        ...

    def spool(self) -> AbstractContextManager[str]:
        """Path of a private temporary copy (deleted on exit); the evidence itself is never opened for writing."""
        ...


PLATFORMS = frozenset(
    {
        "telegram", "whatsapp", "signal", "kik", "skype", "snapchat", "discord", "instagram", "twitter",
        "facebook", "tiktok", "wickr", "threema", "session", "icq", "reddit", "viber", "wechat", "jabber",
        "xmpp", "tox", "teleguard",
    }
)  # fmt: skip
_AMBIGUOUS = frozenset({"signal", "session", "tox"})
"""Platform names that are ordinary column words too (signal strength, session id): a platform only beside
a handle word (``signal_user``)."""
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_HANDLE_WORDS = frozenset(
    {"username", "user", "handle", "nick", "nickname", "screenname", "screen", "login", "alias", "account", "name",
     "id"}
)  # fmt: skip


def hint_for(field: str | None, region: str | None = None) -> Hint:
    """The hint a column, key or header name gives: ``field`` as written (the detectors know that
    ``username``/``handle`` hold user names), and the platform when the name is a platform's
    (``telegram``, ``kik_user``, ``users.skype``) and nothing else but handle words."""
    if not field:
        return Hint(region=region)
    words = [w for w in _NOT_ALNUM.split(field.rsplit(".", 1)[-1].lower()) if w]
    platforms = [w for w in words if w in PLATFORMS]
    rest = [w for w in words if w not in PLATFORMS]
    platform = None
    if len(platforms) == 1 and all(w in _HANDLE_WORDS for w in rest) and (platforms[0] not in _AMBIGUOUS or rest):
        platform = platforms[0]
    return Hint(field=field, platform=platform, region=region)


def utc(moment: datetime) -> datetime:
    """Aware UTC (a naive time is taken as UTC already)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def text_segments(
    text: str,
    *,
    line: int,
    limits: ReadLimits,
    field: str | None = None,
    record: str | None = None,
    observed_at: datetime | None = None,
    hint: Hint | None = None,
) -> Iterator[Segment]:
    """A text already in memory (a document page, a message body) as segments of whole lines."""
    size = limits.segment_chars
    start = 0
    while start < len(text):
        end = len(text) if len(text) - start <= size else text.rfind("\n", start, start + size) + 1
        if end <= start:  # one line longer than a segment: its own segment
            newline = text.find("\n", start)
            end = len(text) if newline < 0 else newline + 1
        yield Segment(text[start:end], line, 0, field, record, observed_at, hint)
        line += text.count("\n", start, end)
        start = end
