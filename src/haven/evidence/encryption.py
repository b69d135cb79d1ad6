"""Detect password protection and suspected encrypted containers.

Returns a human reason (shown to investigators) or None. Works on bytes in memory or,
for big files, on a path (read through the read-only opener). Never raises.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import IO

import numpy as np

from haven.evidence.reading import open_readonly_file

logger = logging.getLogger(__name__)

Source = bytes | str

_HEAD_BYTES = 4096
_MIN_CONTAINER_BYTES = 64 * 1024
"""Smaller samples cannot show 7.99 bits/byte even when random (estimator bias)."""
_MIN_ENTROPY = 7.99
_CHI2_RANGE = (160.0, 350.0)
"""Chi-square bounds for 255 dof (random data falls outside them about once in 10,000):
compressed data lands far above, and suspiciously regular data (a 0..255 counter) far below."""

_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_7Z_SIGNATURE = b"7z\xbc\xaf\x27\x1c"
_RAR_SIGNATURE = b"Rar!\x1a\x07"
_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_AES_METHOD = 99
_NAMED_HEADERS: tuple[tuple[int, bytes, str], ...] = (
    (0, b"LUKS\xba\xbe", "LUKS encrypted volume"),
    (3, b"-FVE-FS-", "BitLocker encrypted volume"),
    (0, b"encrcdsa", "encrypted Apple disk image (encrcdsa)"),
    (0, b"Salted__", "OpenSSL encrypted file (Salted__)"),
    (0, b"age-encryption.org/", "age encrypted file"),
    (0, b"-----BEGIN PGP MESSAGE-----", "PGP encrypted message"),
)


def detect_encryption(data: bytes | str, mime: str, kind: str, *, sample_bytes: int = 4 * 1024 * 1024) -> str | None:
    """Reason the content is, or looks, encrypted; None when it does not.

    ``data`` is the content, or the path of a big file. ``sample_bytes`` bounds the
    entropy test (pass settings.entropy_sample_bytes).
    """
    try:
        return _detect(data, mime, kind, sample_bytes)
    except Exception:  # hostile input must never stop the pipeline
        logger.debug("encryption check failed", exc_info=True)
        return None


def _detect(src: Source, mime: str, kind: str, sample_bytes: int) -> str | None:
    head = _head(src)
    for offset, magic, reason in _NAMED_HEADERS:
        if head.startswith(magic, offset):
            return _luks_reason(head) if magic.startswith(b"LUKS") else reason
    check = _format_check(head, mime)
    if check is not None:
        return check(src)
    if kind == "other":
        return _entropy_reason(src, sample_bytes)
    return None


def _format_check(head: bytes, mime: str) -> Callable[[Source], str | None] | None:
    if head.startswith(_ZIP_SIGNATURES) or mime == "application/zip":
        return _zip_reason
    if head.startswith(_7Z_SIGNATURE):
        return _7z_reason
    if head.startswith(_RAR_SIGNATURE):
        return _rar_reason
    if b"%PDF-" in head[:1024]:
        return _pdf_reason
    if head.startswith(_OLE_SIGNATURE):
        return _office_reason
    return None


def _head(src: Source) -> bytes:
    if isinstance(src, bytes):
        return src[:_HEAD_BYTES]
    with open_readonly_file(src) as f:
        return f.read(_HEAD_BYTES)


def _stream(src: Source) -> AbstractContextManager[IO[bytes]]:
    if isinstance(src, bytes):
        # BytesIO over bytes shares the buffer until written to: no copy.
        return nullcontext(io.BytesIO(src))
    return open_readonly_file(src)


def _size(src: Source) -> int:
    if isinstance(src, bytes):
        return len(src)
    return Path(src).stat().st_size


# --- named formats ------------------------------------------------------------------


def _luks_reason(head: bytes) -> str:
    version = int.from_bytes(head[6:8], "big") if len(head) >= 8 else 0
    return f"LUKS encrypted volume (version {version})" if version else "LUKS encrypted volume"


def _zip_reason(src: Source) -> str | None:
    try:
        with _stream(src) as f, zipfile.ZipFile(f) as zf:
            infos = [(i.flag_bits, i.compress_type) for i in zf.infolist()]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        # No readable central directory (truncated): walk the local headers instead.
        infos = _zip_local_flags(src if isinstance(src, bytes) else _head(src))
    encrypted = [method for flags, method in infos if flags & 0x1]
    if not encrypted:
        return None
    scheme = "AES" if _AES_METHOD in encrypted else "ZipCrypto"
    return f"password-protected zip: {len(encrypted)} of {len(infos)} entries encrypted ({scheme})"


def _zip_local_flags(data: bytes, limit: int = 10_000) -> list[tuple[int, int]]:
    """(flags, method) of the local file headers readable from the start of a zip."""
    found: list[tuple[int, int]] = []
    pos = 0
    while len(found) < limit and data.startswith(b"PK\x03\x04", pos) and pos + 30 <= len(data):
        flags = int.from_bytes(data[pos + 6 : pos + 8], "little")
        method = int.from_bytes(data[pos + 8 : pos + 10], "little")
        csize = int.from_bytes(data[pos + 18 : pos + 22], "little")
        name_len = int.from_bytes(data[pos + 26 : pos + 28], "little")
        extra_len = int.from_bytes(data[pos + 28 : pos + 30], "little")
        found.append((flags, method))
        if flags & 0x8:  # sizes are in a trailing data descriptor: cannot skip ahead
            break
        pos += 30 + name_len + extra_len + csize
    return found


def _7z_reason(src: Source) -> str | None:
    import py7zr  # imported lazily: heavy, and only needed for 7z

    try:
        with _stream(src) as f, py7zr.SevenZipFile(f, "r") as z:
            if z.needs_password():
                return "password-protected 7z (AES-256)"
    except py7zr.exceptions.PasswordRequired:
        return "7z with encrypted headers (password required to list)"
    return None


def _rar_reason(src: Source) -> str | None:
    import rarfile

    try:
        with _stream(src) as f, rarfile.RarFile(f) as rf:
            if rf.needs_password():
                # With encrypted headers not even the member names can be listed.
                return (
                    "password-protected rar"
                    if rf.infolist()
                    else "rar with encrypted headers (password required to list)"
                )
    except rarfile.PasswordRequired:
        return "rar with encrypted headers (password required to list)"
    return None


_PDF_ENCRYPT = re.compile(rb"/Encrypt\s*(?:\d+\s+\d+\s+R|<<)")


def _pdf_reason(src: Source) -> str | None:
    import pypdf

    try:
        with _stream(src) as f:
            reader = pypdf.PdfReader(f, strict=False)
            if not reader.is_encrypted:
                return None
            opened = reader.decrypt("")
    except pypdf.errors.DependencyError:
        return "encrypted PDF"
    except Exception:
        # pypdf gave up on a damaged file: fall back to a plain search for /Encrypt.
        data = src if isinstance(src, bytes) else _tail(src, 1024 * 1024)
        return "encrypted PDF" if _PDF_ENCRYPT.search(data) else None
    if opened == pypdf.PasswordType.NOT_DECRYPTED:
        return "encrypted PDF (password required to open)"
    return "encrypted PDF (owner password only: opens without a password, restricted)"


def _office_reason(src: Source) -> str | None:
    import msoffcrypto

    with _stream(src) as f:
        office = msoffcrypto.OfficeFile(f)
        if office.is_encrypted():
            return "encrypted Office document (password required)"
    return None


def _tail(path: str, count: int) -> bytes:
    with open_readonly_file(path) as f:
        f.seek(max(0, _size(path) - count))
        return f.read(count)


# --- unknown data: statistical test -------------------------------------------------


def _entropy_reason(src: Source, sample_bytes: int) -> str | None:
    """VeraCrypt/TrueCrypt volumes have no header: they look exactly like random data."""
    size = _size(src)
    if size < _MIN_CONTAINER_BYTES or size % 512:
        return None
    counts = _byte_histogram(src, size, sample_bytes)
    total = int(counts.sum())
    probabilities = counts[counts > 0] / total
    entropy = float(-(probabilities * np.log2(probabilities)).sum())
    expected = total / 256
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    if entropy <= _MIN_ENTROPY or not _CHI2_RANGE[0] < chi2 < _CHI2_RANGE[1]:
        return None
    return (
        f"suspected encrypted container: entropy {entropy:.4f} bits/byte, chi-square {chi2:.0f} "
        "(uniform), size multiple of 512, no known header"
    )


def _byte_histogram(src: Source, size: int, sample_bytes: int) -> np.ndarray:
    """Byte counts over the start, middle and end (whole content when small)."""
    part = max(sample_bytes // 3, 1)
    whole = size <= 3 * part
    spans = [(0, size)] if whole else [(0, part), ((size - part) // 2, part), (size - part, part)]
    counts = np.zeros(256, dtype=np.int64)
    if isinstance(src, bytes):
        view = memoryview(src)
        for start, length in spans:
            counts += np.bincount(np.frombuffer(view[start : start + length], dtype=np.uint8), minlength=256)
        return counts
    with open_readonly_file(src) as f:
        for start, length in spans:
            f.seek(start)
            counts += np.bincount(np.frombuffer(f.read(length), dtype=np.uint8), minlength=256)
    return counts
