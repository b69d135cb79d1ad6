"""Cryptographic hashes: MD5, SHA-1 and SHA-256 of the same bytes, computed together.

Hash sets in the field key on all three (Project VIC keys on MD5, NSRL ships SHA-1, Haven's
store keys on SHA-256), so every content gets all three in one read of its bytes.
"""

from __future__ import annotations

import hashlib
import io
from typing import NamedTuple

from haven.signals.base import HexDigestSignal

CHUNK_BYTES = 1024 * 1024
"""Streaming chunk: large enough for hashlib to run at full speed, small enough to stay in cache."""


class CryptoHashes(NamedTuple):
    md5: str
    sha1: str
    sha256: str


class CryptoHasher:
    """Feeds each chunk to the three hashes while it is still in cache."""

    def __init__(self) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha1 = hashlib.sha1(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self.size = 0

    def update(self, chunk: bytes | bytearray | memoryview) -> None:
        self._md5.update(chunk)
        self._sha1.update(chunk)
        self._sha256.update(chunk)
        self.size += len(chunk)

    def hexdigests(self) -> CryptoHashes:
        return CryptoHashes(self._md5.hexdigest(), self._sha1.hexdigest(), self._sha256.hexdigest())


def crypto_hashes(data: bytes | bytearray | memoryview) -> CryptoHashes:
    """All three hashes of bytes already in memory (no copy: hashlib reads the buffer directly)."""
    hasher = CryptoHasher()
    view = memoryview(data)
    for start in range(0, len(view), CHUNK_BYTES):
        hasher.update(view[start : start + CHUNK_BYTES])
    return hasher.hexdigests()


def hash_stream(stream: io.RawIOBase | io.BufferedIOBase, head_bytes: int = 65536) -> tuple[CryptoHashes, int, bytes]:
    """Hash a stream in chunks; return (hashes, size, first ``head_bytes`` for typing).

    One reused buffer: a multi-GB video costs no more memory than a photo.
    """
    hasher = CryptoHasher()
    buf = bytearray(CHUNK_BYTES)
    view = memoryview(buf)
    head = b""
    while True:
        n = stream.readinto(buf)
        if not n:
            break
        if len(head) < head_bytes:
            head += bytes(view[: min(n, head_bytes - len(head))])
        hasher.update(view[:n])
    return hasher.hexdigests(), hasher.size, head


class Md5Signal(HexDigestSignal):
    """MD5: still the key of Project VIC / CAID exchanges, so it stays first-class."""

    name = "md5"
    content_kinds = frozenset({"image", "video", "archive", "document", "other"})
    hex_len = 32

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        return 0 if a == b else 1

    @classmethod
    def compute(cls, data: bytes) -> str:
        return hashlib.md5(data, usedforsecurity=False).hexdigest()


class Sha1Signal(Md5Signal):
    """SHA-1: NSRL and many older agency lists."""

    name = "sha1"
    hex_len = 40

    @classmethod
    def compute(cls, data: bytes) -> str:
        return hashlib.sha1(data, usedforsecurity=False).hexdigest()


class Sha256Signal(Md5Signal):
    """SHA-256: Haven's own content key."""

    name = "sha256"
    hex_len = 64

    @classmethod
    def compute(cls, data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()
