"""Safe, fast image decoding.

Safe: the declared size is checked against the case's limits before a single pixel is decoded.
Fast: large images are reduced by an integer factor (keeping ``pdq_decode_min_px`` on the shorter
side) before anything else looks at them. JPEGs are reduced inside the decoder by libjpeg's DCT
scaling (``Image.draft``), luma plane only; other formats decode in full and are block-averaged
(``Image.reduce``). PDQ recovers the full-resolution hash from the reduced copy
(``haven.signals.pdq_reduced``). One decode serves PDQ, EXIF and the thumbnail.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import pillow_heif
from PIL import Image

from haven.settings import AnalysisSettings

pillow_heif.register_heif_opener()

# Haven checks every declared size itself (``check_declared_size``) against limits the case
# records; Pillow's process-wide guard would fire first, with a different limit and a message
# that drops the dimensions. Everything that decodes evidence goes through this module.
Image.MAX_IMAGE_PIXELS = None

_JPEG_FORMATS = frozenset({"JPEG", "MPO"})
# Modes pdqhash and the thumbnail read directly; everything else is converted once.
_DIRECT_MODES = frozenset({"L", "RGB", "RGBA", "RGBX"})


class ImageTooLargeError(ValueError):
    """The image declares more pixels than the case allows (decompression bomb guard)."""


@dataclass
class DecodedImage:
    """An image decoded for analysis: pixels possibly reduced, dimensions always the original."""

    image: Image.Image
    """Mode L, RGB, RGBA or RGBX; reduced by ``scale`` (and then mode L) for large images."""
    width: int
    height: int
    format: str | None
    scale: int
    """Integer reduction of ``image`` from the original (1 = full resolution)."""
    exif_source: Image.Image
    """The opened file, for EXIF: read from what is already parsed, never from a second open."""


def open_image(source: bytes | str | Path) -> Image.Image:
    """Open without decoding (headers only). Raises what Pillow raises for unknown data."""
    fp = io.BytesIO(source) if isinstance(source, bytes) else source
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # JPEG open parses EXIF for DPI: corrupt-EXIF warnings
        return Image.open(fp)


def check_declared_size(img: Image.Image, settings: AnalysisSettings) -> None:
    """Refuse decompression bombs from the header's claim, before any pixel is decoded."""
    width, height = img.size
    side = settings.max_image_side
    if width > side or height > side:
        raise ImageTooLargeError(
            f"image too large: {width}x{height} exceeds the {side}-pixel side limit (decompression bomb guard)"
        )
    if width * height > settings.max_image_pixels:
        raise ImageTooLargeError(
            f"image too large: {width}x{height} = {width * height} pixels exceeds the "
            f"{settings.max_image_pixels}-pixel limit (decompression bomb guard)"
        )


def jpeg_scale(width: int, height: int, min_px: int) -> int:
    """Largest reduction (1, 2, 4, 8: libjpeg's DCT scales) keeping the shorter side >= ``min_px``."""
    # Same arithmetic as Pillow's JpegImageFile.draft, so what we predict is what it does.
    ratio = min(width, height) // max(min_px, 1)
    for scale in (8, 4, 2):
        if ratio >= scale:
            return scale
    return 1


def decode_image(source: bytes | str | Path, settings: AnalysisSettings) -> DecodedImage:
    """Open, check the declared size, then decode. Raises ImageTooLargeError or what Pillow raises."""
    img = open_image(source)
    check_declared_size(img, settings)
    return decode_opened(img, settings)


def decode_opened(img: Image.Image, settings: AnalysisSettings) -> DecodedImage:
    """Decode an opened image whose declared size was checked (fast path for JPEG).

    Raises whatever Pillow raises for corrupt or truncated data.
    """
    width, height = img.size
    scale = jpeg_scale(width, height, settings.pdq_decode_min_px)
    if scale > 1 and img.format in _JPEG_FORMATS:
        # Luma only: PDQ reads luma (the 0.299/0.587/0.114 weights JPEG's Y plane already
        # holds) and the thumbnail is greyscale, so decoding chroma would be wasted work.
        # Pillow applies "L" only to YCbCr/RGB data; CMYK stays CMYK and is converted below.
        img.draft("L", (width // scale, height // scale))
    with warnings.catch_warnings():
        # Corrupt-EXIF and palette warnings would flood worker stderr; real failures still raise.
        warnings.simplefilter("ignore")
        img.load()
        if scale > 1 and img.size == (width, height):
            # Not reduced by the decoder (other formats, or a JPEG draft refused): block-average,
            # greyscale first since PDQ and the thumbnail only read luma.
            pixels = (img if img.mode == "L" else img.convert("L")).reduce(scale)
        else:
            # "I;16", "LA", "P", "CMYK"...: through RGB, as python-threatexchange does, so hashes agree.
            pixels = img if img.mode in _DIRECT_MODES else img.convert("RGB")
    # What the decoder did, not what was asked: PDQ's weights depend on it.
    done = round(width / pixels.width) if pixels.width else 1
    return DecodedImage(pixels, width, height, img.format, done, img)
