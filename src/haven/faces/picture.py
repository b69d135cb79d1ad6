"""Decoding a picture for face analysis: Pillow, EXIF orientation applied, size guarded, reduced.

Boxes are reported in the upright picture's own pixels (EXIF orientation applied), so they line up
with what a viewer shows.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from haven.media.decode import check_declared_size, open_image
from haven.settings import AnalysisSettings

_GUARD = AnalysisSettings()


@dataclass
class Picture:
    pixels: np.ndarray
    """RGB uint8, upright, at most ``working_side`` on its longer side."""
    width: int
    height: int
    """Of the upright original."""

    @property
    def scale(self) -> float:
        """Original pixels per working pixel."""
        return self.width / self.pixels.shape[1]


def decode_picture(data: bytes, working_side: int) -> Picture:
    """Raises ValueError/OSError (Pillow's) for unreadable data, ImageTooLargeError for bombs."""
    img = open_image(data)
    check_declared_size(img, _GUARD)
    # Upright original size: orientations 5-8 turn the picture a quarter (others, valid or not, do not).
    width, height = img.size[::-1] if _orientation(img) in (5, 6, 7, 8) else img.size
    if img.format in ("JPEG", "MPO"):
        img.draft("RGB", (working_side, working_side))  # DCT scaling: never below the requested size
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # corrupt EXIF and palette warnings; real failures still raise
        img.load()
        upright = ImageOps.exif_transpose(img)
    if upright.mode != "RGB":
        upright = upright.convert("RGBA").convert("RGB") if upright.mode in ("P", "LA", "PA") else _to_rgb(upright)
    if max(upright.size) > working_side:
        factor = working_side / max(upright.size)
        size = (max(1, round(upright.width * factor)), max(1, round(upright.height * factor)))
        upright = upright.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return Picture(np.asarray(upright, dtype=np.uint8), width, height)


def resize_for_detection(pixels: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """(pixels no longer than max_side, factor back to the given pixels)."""
    height, width = pixels.shape[:2]
    if max(height, width) <= max_side:
        return pixels, 1.0
    factor = max_side / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    small = Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(small), width / size[0]


def _orientation(img: Image.Image) -> int:
    try:
        return int(img.getexif().get(0x0112, 1))
    except Exception:  # corrupt EXIF: exif_transpose ignores it too
        return 1


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit greyscale: scale to 8 bits first
        arr = np.asarray(img, dtype=np.float32)
        top = float(arr.max()) or 1.0
        return Image.fromarray((arr * (255.0 / top)).astype(np.uint8)).convert("RGB")
    return img.convert("RGB")
