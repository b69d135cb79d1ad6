"""Write a file whole or not at all: into a temporary file beside it, then one rename.

Exports go to partners and into evidence bundles; a crash or a full disk must never leave a truncated
file at the destination that looks complete. The temporary file sits in the same folder so that the
rename stays on one file system (and is atomic there).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[BinaryIO]:
    """A binary stream that becomes ``path`` when the block ends without error; removed otherwise."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp's owner-only mode (0600) is kept on purpose: exports carry case data.
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())  # the bytes are on disk before the name points at them
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class HashingWriter:
    """Text in, UTF-8 bytes out, with the SHA-256 of exactly those bytes (the caller audits the file)."""

    def __init__(self, out: BinaryIO, errors: str) -> None:
        self._out = out
        self._errors = errors
        self._digest = hashlib.sha256()

    def write(self, text: str) -> None:
        data = text.encode("utf-8", errors=self._errors)
        self._digest.update(data)
        self._out.write(data)

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


@contextlib.contextmanager
def atomic_text(path: Path, *, errors: str) -> Iterator[HashingWriter]:
    """``atomic_output`` for text, hashed as it is written.

    ``errors`` is the UTF-8 encoding policy for text that cannot be encoded (lone surrogates in names).
    """
    with atomic_output(path) as stream:
        yield HashingWriter(stream, errors)
