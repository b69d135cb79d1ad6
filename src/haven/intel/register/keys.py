"""The HMAC keys partners agree on, and the keyed hash every register entry is.

A register entry is ``HMAC-SHA256(key, kind + "\\x1f" + normalized)`` in lowercase hex: partners holding the
same key compute the same hash for the same value, and nobody without the key can test a guess against it.
Keys are 32 random bytes kept as hex in ``$HAVEN_HOME/keys/intel/NAME.key`` (0600). A key's fingerprint is a
SHA-256 over a fixed context and the key, so it can travel in register files and be read out on the phone
without revealing the key.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from haven.errors import HavenError

KEY_BYTES = 32
LOCAL_KEY = "local"
"""Generated on first use: the hash shown for overlaps between cases of this store only."""
_FINGERPRINT_CONTEXT = b"haven-intel-register-key/v1\n"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SEPARATOR = "\x1f"


class RegisterKeyError(HavenError):
    """An agreed key is missing, malformed or already exists with other bytes."""


def hash_prefix(value_hash: str) -> int:
    """The first 8 bytes of a keyed hash as a signed 64-bit integer: what the store indexes and looks up."""
    return int.from_bytes(bytes.fromhex(value_hash[:16]), "big", signed=True)


def keyed_hash(key: bytes, kind: str, normalized: str) -> str:
    return hmac.digest(key, f"{kind}{SEPARATOR}{normalized}".encode(), "sha256").hex()


def _keyed_hasher(key: bytes) -> Callable[[str, str], str]:
    """``keyed_hash`` with the key schedule done once: a copy per value is ~3x faster (1M-entry exports)."""
    keyed = hmac.new(key, digestmod=hashlib.sha256)

    def hash_value(kind: str, normalized: str) -> str:
        mac = keyed.copy()
        mac.update(f"{kind}{SEPARATOR}{normalized}".encode())
        return mac.hexdigest()

    return hash_value


def fingerprint(key: bytes) -> str:
    return hashlib.sha256(_FINGERPRINT_CONTEXT + key).hexdigest()


@dataclass(frozen=True)
class AgreedKey:
    name: str
    key: bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key)

    @functools.cached_property
    def _hasher(self) -> Callable[[str, str], str]:
        return _keyed_hasher(self.key)

    def hash(self, kind: str, normalized: str) -> str:
        return self._hasher(kind, normalized)


class KeyRing:
    """The agreed keys of one Haven home (``HOME/keys/intel``)."""

    def __init__(self, home: Path) -> None:
        self.directory = home / "keys" / "intel"

    def path(self, name: str) -> Path:
        return self.directory / f"{check_name(name)}.key"

    def generate(self, name: str) -> AgreedKey:
        """A new random key; refuses to replace one (partners hash with it: a lost key is lost for good)."""
        path = self.path(name)
        if path.exists():
            raise RegisterKeyError(f"a key named '{name}' already exists ({path}); choose another name")
        return self._write(AgreedKey(name, secrets.token_bytes(KEY_BYTES)))

    def add(self, name: str, key: bytes) -> tuple[AgreedKey, bool]:
        """Keep a key agreed with a partner; (key, added). The same bytes again is a no-op, others refused."""
        if len(key) != KEY_BYTES:
            raise RegisterKeyError(f"an agreed key is {KEY_BYTES} bytes; this one is {len(key)}")
        agreed = AgreedKey(check_name(name), key)
        if self.path(name).exists():
            existing = self.load(name)
            if existing.key != key:
                raise RegisterKeyError(f"a different key named '{name}' already exists; choose another name")
            return existing, False
        return self._write(agreed), True

    def load(self, name: str) -> AgreedKey:
        path = self.path(name)
        try:
            text = path.read_text(encoding="ascii", errors="replace")
        except FileNotFoundError:
            raise RegisterKeyError(
                f"no agreed key named '{name}' (haven intel register key generate|import {name})"
            ) from None
        except OSError as error:
            raise RegisterKeyError(f"{path}: cannot read: {error.strerror or error}") from error
        return AgreedKey(name, parse_key(text.strip().encode("ascii"), str(path)))

    def local(self) -> AgreedKey:
        """The store's own key (generated on first use): hashes for overlaps that never leave the store."""
        try:
            return self.load(LOCAL_KEY)
        except RegisterKeyError:
            if self.path(LOCAL_KEY).exists():
                raise
            return self.generate(LOCAL_KEY)

    def names(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.glob("*.key") if _NAME.match(p.stem))

    def _write(self, agreed: AgreedKey) -> AgreedKey:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        # O_EXCL with mode 0600: the key never exists, even for an instant, with wider permissions.
        handle = os.open(self.path(agreed.name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(handle, "w", encoding="ascii") as stream:
            os.fchmod(stream.fileno(), 0o600)
            stream.write(agreed.key.hex() + "\n")
        return agreed


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise RegisterKeyError(
            f"key name '{name}': use 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit)"
        )
    return name


def parse_key(data: bytes, where: str) -> bytes:
    """A key written as 64 hex digits, as base64 of 32 bytes, or as the 32 raw bytes."""
    if len(data) == KEY_BYTES and not re.fullmatch(rb"[0-9a-fA-F]+|[A-Za-z0-9+/=]+", data):
        return data
    text = data.strip()
    if re.fullmatch(rb"[0-9a-fA-F]{64}", text):
        return bytes.fromhex(text.decode("ascii"))
    try:
        decoded = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if len(decoded) == KEY_BYTES:
        return decoded
    raise RegisterKeyError(f"{where}: not an agreed key (expected 64 hex digits, base64 of 32 bytes, or 32 raw bytes)")
