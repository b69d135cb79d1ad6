#!/usr/bin/env python
"""OCR on the benign text corpus (issue 6): word recall against ground truth, and images/s.

Prints one JSON document on stdout. Data: ../shared/data/text (README and ground_truth.csv there): 8 ICDAR 2015
street photos, 20 word crops, 2 receipts. Every image goes through the same code as `haven analyze --ocr`
(haven.ocr.analysis.text_of_picture with HAVEN_OCR_* settings, overridable below).

  recall         a ground-truth word (ground_truth.csv `transcription`, split on " | " and spaces; "###" and
                 words without a letter or digit left out) counts as found when its letters and digits,
                 lower-cased, occur in the OCR text's letters and digits (the receipts' ground truth has no
                 spaces, so words are compared without them). `exact_recall`: the word is one of the OCR words.
  speed          images/s over the whole corpus with 1 process and with 2 (fork pool, OMP_THREAD_LIMIT=1)

    .venv/bin/python bench/ocr.py [--data DIR] [--psm 11] [--min-confidence 50] [--target-side 1600]
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from haven.ocr.analysis import text_of_picture
from haven.ocr.engine import PageText, engine_name, use_single_thread
from haven.ocr.settings import OcrSettings
from shared_data import SHARED_DATA

_SETTINGS = OcrSettings()


def _ocr(path: str) -> PageText:
    return text_of_picture(Path(path).read_bytes(), _SETTINGS)


def _letters(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _truth_words(transcription: str) -> list[str]:
    words = [w for part in transcription.split(" | ") for w in part.split()]
    return [w for w in words if w != "###" and _letters(w)]


def _timed(paths: list[str], workers: int) -> tuple[list[PageText], float]:
    started = time.perf_counter()
    if workers == 1:
        results = [_ocr(p) for p in paths]
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = pool.map(_ocr, paths, chunksize=1)
    return results, time.perf_counter() - started


def main() -> None:
    global _SETTINGS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=SHARED_DATA / "text")
    parser.add_argument("--psm", type=int, default=None)
    parser.add_argument("--min-confidence", type=float, default=None)
    parser.add_argument("--target-side", type=int, default=None)
    args = parser.parse_args()
    _SETTINGS = OcrSettings()
    for field, value in (
        ("page_mode", args.psm),
        ("min_confidence", args.min_confidence),
        ("target_side", args.target_side),
    ):
        if value is not None:
            _SETTINGS = replace(_SETTINGS, **{field: value})
    use_single_thread()

    with (args.data / "ground_truth.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    paths = [str(args.data / row["path"]) for row in rows]
    results, one_process = _timed(paths, 1)
    _, two_processes = _timed(paths, 2)

    per_kind: dict[str, dict[str, int]] = defaultdict(lambda: {"words": 0, "found": 0, "exact": 0, "images": 0})
    images: list[dict[str, Any]] = []
    for row, result in zip(rows, results, strict=True):
        truth = _truth_words(row["transcription"])
        haystack = _letters(result.text)
        ocr_words = {_letters(w) for w in result.text.split()}
        found = [w for w in truth if _letters(w) in haystack]
        exact = [w for w in truth if _letters(w) in ocr_words]
        counts = per_kind[row["kind"]]
        counts["images"] += 1
        counts["words"] += len(truth)
        counts["found"] += len(found)
        counts["exact"] += len(exact)
        images.append(
            {
                "path": row["path"],
                "truth": truth,
                "ocr": result.text,
                "confidence": result.confidence,
                "found": len(found),
                "error": result.error,
            }
        )

    words = sum(c["words"] for c in per_kind.values())
    report = {
        "engine": engine_name(),
        "settings": {
            "language": _SETTINGS.language,
            "psm": _SETTINGS.page_mode,
            "min_confidence": _SETTINGS.min_confidence,
            "target_side": _SETTINGS.target_side,
        },
        "images": len(rows),
        "truth_words": words,
        "word_recall": round(sum(c["found"] for c in per_kind.values()) / words, 3),
        "exact_word_recall": round(sum(c["exact"] for c in per_kind.values()) / words, 3),
        "by_kind": {
            kind: {
                "images": c["images"],
                "words": c["words"],
                "word_recall": round(c["found"] / c["words"], 3),
                "exact_word_recall": round(c["exact"] / c["words"], 3),
            }
            for kind, c in sorted(per_kind.items())
        },
        "images_per_s": {
            "1_process": round(len(rows) / one_process, 2),
            "2_processes": round(len(rows) / two_processes, 2),
        },
        "per_image": images,
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
