"""A sightings file: its bytes read once (so what is hashed is what is parsed), the text decoded, the format
told by content (a STIX bundle, JSON, JSON Lines, or delimited text), and the right reader run."""

from __future__ import annotations

import codecs
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from haven.intel.sightings.records import Observation, Skipped
from haven.intel.sightings.stix import read_stix
from haven.intel.sightings.tabular import MalformedFileError, read_csv, read_json

MAX_BYTES = 512 * 1024 * 1024
"""Read into memory whole: a monitoring export of a few million rows fits; anything larger is refused."""
FORMATS = ("csv", "json", "stix")


@dataclass(frozen=True)
class SightingsFile:
    path: Path
    sha256: str
    text: str
    format: str  # csv | json | stix
    encoding: str


def open_sightings(path: Path, fmt: str = "auto") -> SightingsFile:
    """Read and identify ``path``; MalformedFileError when it is empty, too large or not text."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise MalformedFileError(f"{size:,} bytes: larger than {MAX_BYTES // 2**20} MiB; split it")
    data = path.read_bytes()
    text, encoding = _decode(data)
    if not text.strip():
        raise MalformedFileError("empty file")
    if fmt == "auto":
        fmt = _sniff(text)
    elif fmt not in FORMATS:
        raise MalformedFileError(f"unknown format {fmt!r} (one of: auto, {', '.join(FORMATS)})")
    return SightingsFile(path, hashlib.sha256(data).hexdigest(), text, fmt, encoding)


def observations(sightings: SightingsFile, default_source: str | None) -> Iterator[Observation | Skipped]:
    reader = {"csv": read_csv, "json": read_json, "stix": read_stix}[sightings.format]
    return reader(sightings.text, default_source)


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as error:
            raise MalformedFileError(f"broken UTF-16 at byte {error.start}") from None
    if b"\x00" in data[:4096]:
        raise MalformedFileError("binary data, not a CSV, JSON or STIX text file")
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"  # exports from Windows tools


def _sniff(text: str) -> str:
    head = text.lstrip()[:1]
    if head not in ("{", "["):
        return "csv"
    if head == "{":
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            return "json"  # JSON Lines, or broken JSON: the JSON reader tells which
        if isinstance(document, dict) and document.get("type") == "bundle":
            return "stix"
    return "json"
