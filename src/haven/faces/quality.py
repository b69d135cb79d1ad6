"""A face's quality score: 0..1 from detector confidence, face size and sharpness.

The geometric mean means any one weak factor (a tiny face, a blurred one, a doubtful detection) pulls
the score down; analysts sort by it and the bench reports accuracy by it.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

FULL_SIZE_PX = 100
"""Faces at least this many pixels on the shorter side get the full size term (the embedding's input is 150)."""
SHARP_VARIANCE = 150.0
"""Laplacian variance of a 64x64 greyscale face crop above which a face counts as sharp (LFW median ~300)."""


def sharpness(image: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """0..1: variance of the Laplacian of the face crop, resized so that faces of any size compare."""
    x, y, w, h = box
    crop = image[max(y, 0) : y + h, max(x, 0) : x + w]
    if crop.size == 0:
        return 0.0
    grey = np.asarray(Image.fromarray(crop).convert("L").resize((64, 64), Image.Resampling.BILINEAR), np.float32)
    lap = grey[1:-1, :-2] + grey[1:-1, 2:] + grey[:-2, 1:-1] + grey[2:, 1:-1] - 4 * grey[1:-1, 1:-1]
    return float(min(1.0, lap.var() / SHARP_VARIANCE))


def face_quality(confidence: float, box: tuple[int, int, int, int], sharp: float) -> float:
    """Combine a 0..1 detector confidence, the box (original pixels) and a 0..1 sharpness."""
    size = min(1.0, min(box[2], box[3]) / FULL_SIZE_PX)
    terms = np.clip([confidence, size, sharp], 0.01, 1.0)
    return round(float(np.prod(terms) ** (1 / 3)), 4)
