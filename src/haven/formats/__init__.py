"""Hash-set exchange formats, one module each, registered here in auto-detection order.

Order matters: SQLite databases (NSRL RDSv3, Sleuth Kit .kdb) go first, as their binary pages can hold
anything; the table their schema creates tells them apart. VICS is JSON and unmistakable, and so are
vPDQ's ``frame,quality,pdq,seconds`` lines. HMA CSV is known by its header and comes before PDQ lists,
whose ``pdq,<hex>`` lines its rows resemble; a local signal list only claims a file with a non-PDQ
``<type> <hash>`` line. A PDQ list must say "pdq" (header or line prefix) because a bare 64-hex line is
just as much a SHA-256; whatever is left with hex lines is plain.
"""

from __future__ import annotations

from haven.formats import autopsy_kdb, hma, nsrl, pdqlist, plain, signal_list, vics, vpdq
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

FORMATS: dict[str, HashListFormat] = {
    module.name: module for module in (nsrl, autopsy_kdb, vics, vpdq, hma, signal_list, pdqlist, plain)
}


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
