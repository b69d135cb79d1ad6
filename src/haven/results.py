"""Plain records passed from per-item analysis (workers) to the store (main process).

They hold only builtin types so they pickle cheaply across processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KINDS = ("image", "video", "archive", "document", "other")


@dataclass
class ContentInfo:
    """What one unique byte string is. Keyed by sha256 in the store."""

    sha256: str
    md5: str
    sha1: str
    size: int
    mime: str | None = None
    kind: str = "other"  # one of KINDS
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    codec: str | None = None
    pdq: str | None = None  # 64 hex chars
    pdq_quality: int | None = None
    pdq_dihedral: list[str] | None = None
    """The 7 other dihedral PDQ hashes (rotate 90/180/270, flips, transposes) from the same DCT."""
    frames: list[tuple[float, str, int]] | None = None
    """Videos: (timestamp seconds, PDQ hex, quality) per sampled frame (vPDQ semantics)."""
    exif: dict[str, Any] = field(default_factory=dict)
    """Keys: make, model, serial, datetime_original, gps_lat, gps_lon (decimal degrees)."""
    thumbnail: bytes | None = None  # small JPEG (a video's key-frame contact sheet), blurred and greyscale
    encrypted: str | None = None  # reason, when the content is or looks encrypted
    error: str | None = None  # why the content could not be fully analysed


@dataclass
class FoundItem:
    """One occurrence found in an evidence source: a path and what was found there."""

    path: str
    """Full virtual path, e.g. ``EXHIBIT-1:/dir/a.zip!/b.7z!/c.jpg``."""
    content: ContentInfo | None
    """None when nothing could be read (unreadable file, symlink loop, refused member)."""
    mtime: float | None = None
    atime: float | None = None
    ctime: float | None = None
    error: str | None = None
    """Occurrence-level problem (unreadable, unsafe entry name, limit exceeded)."""
    container: str | None = None
    """Virtual path of the enclosing archive, when inside one."""
