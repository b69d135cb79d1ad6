"""Pictures made easier for Tesseract: greyscale, small ones enlarged, huge ones reduced.

No binarisation here: Tesseract applies Otsu itself, and a global threshold of ours loses text on
photos with uneven light (measured with bench/ocr.py).
"""

from __future__ import annotations

from PIL import Image

from haven.ocr.settings import OcrSettings

MAX_UPSCALE = 4.0
"""Beyond this, enlarging a tiny crop only enlarges its blur."""


def prepare(img: Image.Image, settings: OcrSettings) -> Image.Image:
    grey = img.convert("L") if img.mode != "L" else img
    longest = max(grey.size)
    if longest < settings.target_side:
        factor = min(MAX_UPSCALE, settings.target_side / longest)
    elif longest > settings.max_side:
        factor = settings.max_side / longest
    else:
        return grey
    size = (max(1, round(grey.width * factor)), max(1, round(grey.height * factor)))
    return grey.resize(size, Image.Resampling.LANCZOS if factor > 1 else Image.Resampling.BILINEAR)
