"""The picture shown on reveal: downscaled to screen size, upright, greyscale when the viewer prefers.

A rendition, not the original: the browser never receives the evidence file itself, nothing it
could save carries the original's EXIF (GPS, serial numbers), and a decompression bomb is refused
from its declared size before any pixel is decoded (the ingest's own guard).
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps

from haven.media.decode import ImageTooLargeError, check_declared_size, open_image
from haven.review.retrieve import RevealError
from haven.settings import AnalysisSettings

MAX_SIDE = 1280
JPEG_QUALITY = 85


def image_rendition(
    data: bytes, *, greyscale: bool, settings: AnalysisSettings | None = None, max_side: int = MAX_SIDE
) -> bytes:
    """A JPEG of at most ``max_side`` pixels on the longer side."""
    settings = settings or AnalysisSettings()
    try:
        img = open_image(data)
        check_declared_size(img, settings)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if img.format in ("JPEG", "MPO"):
                img.draft("L" if greyscale else "RGB", (max_side, max_side))  # DCT-scaled decode: less work
            img.load()
            img = ImageOps.exif_transpose(img) or img
            img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            img = _flatten(img, greyscale)
    except ImageTooLargeError as exc:
        raise RevealError(str(exc)) from exc
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise RevealError(f"the picture cannot be decoded ({type(exc).__name__})") from exc
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def _flatten(img: Image.Image, greyscale: bool) -> Image.Image:
    if img.mode in ("RGBA", "LA", "P", "PA"):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img)
    return img.convert("L" if greyscale else "RGB")
