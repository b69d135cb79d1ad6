"""Write a share package from a stream of entries, in flat memory.

The manifest must come first in the zip (so a reader can tell a package by its first bytes) but pins
the payload's hash and count, known only once every entry is written. So the payload is streamed to an
anonymous temporary file beside the output while it is hashed, then copied into the zip after the
manifest: one extra sequential write, instead of holding the payload in memory or querying the store
twice (the case could change between two passes, and the hash would then lie).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from haven.atomic import atomic_output
from haven.share.package import MANIFEST, PAYLOAD, SIGNATURE, Manifest, manifest_bytes
from haven.share.signing import SigningKey

COPY_CHUNK = 1 << 20
ZIP64_FROM = 1 << 31  # zipfile needs to know up front when a member may pass the 32-bit size fields


@dataclass(frozen=True)
class PackageWritten:
    manifest: Manifest
    entries: int


def write_package(
    out: Path,
    entries: Iterable[Mapping[str, Any]],
    *,
    key: SigningKey,
    agency: str,
    case_reference: str,
    scheme: str | None,
    creator: dict[str, Any],
    includes_paths: bool,
) -> PackageWritten:
    """Write ``entries`` (dicts of the payload fields; None values are left out) as a signed package at ``out``.

    The file appears whole at ``out`` or not at all (``haven.atomic``)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    created_at = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryFile(dir=out.parent, prefix=f".{out.name}.payload.") as payload:
        digest, size, count = _write_payload(payload, entries)
        manifest = Manifest(
            package_id=str(uuid.uuid4()),
            created_at=created_at,
            agency=agency,
            case_reference=case_reference,
            scheme=scheme,
            entry_count=count,
            includes_paths=includes_paths,
            payload_sha256=digest,
            payload_size=size,
            signer_fingerprint=key.fingerprint,
            creator=creator,
        )
        signed = manifest_bytes(manifest)
        payload.seek(0)
        with atomic_output(out) as stream, zipfile.ZipFile(stream, "w") as archive:
            stamp = created_at.timetuple()[:6]
            archive.writestr(_member(MANIFEST, stamp, zipfile.ZIP_STORED), signed)
            member = _member(PAYLOAD, stamp, zipfile.ZIP_DEFLATED)
            member.file_size = size
            with archive.open(member, "w", force_zip64=size >= ZIP64_FROM) as target:
                shutil.copyfileobj(payload, target, COPY_CHUNK)
            archive.writestr(_member(SIGNATURE, stamp, zipfile.ZIP_STORED), key.sign(signed))
    return PackageWritten(manifest, count)


def _write_payload(payload: BinaryIO, entries: Iterable[Mapping[str, Any]]) -> tuple[str, int, int]:
    digest, size, count = hashlib.sha256(), 0, 0
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for entry in entries:
        line = (encode({k: v for k, v in entry.items() if v is not None}) + "\n").encode("utf-8")
        digest.update(line)
        payload.write(line)
        size += len(line)
        count += 1
    payload.flush()
    return digest.hexdigest(), size, count


def _member(name: str, stamp: tuple[int, ...], compression: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=stamp)  # type: ignore[arg-type]
    info.compress_type = compression
    info.external_attr = 0o644 << 16  # an unpacked member is an ordinary readable file
    return info
