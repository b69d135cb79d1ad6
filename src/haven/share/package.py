"""The share-package file format, version 1: what both the writer and the reader agree on.

A package is a zip file of exactly three members (docs/share-package.md is the specification):

- ``manifest.json``: who sent it, for which case, when, in which category scheme, and the SHA-256, size
  and entry count of the payload; canonical JSON (sorted keys, no spaces, UTF-8); stored uncompressed.
- ``entries.jsonl``: the payload, one JSON object per line (hashes, category, series, flags).
- ``signature``: 64 bytes, Ed25519 over ``SIGNING_CONTEXT + manifest.json`` exactly as stored.

The signature covers the manifest only, and the manifest pins the payload by its hash: a receiver
verifies the signature before reading one entry, then checks the payload hash while streaming it, so
neither side ever holds the payload in memory.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from haven.formats.base import FormatError

FORMAT_ID = "haven-share-package"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PAYLOAD = "entries.jsonl"
SIGNATURE = "signature"
MEMBERS = (MANIFEST, PAYLOAD, SIGNATURE)
SIGNATURE_SIZE = 64
MANIFEST_MAX = 64 * 1024  # a manifest is a few hundred bytes; anything near this is not one
ALGORITHM = "Ed25519"
ZIP_MAGIC = b"PK\x03\x04"

_HEX64 = re.compile(r"[0-9a-f]{64}").fullmatch


class PackageRefusedError(FormatError):
    """The package as a whole is refused (structure, manifest, signature or payload): one line why."""

    def __init__(self, message: str) -> None:
        super().__init__("", message)


@dataclass(frozen=True)
class Manifest:
    package_id: str
    created_at: datetime
    agency: str
    case_reference: str
    scheme: str | None
    entry_count: int
    includes_paths: bool
    payload_sha256: str
    payload_size: int
    signer_fingerprint: str
    creator: dict[str, Any]


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: the same manifest always serialises to the same bytes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def manifest_bytes(manifest: Manifest) -> bytes:
    return canonical_json(
        {
            "format": FORMAT_ID,
            "format_version": FORMAT_VERSION,
            "package_id": manifest.package_id,
            "created_at": manifest.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "creator": manifest.creator,
            "agency": manifest.agency,
            "case_reference": manifest.case_reference,
            "scheme": manifest.scheme,
            "entry_count": manifest.entry_count,
            "includes_paths": manifest.includes_paths,
            "payload": {"name": PAYLOAD, "sha256": manifest.payload_sha256, "size": manifest.payload_size},
            "signer": {"algorithm": ALGORITHM, "fingerprint": manifest.signer_fingerprint},
        }
    )


def parse_manifest(data: bytes) -> Manifest:
    """The manifest's fields, checked. The format and its version are checked first: a later version
    may sign differently, so nothing else in it is read."""
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise PackageRefusedError(f"{MANIFEST} is garbled: not UTF-8 JSON ({error})") from error
    if not isinstance(value, dict):
        raise PackageRefusedError(f"{MANIFEST} is garbled: not a JSON object")
    if value.get("format") != FORMAT_ID:
        raise PackageRefusedError(f"{MANIFEST} does not describe a Haven share package (format is not {FORMAT_ID!r})")
    version = value.get("format_version")
    if version != FORMAT_VERSION:
        raise PackageRefusedError(
            f"unsupported share-package format version {version!r}: this Haven reads version {FORMAT_VERSION}"
        )
    payload, signer = _object(value, "payload"), _object(value, "signer")
    if payload.get("name") != PAYLOAD:
        raise PackageRefusedError(f"{MANIFEST} is garbled: payload.name must be {PAYLOAD!r}")
    if signer.get("algorithm") != ALGORITHM:
        raise PackageRefusedError(f"{MANIFEST}: signature algorithm {signer.get('algorithm')!r} is not {ALGORITHM}")
    scheme = value.get("scheme")
    if scheme is not None and not isinstance(scheme, str):
        raise PackageRefusedError(f"{MANIFEST} is garbled: scheme must be a string or null")
    creator = value.get("creator", {})
    return Manifest(
        package_id=_text(value, "package_id"),
        created_at=_time(value),
        agency=_text(value, "agency"),
        case_reference=_text(value, "case_reference"),
        scheme=scheme,
        entry_count=_count(value, "entry_count"),
        includes_paths=value.get("includes_paths") is True,
        payload_sha256=_hex(payload, "payload.sha256"),
        payload_size=_count(payload, "payload.size"),
        signer_fingerprint=_hex(signer, "signer.fingerprint"),
        creator=creator if isinstance(creator, dict) else {},
    )


def _object(value: dict[str, Any], key: str) -> dict[str, Any]:
    found = value.get(key)
    if not isinstance(found, dict):
        raise PackageRefusedError(f"{MANIFEST} is garbled: {key} is missing or not an object")
    return found


def _text(value: dict[str, Any], key: str) -> str:
    found = value.get(key)
    if not isinstance(found, str) or not found.strip() or len(found) > 200:
        raise PackageRefusedError(f"{MANIFEST} is garbled: {key} is missing or not a string of 1 to 200 characters")
    return found


def _count(value: dict[str, Any], key: str) -> int:
    found = value.get(key.rsplit(".", 1)[-1])
    if type(found) is not int or found < 0:
        raise PackageRefusedError(f"{MANIFEST} is garbled: {key} is missing or not a whole number")
    return found


def _hex(value: dict[str, Any], key: str) -> str:
    found = value.get(key.rsplit(".", 1)[-1])
    if not isinstance(found, str) or not _HEX64(found):
        raise PackageRefusedError(f"{MANIFEST} is garbled: {key} is missing or not 64 lowercase hex digits")
    return found


def _time(value: dict[str, Any]) -> datetime:
    text = _text(value, "created_at")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as error:
        raise PackageRefusedError(f"{MANIFEST} is garbled: created_at {text!r} is not an ISO 8601 time") from error
    if parsed.tzinfo is None:
        raise PackageRefusedError(f"{MANIFEST} is garbled: created_at {text!r} has no time zone")
    return parsed.astimezone(UTC)
