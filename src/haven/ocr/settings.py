"""OCR settings: frozen and picklable, read from the environment in one place (``OcrSettings.from_env``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class OcrSettings:
    language: str = "eng"
    """Tesseract language(s), e.g. ``eng`` or ``eng+deu`` (each needs its tesseract-ocr-LANG package)."""
    min_confidence: float = 50.0
    """Words Tesseract is less sure of (0-100) are dropped: scene photos otherwise yield noise from textures."""
    target_side: int = 1600
    """Small pictures are enlarged towards this longest side (at most MAX_UPSCALE times): small text reads better."""
    max_side: int = 3000
    """Larger pictures are reduced to this longest side: bounds the time a huge scan can take."""
    page_mode: int = 11
    """Tesseract --psm: 11 (sparse text) finds signs, labels and captions scattered over a photo; 3 reads pages."""
    workers: int = 2

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> OcrSettings:
        return cls(
            language=env.get("HAVEN_OCR_LANGUAGE", "eng"),
            min_confidence=float(env.get("HAVEN_OCR_MIN_CONFIDENCE", "50")),
            target_side=int(env.get("HAVEN_OCR_TARGET_SIDE", "1600")),
            max_side=int(env.get("HAVEN_OCR_MAX_SIDE", "3000")),
            page_mode=int(env.get("HAVEN_OCR_PAGE_MODE", "11")),
            workers=int(env.get("HAVEN_OCR_WORKERS", "2")),
        )
