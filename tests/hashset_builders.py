"""Build synthetic hash-set files for tests: plain lists, PDQ lists and VICS JSON.

Every hash here is made up (a digest of a counter string), never taken from a real set. The
writers stream, so a benchmark can build a large file without holding it in memory.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from haven.formats import ColumnBatch, Skipped

BOMS = {"utf-8-sig": b"\xef\xbb\xbf", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}
WIDTH = {"md5": 16, "sha1": 20, "sha256": 32, "pdq": 32}  # bytes
VICS_BASE = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels"


def fake_hash(kind: str, seed: int | str) -> str:
    """A made-up lowercase hex value of the width of ``kind`` (md5, sha1, sha256, pdq)."""
    return hashlib.blake2b(f"haven-synthetic:{kind}:{seed}".encode(), digest_size=WIDTH[kind]).hexdigest()


def write_text(path: Path, lines: Iterable[str], *, encoding: str = "utf-8", newline: str = "\n") -> Path:
    """Write lines; ``utf-8-sig``, ``utf-16-le`` and ``utf-16-be`` get their byte-order mark."""
    with path.open("wb") as out:
        out.write(BOMS.get(encoding, b""))
        codec = "utf-8" if encoding == "utf-8-sig" else encoding  # the BOM once, not before every line
        for line in lines:
            out.write((line + newline).encode(codec))
    return path


def write_plain(
    path: Path,
    entries: Iterable[str | tuple[str, str | None]],
    *,
    header: str | None = None,
    sep: str = ",",
    encoding: str = "utf-8",
    newline: str = "\n",
) -> Path:
    """One hash per line, with ``sep`` and a category when an entry is (hash, category)."""

    def lines() -> Iterable[str]:
        if header is not None:
            yield header
        for entry in entries:
            value, category = (entry, None) if isinstance(entry, str) else entry
            yield value if category is None else f"{value}{sep}{category}"

    return write_text(path, lines(), encoding=encoding, newline=newline)


def write_pdq(
    path: Path,
    entries: Iterable[str | tuple[str, str | None]],
    *,
    prefix: bool = True,
    header: str | None = None,
    encoding: str = "utf-8",
) -> Path:
    """``pdq <hex>[,category]`` per line (or bare hex when ``prefix`` is False)."""
    lead = "pdq " if prefix else ""
    prefixed = [(lead + e) if isinstance(e, str) else (lead + e[0], e[1]) for e in entries]
    return write_plain(path, prefixed, header=header, encoding=encoding)


def vics_media(
    md5: str,
    *,
    media_id: int = 1,
    category: int | str | None = None,
    sha1: str | None = None,
    sha256: str | None = None,
    pdq: str | None = None,
    photodna: str | None = None,
    series: str | None = None,
    victim_identified: bool | str | None = None,
    offender_identified: bool | str | None = None,
    tags: str | None = None,
    alternative: Iterable[tuple[str, str]] = (),
) -> dict[str, Any]:
    """One VICS 2.0 Media record in the shape exporters write (upper-case hex, extra fields)."""
    alternatives = [{"MD5": md5.upper(), "HashName": n, "HashValue": v} for n, v in alternative]
    if sha256:
        alternatives.append({"MD5": md5.upper(), "HashName": "SHA256", "HashValue": sha256.upper()})
    if pdq:
        alternatives.append({"MD5": md5.upper(), "HashName": "PDQ", "HashValue": pdq})
    return {
        "MediaID": media_id,
        "Category": category,
        "MD5": md5.upper(),
        "SHA1": sha1.upper() if sha1 else sha1,
        "MediaSize": 1000 + media_id,
        "IsPrecategorized": True,
        "Series": series,
        "VictimIdentified": victim_identified,
        "OffenderIdentified": offender_identified,
        "IsDistributed": False,
        "Tags": tags,
        "Comments": None,
        "PhotoDNA": photodna,
        "AlternativeHashes": alternatives,
        "MediaFiles": [{"MD5": md5.upper(), "MediaFileID": 1, "FileName": f"file{media_id}.jpg"}],
    }


def write_vics(
    path: Path,
    media: Iterable[dict[str, Any]],
    *,
    collection: str = "Cases",
    segment: str | None = "US",
    version: str = "2.0",
    bom: bool = False,
) -> Path:
    """A VICS file: 2.0 ``@odata.context`` (``#Cases`` or ``#Media``) or 1.x ``odata.metadata``."""
    model = f"{VICS_BASE}/{version}.xml"
    if version.startswith("1."):
        root = f'{{"odata.metadata": "{model}#{collection}", "value": ['
    else:
        scheme = f"/{segment}" if segment else ""
        root = f'{{"@odata.context": "{model}{scheme}/$metadata#{collection}", "value": ['
    with path.open("wb") as out:
        out.write((b"\xef\xbb\xbf" if bom else b"") + root.encode())
        if collection == "Cases":
            out.write(b'{"CaseID": "00000000-0000-0000-0000-000000000001", "CaseNumber": "TEST-1", "Media": [')
        for index, record in enumerate(media):
            out.write((b",\n" if index else b"\n") + json.dumps(record).encode())
        if collection == "Cases":
            out.write(b'], "SourceApplicationName": "haven-tests"}')
        out.write(b"]}\n")
    return path


def read_all(items: Iterable[Any]) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """A reader's output split into (entries, skipped reasons, notes), each reason as printed."""
    entries: list[dict[str, Any]] = []
    skipped: list[str] = []
    notes: list[str] = []
    for item in items:
        if isinstance(item, dict):
            entries.append(item)
        elif isinstance(item, ColumnBatch):
            entries.extend(item.entries())
        elif isinstance(item, Skipped):
            skipped.append(str(item))
        else:
            notes.append(str(item))
    return entries, skipped, notes
