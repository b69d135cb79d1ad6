"""Hash-set exchange formats, one module each, registered here by name and in auto-detection order.

Order matters: SQLite databases (NSRL RDSv3, Sleuth Kit .kdb) go first, as their binary pages can hold
anything; the table their schema creates tells them apart. VICS is JSON and unmistakable, and so are
vPDQ's ``frame,quality,pdq,seconds`` lines. HMA CSV is known by its header and comes before PDQ lists,
whose ``pdq,<hex>`` lines its rows resemble; a local signal list only claims a file with a non-PDQ
``<type> <hash>`` line. A PDQ list must say "pdq" (header or line prefix) because a bare 64-hex line is
just as much a SHA-256; whatever is left with hex lines is plain.
EnCase ``.hash`` sets are known by their binary signature. HashKeeper's fixed quoted header comes before
the header-named tables (csv), which claim a header only when it names a hash column and another
column (a lone "MD5" header stays plain). md5sum output (``<hash>  <name>``, ``MD5 (<name>) = <hash>``)
goes before signal lists, which would take its BSD lines (and tables an "md5,category" header) for
``<type> <hash>`` lines, and before plain, which would take the name for a category.
Haven share packages are zip files, a container no other format is, so they are tried first.
"""

from __future__ import annotations

from haven.formats import (
    autopsy_kdb,
    checksum_list,
    csv_table,
    encase_hash,
    hashkeeper,
    hma,
    nsrl,
    pdqlist,
    plain,
    share_package,
    signal_list,
    vics,
    vpdq,
)
from haven.formats.base import (
    ENTRY_COLUMNS,
    HEAD_SIZE,
    ColumnBatch,
    FormatError,
    HashListFormat,
    Note,
    ParsedEntry,
    Skipped,
    VideoEntry,
)

FORMATS: dict[str, HashListFormat] = {
    module.name: module
    for module in (
        nsrl,
        autopsy_kdb,
        vics,
        vpdq,
        hma,
        signal_list,
        pdqlist,
        plain,
        encase_hash,
        hashkeeper,
        csv_table,
        checksum_list,
        share_package,
    )
}
"""Every format by name, in the order ``--format`` lists them."""

DETECTION_ORDER: tuple[HashListFormat, ...] = (
    share_package,
    nsrl,
    autopsy_kdb,
    encase_hash,
    vics,
    vpdq,
    hma,
    hashkeeper,
    csv_table,
    checksum_list,
    signal_list,
    pdqlist,
    plain,
)


def detect(head: bytes) -> HashListFormat | None:
    """The first format, in ``DETECTION_ORDER``, whose ``sniff`` accepts the file's first ``HEAD_SIZE`` bytes."""
    return next((fmt for fmt in DETECTION_ORDER if fmt.sniff(head)), None)


__all__ = [
    "DETECTION_ORDER",
    "ENTRY_COLUMNS",
    "FORMATS",
    "HEAD_SIZE",
    "ColumnBatch",
    "FormatError",
    "HashListFormat",
    "Note",
    "ParsedEntry",
    "Skipped",
    "VideoEntry",
    "detect",
]
