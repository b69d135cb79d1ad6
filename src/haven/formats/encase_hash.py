"""EnCase hash sets (``.hash``, EnCase 3 to 6): MD5s in a fixed binary layout.

Layout, as The Sleuth Kit (tsk/hashdb/encase.cpp), md5deep (files.cpp: ``ENCASE_HASH_HEADER``,
``parse_encase_file``) and the Forensics Wiki ("EnCase hash files") describe it:
- 0x000: the signature ``HASH\\r\\n\\xff\\x00``, then version (uint32 LE) and padding;
- 0x010: the number of hashes, uint32 little-endian;
- 0x408: the set's name as EnCase shows it, UTF-16LE, up to 39 characters, NUL-padded;
- 0x458: the set's category ("Notable", "Known", ...), UTF-16LE, up to 19 characters;
- 0x480: the hashes, 18 bytes each: 16 bytes of MD5, then two zero bytes; no file names.
Name and category belong to the set, not to an entry, so they are reported in a note rather than
copied onto every row; entry categories stay empty (EnCase's are not a categorization scheme).
EnCase 7 and later keep hash libraries in a different, undocumented format: not read here.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

from haven.formats.base import NEVER_IMPORT, FormatError, Note, ParsedEntry, Skipped, new_entry

name = "encase"

SIGNATURE = b"HASH\r\n\xff\x00"
COUNT_AT = 0x10
NAME_AT, NAME_BYTES = 0x408, 78
CATEGORY_AT, CATEGORY_BYTES = 0x458, 38
HASHES_AT = 0x480
RECORD = 18
BATCH_RECORDS = 4096  # read 72 KiB at a time


def sniff(head: bytes) -> bool:
    return head.startswith(SIGNATURE)


def scheme(head: bytes) -> str | None:
    return None  # EnCase categories are labels ("Notable"), not a categorization scheme


def _text(raw: bytes) -> str:
    return raw.decode("utf-16-le", errors="replace").split("\x00", 1)[0].strip()


def read(path: Path) -> Iterator[ParsedEntry | Skipped | Note]:
    with path.open("rb") as stream:
        header = stream.read(HASHES_AT)
        if len(header) < HASHES_AT or not header.startswith(SIGNATURE):
            raise FormatError("header", f"not an EnCase hash set: shorter than its {HASHES_AT}-byte header")
        (declared,) = struct.unpack_from("<I", header, COUNT_AT)
        set_name = _text(header[NAME_AT : NAME_AT + NAME_BYTES])
        category = _text(header[CATEGORY_AT : CATEGORY_AT + CATEGORY_BYTES])
        yield Note("header", f"EnCase hash set {set_name or '(unnamed)'!r}, category {category or '(none)'!r}")
        number = 0
        while block := stream.read(RECORD * BATCH_RECORDS):
            for offset in range(0, len(block) - RECORD + 1, RECORD):
                number += 1
                value = block[offset : offset + 16].hex()
                if value in NEVER_IMPORT:
                    yield Skipped(f"record {number}", NEVER_IMPORT[value])
                    continue
                entry = new_entry()
                entry["md5"] = value
                yield entry
            if len(block) % RECORD:
                # A short read mid-file cannot happen on a regular file, so a remainder is the file's end.
                yield Skipped(f"record {number + 1}", f"cut short: {len(block) % RECORD} of {RECORD} bytes")
                break
    if number != declared:
        yield Note("header", f"the header says {declared:,} hashes; the file holds {number:,}")
