"""Ed25519 keys and signatures for share packages. No store access: pure functions over bytes and files.

Key files are standard PEM (PKCS#8 private keys, SubjectPublicKeyInfo public keys), readable by
OpenSSL and any Ed25519 library. Haven writes a few ``Name: value`` lines before the PEM block
(RFC 7468 explanatory text, ignored by PEM parsers): the agency and the fingerprint, so that a person
handed the file can see whose key it is. Those lines are informative only: who a key belongs to is
decided by the receiver when they trust it.

A key's fingerprint is the SHA-256 of its raw 32-byte public key, in lowercase hex: short enough to
read out over the phone (its first 16 digits), and computable by a partner from the key alone.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from haven.errors import HavenError

SIGNING_CONTEXT = b"haven-share-package/v1\n"
"""Prefixed to what is signed: a signature made for a package can never be passed off as one over
anything else the same key might sign (domain separation)."""

PRIVATE_KEY_NAME = "signing-key.pem"
PUBLIC_KEY_NAME = "signing-key.pub.pem"
SHORT = 16  # fingerprint digits shown to people
AGENCY_MAX = 200  # TrustedKey.agency and HashSet.agency column width

_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----", re.DOTALL)
_HEADER = re.compile(r"^([A-Za-z-]+):[ \t]*(.*?)\s*$", re.MULTILINE)


class KeyFileError(HavenError):
    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")


@dataclass(frozen=True)
class SigningKey:
    """A private key loaded for signing, with the agency its file names (None when it names none)."""

    private_key: Ed25519PrivateKey
    agency: str | None

    @property
    def public_raw(self) -> bytes:
        return public_raw(self.private_key.public_key())

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_raw)

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(SIGNING_CONTEXT + message)


@dataclass(frozen=True)
class TrustedSigner:
    """A partner key as the receiving store records it: whose it is, and whether it was revoked."""

    fingerprint: str
    agency: str
    public_key: bytes  # raw 32 bytes
    revoked_at: datetime | None = None

    def verifies(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, SIGNING_CONTEXT + message)
        except (InvalidSignature, ValueError):
            return False
        return True


def check_agency(agency: str) -> str:
    """An agency name as stored and written into key files and manifests: one line, 1-200 characters."""
    agency = agency.strip()
    if not agency or len(agency) > AGENCY_MAX or any(ord(c) < 32 or ord(c) == 127 for c in agency):
        raise HavenError(f"an agency name must be one line of 1 to {AGENCY_MAX} characters")
    return agency


def public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(raw_public_key: bytes) -> str:
    return hashlib.sha256(raw_public_key).hexdigest()


def short(fingerprint_hex: str) -> str:
    return fingerprint_hex[:SHORT]


def generate(agency: str, directory: Path) -> tuple[Path, Path, str]:
    """A new key pair in ``directory``: the private key readable by its owner only (0600), the public key
    beside it. Returns both paths and the fingerprint. Refuses to replace an existing key: partners trust
    its fingerprint, and a private key overwritten is lost for good."""
    agency = check_agency(agency)
    private_path, public_path = directory / PRIVATE_KEY_NAME, directory / PUBLIC_KEY_NAME
    for path in (private_path, public_path):
        if path.exists():
            raise KeyFileError(path, "a key already exists here; move it away first or choose another --out")
    key = Ed25519PrivateKey.generate()
    raw = public_raw(key.public_key())
    headers = _headers(agency, fingerprint(raw))
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    # O_EXCL with mode 0600: the file never exists, even for an instant, with wider permissions.
    handle = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(handle, "wb") as stream:
        os.fchmod(stream.fileno(), 0o600)  # whatever the umask
        stream.write(b"Haven share-package signing key (Ed25519). SECRET: never send this file.\n")
        stream.write(headers + private_pem)
    public_path.write_bytes(public_pem(raw, agency))
    return private_path, public_path, fingerprint(raw)


def public_pem(raw: bytes, agency: str | None) -> bytes:
    """The public key as PEM, preceded by its agency and fingerprint for the person who receives it."""
    pem = Ed25519PublicKey.from_public_bytes(raw).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    intro = b"Haven share-package public key (Ed25519). Check the fingerprint with the sender before trusting.\n"
    return intro + _headers(agency, fingerprint(raw)) + pem


def load_signing_key(path: Path) -> SigningKey:
    text = _read(path)
    block = _block(path, text)
    if b"PUBLIC KEY" in block.group(1):
        raise KeyFileError(path, "this is a public key; signing needs the private key (haven keys generate)")
    try:
        key = serialization.load_pem_private_key(block.group(0), password=None)
    except TypeError as error:
        raise KeyFileError(path, "the private key is passphrase-protected; Haven reads unencrypted keys") from error
    except (ValueError, UnsupportedAlgorithm) as error:
        raise KeyFileError(path, f"not a readable private key ({error})") from error
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(path, "not an Ed25519 key; share packages are signed with Ed25519")
    return SigningKey(key, _header_value(text, "Agency"))


def load_public_key(path: Path) -> bytes:
    """The raw 32 bytes of the Ed25519 public key in a PEM file."""
    block = _block(path, _read(path))
    if b"PRIVATE KEY" in block.group(1):
        raise KeyFileError(path, "this is a PRIVATE key: never pass it around; send the .pub.pem file instead")
    try:
        key = serialization.load_pem_public_key(block.group(0))
    except (ValueError, UnsupportedAlgorithm) as error:
        raise KeyFileError(path, f"not a readable public key ({error})") from error
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(path, "not an Ed25519 public key; share packages are signed with Ed25519")
    return public_raw(key)


def _headers(agency: str | None, fingerprint_hex: str) -> bytes:
    lines = ([f"Agency: {agency}"] if agency else []) + [f"Fingerprint: sha256:{fingerprint_hex}"]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _read(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise KeyFileError(path, f"cannot read: {error.strerror or error}") from error
    if len(data) > 64 * 1024:
        raise KeyFileError(path, "too large to be a key file")
    return data


def _block(path: Path, text: bytes) -> re.Match[bytes]:
    block = _PEM_BLOCK.search(text)
    if block is None:
        raise KeyFileError(path, "no PEM key block (-----BEGIN ... KEY-----) in this file")
    return block


def _header_value(text: bytes, name: str) -> str | None:
    before = text[: text.find(b"-----BEGIN")].decode("utf-8", errors="replace")
    for key, value in _HEADER.findall(before):
        if key.lower() == name.lower() and value:
            return value
    return None
