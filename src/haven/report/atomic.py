"""Writing a report file atomically while hashing it."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO


class HashingWriter:
    """Writes text and keeps the SHA-256 of the bytes written, so the caller can audit the file."""

    def __init__(self, out: TextIO, errors: str) -> None:
        self._out = out
        self._errors = errors
        self._digest = hashlib.sha256()

    def write(self, text: str) -> None:
        self._digest.update(text.encode("utf-8", errors=self._errors))  # the same bytes the file gets
        self._out.write(text)

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


@contextmanager
def atomic_text(path: Path, *, errors: str) -> Iterator[HashingWriter]:
    """Write to ``path.partial`` and rename when complete: an existing ``path`` is always a whole file.

    ``errors`` is the UTF-8 encoding policy for text that cannot be encoded (lone surrogates in names).
    """
    tmp = path.with_name(path.name + ".partial")
    try:
        with tmp.open("w", encoding="utf-8", errors=errors, newline="\n") as f:
            yield HashingWriter(f, errors)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
