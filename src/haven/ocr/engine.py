"""Tesseract through pytesseract: availability, version, and one picture's words. ``read_text`` never raises.

Tesseract runs single-threaded (``OMP_THREAD_LIMIT=1`` in the environment of each tesseract process it
starts): parallelism comes from processes, which scale better than Tesseract's OpenMP threads on small
pictures. The variable is set only around each call, never left in Haven's own environment: an OpenMP
runtime in Haven (FAISS k-means for the same-scene index, run later in the same command) that starts
under it spins instead of working.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PIL import Image

from haven.errors import HavenError
from haven.ocr.preprocess import prepare
from haven.ocr.settings import OcrSettings

MISSING = (
    "tesseract is not installed: OCR needs the Debian packages tesseract-ocr and tesseract-ocr-eng "
    "(scripts/apt-deps.sh installs them); the rest of Haven runs without it"
)


OMP_LIMIT = "OMP_THREAD_LIMIT"


class TesseractMissingError(HavenError):
    """The tesseract program (or pytesseract, or a requested language) is not available."""


@dataclass(frozen=True)
class PageText:
    text: str = ""
    words: int = 0
    confidence: float | None = None
    """Mean confidence (0-100) of the words kept; None when there are none."""
    error: str | None = None


@contextmanager
def _single_threaded_tesseract() -> Iterator[None]:
    """pytesseract starts tesseract with Haven's environment and takes no other: set the limit for the call."""
    previous = os.environ.get(OMP_LIMIT)
    os.environ[OMP_LIMIT] = "1"
    try:
        yield
    finally:
        if previous is None:
            del os.environ[OMP_LIMIT]
        else:
            os.environ[OMP_LIMIT] = previous


def engine_name() -> str:
    """``tesseract 5.3.0``; raises TesseractMissingError when Tesseract cannot run."""
    try:
        import pytesseract
    except ImportError as exc:
        raise TesseractMissingError("pytesseract is not installed: pip install pytesseract") from exc
    if shutil.which(pytesseract.pytesseract.tesseract_cmd) is None:
        raise TesseractMissingError(MISSING)
    try:
        return f"tesseract {pytesseract.get_tesseract_version()}"
    except (pytesseract.TesseractNotFoundError, OSError) as exc:
        raise TesseractMissingError(MISSING) from exc


def check_language(language: str) -> None:
    import pytesseract

    available = set(pytesseract.get_languages(config=""))
    missing = [lang for lang in language.split("+") if lang not in available]
    if missing:
        raise TesseractMissingError(
            f"Tesseract has no data for language {', '.join(missing)}: install tesseract-ocr-{missing[0]}"
        )


def read_text(img: Image.Image, settings: OcrSettings) -> PageText:
    """The words of an upright picture (any mode), line by line, with the low-confidence ones dropped."""
    import pytesseract

    try:
        with _single_threaded_tesseract():
            data = pytesseract.image_to_data(
                prepare(img, settings), lang=settings.language, config=f"--psm {settings.page_mode}", output_type="dict"
            )
    except Exception as exc:  # pytesseract raises TesseractError, RuntimeError (timeouts), OSError
        return PageText(error=f"OCR failed: {type(exc).__name__}: {str(exc).strip()[:200]}")
    lines: dict[tuple[int, int, int], list[str]] = {}
    confidences: list[float] = []
    for i, word in enumerate(data["text"]):
        word = word.strip()
        confidence = float(data["conf"][i])
        if not _plausible(word, confidence, settings.min_confidence):
            continue
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        lines.setdefault(key, []).append(word)
        confidences.append(confidence)
    if not confidences or not any(sum(ch.isalnum() for ch in w) > SHORT_WORD for ws in lines.values() for w in ws):
        return PageText()  # only short fragments: on photos that is texture read as letters, not text
    text = "\n".join(" ".join(words) for _, words in sorted(lines.items()))
    return PageText(text, len(confidences), round(sum(confidences) / len(confidences), 1))


SHORT_WORD = 3
SHORT_WORD_CONFIDENCE = 80.0
"""Textures (fabric, foliage, wood grain) read as short fragments ("He", "af") at middling confidence."""


def _plausible(word: str, confidence: float, min_confidence: float) -> bool:
    letters = sum(ch.isalnum() for ch in word)
    if letters < 2 or confidence < min_confidence:
        return False  # single characters are mostly noise, and a lone digit is not worth a search hit
    return letters > SHORT_WORD or confidence >= SHORT_WORD_CONFIDENCE
