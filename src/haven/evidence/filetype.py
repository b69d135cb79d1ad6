"""Type by content, never by extension (offenders rename files)."""

from __future__ import annotations

import threading

import magic

_local = threading.local()

ARCHIVE_MIMES = frozenset(
    {
        "application/zip",
        "application/x-7z-compressed",
        "application/x-tar",
        "application/gzip",
        "application/x-gzip",
        "application/x-bzip2",
        "application/x-xz",
        "application/x-rar",
        "application/vnd.rar",
        "application/x-rar-compressed",
        # Also read by libarchive (see evidence/archives.py): disc images and other compressors.
        "application/x-iso9660-image",
        "application/x-cpio",
        "application/vnd.ms-cab-compressed",
        "application/x-xar",
        "application/x-lha",
        "application/x-lzh-compressed",
        "application/zstd",
        "application/x-zstd",
        "application/x-lzma",
        "application/x-lzip",
        "application/x-lz4",
        "application/x-compress",
    }
)
DOCUMENT_PREFIXES = ("application/pdf", "application/msword", "application/vnd.", "text/", "application/rtf")


def _magic() -> magic.Magic:
    # libmagic handles are not thread-safe; one per thread (and so per worker process).
    found = getattr(_local, "magic", None)
    if found is None:
        found = magic.Magic(mime=True)
        _local.magic = found
    return found


def sniff(head: bytes) -> tuple[str, str]:
    """Return (mime, kind) from the first bytes of a content (a few KiB are enough)."""
    mime = _magic().from_buffer(head[:65536]) if head else "application/x-empty"
    return mime, kind_of(mime)


def kind_of(mime: str) -> str:
    if mime.startswith("image/"):
        return "image"
    if mime.startswith("video/"):
        return "video"
    if mime in ARCHIVE_MIMES:
        return "archive"
    if mime.startswith(DOCUMENT_PREFIXES):
        return "document"
    return "other"
