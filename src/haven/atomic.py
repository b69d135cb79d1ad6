"""Write a file whole or not at all: into a temporary file beside it, then one rename.

Exports go to partners and into evidence bundles; a crash or a full disk must never leave a truncated
file at the destination that looks complete. The temporary file sits in the same folder so that the
rename stays on one file system (and is atomic there).
"""

from __future__ import annotations

import contextlib
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
