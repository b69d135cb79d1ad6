"""The two kinds of ``Body`` a reader reads from: bytes already in memory (verified by whoever read them),
and a top-level evidence file streamed read-only while its SHA-256 is computed, so a 1 GB file is read once
and never held whole; ``verify`` tells at the end whether the bytes read were the content's."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from haven.evidence.reading import open_readonly
from haven.intel.readers.base import ReaderError

HEAD_BYTES = 1 << 16
BLOCK = 1 << 20


class ChangedError(Exception):
    """The evidence file's bytes are not the content's any more (SHA-256 or size differs)."""


class BytesBody:
    def __init__(self, data: bytes, mime: str, name: str, scratch_dir: str | None = None) -> None:
        self.data, self.mime, self.name, self.size = data, mime, name, len(data)
        self.head = data[:HEAD_BYTES]
        self.scratch_dir = scratch_dir

    def stream(self) -> BinaryIO:
        return io.BytesIO(self.data)

    def whole(self) -> bytes:
        return self.data

    @contextmanager
    def spool(self) -> Iterator[str]:
        with _private_copy(self.scratch_dir) as (path, handle):
            handle.write(self.data)
            handle.close()
            yield path

    def verify(self) -> None:
        """In-memory bodies were verified when read."""


class _HashingReader(io.RawIOBase):
    """Sequential reads of a file descriptor, hashed as they go."""

    def __init__(self, fd: int, digest: hashlib._Hash) -> None:
        self._file = io.FileIO(fd, "r", closefd=False)
        self._digest = digest
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = self._file.readinto(buffer)
        if count:
            self._digest.update(memoryview(buffer)[:count])
            self.bytes_read += count
        return count or 0


class FileBody:
    """A top-level evidence file (opened read-only by ``haven.evidence.reading``), read in one pass."""

    def __init__(
        self, path: str, sha256: str, size: int, mime: str, name: str, in_memory_bytes: int, scratch_dir: str | None
    ) -> None:
        self.fd = open_readonly(path)
        self.sha256, self.size, self.mime, self.name = sha256, size, mime, name
        self.in_memory_bytes, self.scratch_dir = in_memory_bytes, scratch_dir
        if os.fstat(self.fd).st_size != size:
            os.close(self.fd)
            raise ChangedError("changed since the ingest (size differs)")
        self.head = os.pread(self.fd, HEAD_BYTES, 0)
        self._digest = hashlib.sha256()
        self._reader: _HashingReader | None = None

    def stream(self) -> BinaryIO:
        if self._reader is not None:
            raise RuntimeError("a file body is read once")
        self._reader = _HashingReader(self.fd, self._digest)
        return io.BufferedReader(self._reader, BLOCK)  # type: ignore[return-value]

    def whole(self) -> bytes:
        if self.size > self.in_memory_bytes:
            raise ReaderError(f"too large for this reader ({self.size:,} bytes; at most {self.in_memory_bytes:,})")
        return self.stream().read()

    @contextmanager
    def spool(self) -> Iterator[str]:
        with _private_copy(self.scratch_dir) as (path, handle):
            shutil.copyfileobj(self.stream(), handle, BLOCK)
            handle.close()
            self.verify()  # never open a copy of other bytes than the content's
            yield path

    def verify(self) -> None:
        """Read what the reader left, then compare. Raises ChangedError."""
        reader = self._reader or _HashingReader(self.fd, self._digest)
        self._reader = reader
        while reader.read(BLOCK):
            pass
        if reader.bytes_read != self.size or self._digest.hexdigest() != self.sha256:
            raise ChangedError("changed since the ingest (SHA-256 differs)")

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


@contextmanager
def _private_copy(scratch_dir: str | None) -> Iterator[tuple[str, BinaryIO]]:
    if scratch_dir:
        Path(scratch_dir).mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(prefix="intel-", suffix=".copy", dir=scratch_dir, delete=False)  # noqa: SIM115
    try:
        yield handle.name, handle  # type: ignore[misc]
    finally:
        handle.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(handle.name + suffix).unlink(missing_ok=True)
