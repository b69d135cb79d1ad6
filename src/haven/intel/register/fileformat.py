"""The register file: JSON lines, a header then one ``{"kind", "value_hash"}`` object per line.

Header (first line): ``format``, ``version``, ``agency``, ``contact``, ``key_fingerprint`` (never the key),
``created_at`` (UTC), ``entry_count``, ``kinds`` ({kind: count}), ``entries_sha256`` (of the entry lines'
bytes), ``mac`` (HMAC-SHA256 under the agreed key over the rest of the header: only a holder of the key
could have made it, and a changed, dropped or added entry changes ``entries_sha256``), and optionally
``signature`` (Ed25519 with the agency's share signing key, over the header with its MAC).

Nothing but keyed hashes leaves: a reader refuses any entry that is not 64 lowercase hex digits.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from haven.atomic import atomic_output
from haven.errors import HavenError
from haven.intel.register.keys import AgreedKey
from haven.intel.register.values import KINDS
from haven.share.signing import SigningKey, TrustedSigner

FORMAT = "haven-intel-register"
VERSION = 1
_MAC_CONTEXT = b"haven-intel-register/v1 mac\n"
_SIGNATURE_CONTEXT = b"haven-intel-register/v1 signature\n"
_HEADER_MAX = 64 * 1024
_ENTRY_MAX = 256
_HASH = re.compile(r"^[0-9a-f]{64}$")
_KINDS = frozenset(KINDS)
_ENTRY_LINE = re.compile(rb'\{"kind":"([a-z0-9]{1,20})","value_hash":"([0-9a-f]{64})"\}\n\Z')
_REQUIRED = ("agency", "contact", "key_fingerprint", "created_at", "entry_count", "kinds", "entries_sha256", "mac")


class RegisterFileError(HavenError):
    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")


@dataclass(frozen=True)
class Written:
    sha256: str
    entry_count: int
    kinds: dict[str, int]


def canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _mac(key: AgreedKey, header: dict[str, Any]) -> str:
    signed = {k: v for k, v in header.items() if k not in ("mac", "signature")}
    return hmac.new(key.key, _MAC_CONTEXT + canonical(signed), "sha256").hexdigest()


def _signed_bytes(header: dict[str, Any]) -> bytes:
    return _SIGNATURE_CONTEXT + canonical({k: v for k, v in header.items() if k != "signature"})


def write_register(
    path: Path,
    entries: Iterable[tuple[str, str]],
    *,
    key: AgreedKey,
    agency: str,
    contact: str,
    signing_key: SigningKey | None = None,
) -> Written:
    """Write ``entries`` (kind, value_hash; distinct) to ``path`` whole or not at all.

    Entries are spooled beside the target first, so the header can carry their count and digest."""
    path.parent.mkdir(parents=True, exist_ok=True)
    digest, kinds = hashlib.sha256(), Counter[str]()
    with tempfile.TemporaryFile(dir=path.parent) as spool:
        for kind, value_hash in entries:
            if kind not in _KINDS or not _HASH.match(value_hash):
                raise ValueError(f"not a register entry: {kind!r}")  # a programming error: values never leave
            # Equal to canonical({"kind": ..., "value_hash": ...}): kinds and hex need no escaping; 3x faster.
            line = f'{{"kind":"{kind}","value_hash":"{value_hash}"}}\n'.encode("ascii")
            digest.update(line)
            spool.write(line)
            kinds[kind] += 1
        header: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "agency": agency,
            "contact": contact,
            "key_fingerprint": key.fingerprint,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "entry_count": sum(kinds.values()),
            "kinds": dict(sorted(kinds.items())),
            "entries_sha256": digest.hexdigest(),
        }
        header["mac"] = _mac(key, header)
        if signing_key is not None:
            header["signature"] = {
                "fingerprint": signing_key.fingerprint,
                "value": base64.b64encode(signing_key.sign(_signed_bytes(header))).decode("ascii"),
            }
        spool.seek(0)
        file_digest = hashlib.sha256()
        with atomic_output(path) as out:
            _write_hashed(out, canonical(header) + b"\n", file_digest)
            while block := spool.read(1 << 20):
                _write_hashed(out, block, file_digest)
    return Written(file_digest.hexdigest(), header["entry_count"], header["kinds"])


def _write_hashed(out: BinaryIO, data: bytes, digest: Any) -> None:
    digest.update(data)
    out.write(data)


@dataclass(frozen=True)
class RegisterHeader:
    path: Path
    fields: dict[str, Any]
    sha256: str  # of the whole file

    @property
    def agency(self) -> str:
        return str(self.fields["agency"])

    @property
    def contact(self) -> str:
        return str(self.fields["contact"])

    @property
    def key_fingerprint(self) -> str:
        return str(self.fields["key_fingerprint"])

    @property
    def entry_count(self) -> int:
        return int(self.fields["entry_count"])

    @property
    def created_at(self) -> datetime:
        return datetime.fromisoformat(str(self.fields["created_at"]).replace("Z", "+00:00"))

    @property
    def signer(self) -> str | None:
        signature = self.fields.get("signature")
        return signature["fingerprint"] if isinstance(signature, dict) else None


def read_header(path: Path) -> RegisterHeader:
    """The file's header, checked for shape only (``verify`` checks it against a key)."""
    file_digest = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            first = stream.readline(_HEADER_MAX + 1)
            file_digest.update(first)
            shutil.copyfileobj(stream, _Sink(file_digest), 1 << 20)
    except OSError as error:
        raise RegisterFileError(path, f"cannot read: {error.strerror or error}") from error
    if not first.endswith(b"\n"):
        raise RegisterFileError(path, "not a Haven register file (no header line)")
    try:
        fields = json.loads(first)
    except (ValueError, UnicodeDecodeError):
        raise RegisterFileError(path, "not a Haven register file (the header is not JSON)") from None
    if not isinstance(fields, dict) or fields.get("format") != FORMAT:
        raise RegisterFileError(path, "not a Haven register file")
    if fields.get("version") != VERSION:
        raise RegisterFileError(path, f"register format version {fields.get('version')!r}; this Haven reads {VERSION}")
    missing = [name for name in _REQUIRED if name not in fields]
    if missing:
        raise RegisterFileError(path, f"the header lacks {', '.join(missing)}: damaged or tampered with")
    header = RegisterHeader(path, fields, file_digest.hexdigest())
    try:
        header.created_at  # noqa: B018 - checked here so later reads cannot fail
        if not isinstance(fields["entry_count"], int) or not isinstance(fields["kinds"], dict):
            raise ValueError
    except (ValueError, TypeError):
        raise RegisterFileError(path, "the header is malformed: damaged or tampered with") from None
    return header


class _Sink:
    def __init__(self, digest: Any) -> None:
        self.digest = digest

    def write(self, data: bytes) -> None:
        self.digest.update(data)


def verify_header(header: RegisterHeader, key: AgreedKey, signers: dict[str, TrustedSigner]) -> None:
    """The right key, an intact header, and (when signed) a valid signature by a trusted, unrevoked key."""
    path = header.path
    if header.key_fingerprint != key.fingerprint:
        raise RegisterFileError(
            path,
            f"made with the key of fingerprint {header.key_fingerprint[:16]}, but key '{key.name}' has "
            f"{key.fingerprint[:16]}: import it with the key agreed with {header.agency}",
        )
    if not hmac.compare_digest(str(header.fields["mac"]), _mac(key, header.fields)):
        raise RegisterFileError(path, "the header's MAC does not verify: the file was altered after it was made")
    signature = header.fields.get("signature")
    if signature is None:
        return
    if not isinstance(signature, dict) or not isinstance(signature.get("value"), str):
        raise RegisterFileError(path, "the signature is malformed")
    signer = signers.get(str(signature.get("fingerprint")))
    if signer is None:
        raise RegisterFileError(
            path,
            f"signed by key {str(signature.get('fingerprint'))[:16]}, which this Haven does not trust "
            "(haven keys trust THEIR-KEY.pub.pem --agency NAME)",
        )
    if signer.revoked_at is not None:
        raise RegisterFileError(path, f"signed by key {signer.fingerprint[:16]} of {signer.agency}, revoked")
    try:
        raw = base64.b64decode(signature["value"], validate=True)
    except ValueError:
        raw = b""
    if not signer.verifies(_signed_bytes(header.fields), raw):
        raise RegisterFileError(path, "the signature does not verify: the file was altered after it was signed")


def read_entries(header: RegisterHeader) -> Iterator[tuple[str, str]]:
    """The entries, each checked; at the end, their count and digest against the header.

    A caller inserting them in one transaction gets all-or-nothing: the error comes before the commit."""
    path, digest, count = header.path, hashlib.sha256(), 0
    with path.open("rb") as stream:
        stream.readline(_HEADER_MAX + 1)
        while line := stream.readline(_ENTRY_MAX + 1):
            count += 1
            digest.update(line)
            canonical_line = _ENTRY_LINE.match(line)  # what Haven writes; anything else is parsed and checked
            yield (
                (canonical_line[1].decode("ascii"), canonical_line[2].decode("ascii"))
                if canonical_line and canonical_line[1].decode("ascii") in _KINDS
                else _parse_entry(path, count, line)
            )
    if count != header.entry_count or digest.hexdigest() != header.fields["entries_sha256"]:
        raise RegisterFileError(
            path,
            f"{count:,} entries where the header says {header.entry_count:,}, or their digest differs: "
            "truncated or tampered with",
        )


def _parse_entry(path: Path, number: int, line: bytes) -> tuple[str, str]:
    if not line.endswith(b"\n"):
        raise RegisterFileError(path, f"entry {number} is cut short or too long: truncated or damaged")
    try:
        entry = json.loads(line)
        kind, value_hash = entry["kind"], entry["value_hash"]
    except (ValueError, UnicodeDecodeError, KeyError, TypeError):
        raise RegisterFileError(path, f"entry {number} is not a register entry") from None
    if kind not in _KINDS:
        raise RegisterFileError(path, f"entry {number}: unknown kind {str(kind)[:40]!r}")
    if not isinstance(value_hash, str) or not _HASH.match(value_hash) or len(entry) != 2:
        raise RegisterFileError(path, f"entry {number} is not a keyed hash: refused (registers carry no values)")
    return kind, value_hash
