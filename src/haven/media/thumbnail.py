"""Review thumbnails: always small, greyscale and blurred.

Investigators see thousands of these a day; a sharp colour preview is never stored (viewer
wellbeing). The reviewer un-blurs one image at a time from the evidence itself, on purpose.
"""

from __future__ import annotations

import io

from PIL import Image, ImageFilter

from haven.settings import AnalysisSettings

# EXIF orientation -> transposition that shows the picture upright (orientation 1: none).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
JPEG_QUALITY = 70  # blurred greyscale: higher quality only adds bytes
MIN_BLUR_RADIUS = 2.0
"""Floor under the configured blur: a misconfigured case must still never store a sharp preview."""


def make_thumbnail(img: Image.Image, settings: AnalysisSettings, orientation: int | None = None) -> bytes:
    """JPEG bytes of ``img`` shrunk to ``settings.thumbnail_px`` (longest side), greyscale, blurred.

    ``img`` may already be a reduced decode: the thumbnail is far smaller than any draft scale.
    ``orientation`` (EXIF 1-8) is applied so the reviewer sees the picture upright.
    """
    width, height = img.size
    longest = max(width, height, 1)
    box = max(1, settings.thumbnail_px)
    size = (max(1, round(width * box / longest)), max(1, round(height * box / longest)))
    # Shrink first, greyscale after: converting a full-size colour image would cost more.
    # reducing_gap=1: box-average to about the target, then a cheap bilinear step; the blur
    # below hides any aliasing a finer filter would have avoided.
    small = img if img.size == size else img.resize(size, Image.Resampling.BILINEAR, reducing_gap=1.0)
    if small.mode != "L":
        small = small.convert("L")
    if orientation in _UPRIGHT:
        small = small.transpose(_UPRIGHT[orientation])
    radius = max(settings.thumbnail_blur_radius, MIN_BLUR_RADIUS)
    small = small.filter(ImageFilter.GaussianBlur(radius))
    out = io.BytesIO()
    small.save(out, "JPEG", quality=JPEG_QUALITY, optimize=False)
    return out.getvalue()
