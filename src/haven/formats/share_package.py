"""Haven share packages (``.havenshare``): signed lists of hashes and categories from partner agencies.

Unlike every other format, a package is read only once its signature has been checked against the
keys this store trusts, so ``read(path)`` alone refuses: the importer calls ``verify(path, trusted)``
first (it needs the store's trusted keys, which a format module has no access to) and reads the
entries through what that returns. Order of checks, each refusing the whole package with its reason:
zip structure and members, manifest (format, version, fields), signer known and not revoked, signature,
then, while streaming, the payload's size, SHA-256 and entry count against the signed manifest. The hash
is only known at the end of the stream, so an altered payload raises after entries were yielded: the
import transaction rolls back and nothing stays. The format is specified in docs/share-package.md.

Detection claims every zip file (no other hash-set format Haven reads is one): a zip that is not a
package is then refused with what it lacks, rather than as an "unrecognised format".
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from haven.formats.base import (
    CATEGORY_MAX,
    LABELS,
    NEVER_IMPORT,
    Note,
    ParsedEntry,
    Skipped,
    is_hex,
    new_entry,
    shorten,
)
from haven.share.package import (
    MANIFEST,
    MANIFEST_MAX,
    MEMBERS,
    PAYLOAD,
    SIGNATURE,
    SIGNATURE_SIZE,
    ZIP_MAGIC,
    Manifest,
    PackageRefusedError,
    parse_manifest,
)
from haven.share.signing import TrustedSigner, short

name = "haven"

LINE_MAX = 1 << 20  # one entry is a few hundred bytes; a megabyte line is not an entry
CHUNK = 1 << 20
FLAGS = ("victim_identified", "offender_identified")
_decode = json.JSONDecoder().decode
HASH_WIDTHS = (("md5", 32), ("sha1", 40), ("sha256", 64), ("pdq", 64))
DAMAGE = (zipfile.BadZipFile, zlib.error, EOFError)  # what zipfile raises on a corrupted compressed member


def sniff(head: bytes) -> bool:
    return head.startswith(ZIP_MAGIC)


def scheme(head: bytes) -> str | None:
    return None  # in the manifest, known once the package is verified


def read(path: Path) -> Iterator[ParsedEntry | Skipped | Note]:
    raise PackageRefusedError("a share package is read only after its signature is verified (haven hashset import)")


@dataclass(frozen=True)
class VerifiedPackage:
    """A package whose manifest is signed by a trusted, unrevoked key; its entries are not read yet."""

    path: Path
    manifest: Manifest
    signer: TrustedSigner

    @property
    def scheme(self) -> str | None:
        return self.manifest.scheme

    @property
    def provenance(self) -> dict[str, Any]:
        """HashSet provenance columns. The agency is the one recorded when the key was trusted."""
        return {
            "agency": self.signer.agency,
            "case_reference": self.manifest.case_reference,
            "shared_at": self.manifest.created_at,
            "signer_fingerprint": self.signer.fingerprint,
        }

    def audit_detail(self) -> dict[str, Any]:
        return {
            "package_id": self.manifest.package_id,
            "signer_fingerprint": self.signer.fingerprint,
            "agency": self.signer.agency,
            "case_reference": self.manifest.case_reference,
            "shared_at": self.manifest.created_at.isoformat(),
        }

    def read(self) -> Iterator[ParsedEntry | Skipped | Note]:
        if self.manifest.agency != self.signer.agency:
            yield Note(
                MANIFEST,
                f"the package names its agency {shorten(self.manifest.agency)}; recorded as "
                f"{shorten(self.signer.agency)}, the agency its key was trusted for",
            )
        try:
            with zipfile.ZipFile(self.path) as archive, archive.open(PAYLOAD) as stream:
                yield from _entries(stream, self.manifest)
        except DAMAGE as error:
            raise PackageRefusedError(f"the payload is damaged or was altered after signing ({error})") from error


def verify(path: Path, trusted: Mapping[str, TrustedSigner]) -> VerifiedPackage:
    """Check structure, manifest and signature; raises ``PackageRefusedError`` naming the first reason to refuse."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = _members(archive)
            manifest_data = archive.read(MANIFEST)
            manifest = parse_manifest(manifest_data)
            signature = archive.read(SIGNATURE)
            payload_size = members[PAYLOAD].file_size
    except DAMAGE as error:
        raise PackageRefusedError(f"not a complete share package: the zip is truncated or damaged ({error})") from error
    signer = trusted.get(manifest.signer_fingerprint)
    if signer is None:
        raise PackageRefusedError(
            f"signed by an untrusted key {manifest.signer_fingerprint} (the package says agency "
            f"{shorten(manifest.agency)}); check that fingerprint with the sender, then: "
            f"haven keys trust THEIR-KEY.pub.pem --agency NAME"
        )
    if signer.revoked_at is not None:
        raise PackageRefusedError(
            f"signed by the key of {signer.agency} ({short(signer.fingerprint)}), revoked on "
            f"{signer.revoked_at:%Y-%m-%d}; ask them for a package signed with their current key"
        )
    if len(signature) != SIGNATURE_SIZE:
        raise PackageRefusedError(f"the signature is garbled: {len(signature)} bytes, an Ed25519 signature has 64")
    if not signer.verifies(manifest_data, signature):
        raise PackageRefusedError(
            f"bad signature: the manifest was altered after signing, or not signed by the key of "
            f"{signer.agency} ({short(signer.fingerprint)})"
        )
    if payload_size != manifest.payload_size:
        raise PackageRefusedError(
            f"the payload was altered after signing: {payload_size:,} bytes, the manifest signed "
            f"{manifest.payload_size:,}"
        )
    return VerifiedPackage(path, manifest, signer)


def _members(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    names = [info.filename for info in archive.infolist()]
    if MANIFEST not in names:
        raise PackageRefusedError(f"not a Haven share package: the zip has no {MANIFEST}")
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:  # zipfile would read the last copy, another tool the first: refuse the ambiguity
        raise PackageRefusedError(f"not a valid share package: {', '.join(duplicated)} appears more than once")
    missing, extra = [m for m in MEMBERS if m not in names], [n for n in names if n not in MEMBERS]
    if missing or extra:
        problems = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"unexpected {shorten(', '.join(extra))}"] if extra else []
        )
        raise PackageRefusedError(
            f"not a valid share package: {'; '.join(problems)} (its members are exactly {', '.join(MEMBERS)})"
        )
    members = {info.filename: info for info in archive.infolist()}
    if members[MANIFEST].file_size > MANIFEST_MAX:
        raise PackageRefusedError(f"{MANIFEST} is garbled: {members[MANIFEST].file_size:,} bytes is too large for one")
    return members


def _entries(stream: Any, manifest: Manifest) -> Iterator[ParsedEntry | Skipped | Note]:
    """Entries line by line; the verdict on the payload as a whole comes at its end."""
    payload = _Payload(manifest)
    number, with_paths = 0, 0
    for line in payload.lines(stream):
        number += 1
        parsed = _entry(line, number)
        if type(parsed) is dict:
            yield parsed
        elif isinstance(parsed, tuple):
            entry, notes, has_paths = parsed
            with_paths += has_paths
            yield from notes
            yield entry
        else:
            yield parsed
    payload.finish(number)
    if with_paths:
        yield Note(PAYLOAD, f"{with_paths:,} entries carried file paths; Haven does not store a partner's paths")


class _Payload:
    """The payload's bytes split into lines, hashed and measured as read, checked against the signed manifest.

    Read in CHUNK-sized blocks, hashed and split in C: per-line reads through zipfile cost more than parsing."""

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.digest = hashlib.sha256()
        self.size = 0

    def lines(self, stream: Any) -> Iterator[bytes]:
        rest, seen = b"", 0
        while chunk := stream.read(CHUNK):
            self.size += len(chunk)
            if self.size > self.manifest.payload_size:  # also bounds what a hostile deflate stream makes us inflate
                raise PackageRefusedError("the payload was altered after signing: longer than the signed manifest says")
            self.digest.update(chunk)
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            seen += len(lines)
            if len(rest) > LINE_MAX:
                raise PackageRefusedError(f"record {seen + 1} is longer than {LINE_MAX:,} bytes: not an entry")
            yield from lines
        if rest:  # a last line without its line feed
            yield rest

    def finish(self, entries: int) -> None:
        manifest = self.manifest
        if self.size != manifest.payload_size or self.digest.hexdigest() != manifest.payload_sha256:
            raise PackageRefusedError(
                "the payload was altered after signing: its SHA-256 does not match the signed manifest"
            )
        if entries != manifest.entry_count:
            raise PackageRefusedError(
                f"the payload holds {entries:,} entries, the signed manifest says {manifest.entry_count:,}"
            )


def _entry(line: bytes, number: int) -> ParsedEntry | tuple[ParsedEntry, list[Note], bool] | Skipped:
    """A payload line as an entry; with the notes on what was dropped (and whether it had paths) when not clean."""
    try:
        value = _decode(line.decode("utf-8"))
    except ValueError as error:  # UnicodeDecodeError is one
        return Skipped(f"record {number}", f"not a JSON object ({error})")
    if type(value) is not dict:
        return Skipped(f"record {number}", "not a JSON object")
    entry = new_entry()
    notes: list[Note] = []
    usable = False
    for column, width in HASH_WIDTHS:
        raw = value.get(column)
        if raw is None:
            continue
        if type(raw) is not str or len(raw) != width or not is_hex(raw):  # lowercase as written: the fast path
            raw = raw.strip().lower() if type(raw) is str else ""
            if len(raw) != width or not is_hex(raw):
                return Skipped(f"record {number}", f"{column} {shorten(str(value[column]))} is not {width} hex digits")
        if raw in NEVER_IMPORT:
            notes.append(Note(f"record {number}", f"{LABELS[column]} dropped: {NEVER_IMPORT[raw]}"))
            continue
        entry[column] = raw  # type: ignore[literal-required]
        usable = True
    if not usable:
        return Skipped(f"record {number}", "no usable hash")
    category = value.get("category")
    if category is not None:
        # Codes are strings ("1", "A"); a partner tool writing VICS-style integers is read the same way.
        code = str(category).strip() if type(category) in (str, int) else ""
        if not code or len(code) > CATEGORY_MAX:
            reason = f"category {shorten(str(category))} is not a code of 1 to {CATEGORY_MAX} characters"
            return Skipped(f"record {number}", reason)
        entry["category"] = code
    series = value.get("series")
    if type(series) is str:
        entry["series"] = series.strip() or None
    for flag in FLAGS:
        flag_value = value.get(flag)
        if type(flag_value) is bool:
            entry[flag] = flag_value  # type: ignore[literal-required]
        elif flag_value is not None:
            notes.append(Note(f"record {number}", f"{flag} {shorten(str(flag_value))} is not true or false; dropped"))
    has_paths = bool(value.get("paths"))
    return (entry, notes, has_paths) if notes or has_paths else entry
