"""Per-picture OCR: bytes in, text out. Never raises: an unreadable picture gives ``error``.

A pure function of (bytes, settings), so the stage can run it in forked workers and the bench on files.
"""

from __future__ import annotations

from PIL import Image, UnidentifiedImageError

from haven.faces.picture import decode_picture
from haven.ocr.engine import PageText, read_text
from haven.ocr.settings import OcrSettings


def text_of_picture(data: bytes, settings: OcrSettings) -> PageText:
    try:
        # Upright (EXIF orientation applied), size-guarded against decompression bombs, at most max_side.
        picture = decode_picture(data, settings.max_side)
    except Exception as exc:  # Pillow raises many types for hostile or corrupt files
        return PageText(error=f"unreadable picture: {_reason(exc)}")
    return read_text(Image.fromarray(picture.pixels), settings)


def _reason(exc: Exception) -> str:
    if isinstance(exc, UnidentifiedImageError):  # its message names a memory address: not stable
        return "not an image format Pillow reads"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
