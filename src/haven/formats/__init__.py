"""Hash-set exchange formats, one module each, registered here in auto-detection order.

Order matters: VICS is JSON and unmistakable, and so are vPDQ's ``frame,quality,pdq,seconds`` lines; a
PDQ list must say "pdq" (header or line prefix) because a bare 64-hex line is just as much a SHA-256;
whatever is left with hex lines is plain.
"""

from __future__ import annotations

from haven.formats import pdqlist, plain, vics, vpdq
from haven.formats.base import (
    ENTRY_COLUMNS,
    HEAD_SIZE,
    FormatError,
    HashListFormat,
    Note,
    ParsedEntry,
    Skipped,
    VideoEntry,
)

FORMATS: dict[str, HashListFormat] = {module.name: module for module in (vics, vpdq, pdqlist, plain)}


def detect(head: bytes) -> HashListFormat | None:
    """The first format whose ``sniff`` accepts the file's first ``HEAD_SIZE`` bytes."""
    return next((fmt for fmt in FORMATS.values() if fmt.sniff(head)), None)


__all__ = [
    "ENTRY_COLUMNS",
    "FORMATS",
    "HEAD_SIZE",
    "FormatError",
    "HashListFormat",
    "Note",
    "ParsedEntry",
    "Skipped",
    "VideoEntry",
    "detect",
]
