#!/usr/bin/env python
"""Perceptual-hash robustness: recall of edited copies and false matches, PDQ against pHash/dHash.

Prints one JSON document on stdout (progress goes to stderr). Inputs are the benign photos in
../shared/data/photos only:

* imagenet_sample/ (one image per class, so any two are distinct pictures): each original gets ten
  edited copies (see EDITS), each saved as a JPEG as evidence would hold it. Recall = fraction of
  copies within the threshold of their original. False match rate = fraction of all pairs of
  distinct originals within the threshold.
* near_duplicates/groups.csv (UKBench views, imagededup's edited copies, INRIA Holidays shots):
  within-group recall over every pair in a group, false matches over every pair across groups.

PDQ goes through Haven's own ingest path (``analyze_bytes``: fast decode, ``pdq_reduced`` on large
pictures, the 7 dihedral hashes) and Haven's matching rules: threshold 31 of 256 bits inclusive,
and a content below quality 50 never matches. "pdq_dihedral" is what ``match_case`` does with
plain plus ``pdq-dihedral`` matching: the copy's plain hash or any of its 7 dihedral hashes. pHash
and dHash are ``imagehash``'s 64-bit hashes at <= 10 bits, the usual default (imagededup's
max_distance_threshold). Originals below PDQ quality 50 are left out for every hash (a hash list
would not hold them), so all hashes are measured on the same pictures.

    .venv/bin/python bench/robustness.py [--quick] [--limit N]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import imagehash
import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

from haven.analyze import analyze_bytes
from haven.settings import AnalysisSettings
from haven.signals.pdq import DEFAULT_THRESHOLD, QUALITY_FLOOR

PHOTOS = Path(os.environ.get("HAVEN_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")) / "photos"
SETTINGS = AnalysisSettings()
THRESHOLDS = {"pdq": DEFAULT_THRESHOLD, "phash": 10, "dhash": 10}
BITS = {"pdq": 256, "phash": 64, "dhash": 64}
SAVE_QUALITY = 90
"""JPEG quality every edited copy is saved at (except the JPEG-30 edit itself)."""
QUICK_LIMIT = 80
DIHEDRAL_EDITS = ("mirror", "rotate_90")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- edits


def _watermark(img: Image.Image) -> Image.Image:
    # Semi-opaque white text across the lower part, a line ~8% of the height, as stock-photo
    # and social-media overlays are.
    base = img.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    font = ImageFont.load_default(size=max(10, img.height // 12))
    ImageDraw.Draw(layer).text(
        (img.width // 20, img.height * 3 // 4), "(c) HAVEN SAMPLE 2024", font=font, fill=(255, 255, 255, 170)
    )
    return Image.alpha_composite(base, layer).convert("RGB")


def _crop(img: Image.Image) -> Image.Image:
    dx, dy = img.width // 20, img.height // 20
    return img.crop((dx, dy, img.width - dx, img.height - dy))


EDITS: dict[str, tuple[str, Callable[[Image.Image], Image.Image], int]] = {
    # name: (definition, edit, JPEG quality of the saved copy)
    "resize_50": (
        "half width and height (Lanczos)",
        lambda i: i.resize((max(1, i.width // 2), max(1, i.height // 2)), Image.Resampling.LANCZOS),
        SAVE_QUALITY,
    ),
    "jpeg_30": ("re-encoded at JPEG quality 30", lambda i: i, 30),
    "crop_10": ("10% of width and height cut off, 5% each side", _crop, SAVE_QUALITY),
    "rotate_5": (
        "rotated 5 degrees counter-clockwise, same canvas, black corners",
        lambda i: i.rotate(5, resample=Image.Resampling.BICUBIC),
        SAVE_QUALITY,
    ),
    "mirror": ("left-right mirror", lambda i: i.transpose(Image.Transpose.FLIP_LEFT_RIGHT), SAVE_QUALITY),
    "rotate_90": ("rotated 90 degrees", lambda i: i.transpose(Image.Transpose.ROTATE_90), SAVE_QUALITY),
    "greyscale": ("converted to greyscale", lambda i: i.convert("L"), SAVE_QUALITY),
    "brightness_30": (
        "brightness +30% (ImageEnhance 1.3)",
        lambda i: ImageEnhance.Brightness(i).enhance(1.3),
        SAVE_QUALITY,
    ),
    "text_watermark": ("semi-opaque white text line, 1/12 of the height, lower quarter", _watermark, SAVE_QUALITY),
    "border_3px": ("3-pixel black border added", lambda i: ImageOps.expand(i, border=3, fill=0), SAVE_QUALITY),
}


def jpeg(img: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


# ---------------------------------------------------------------- hashing


@dataclass
class Hashes:
    """One picture's hashes: PDQ as Haven stores it, plus imagehash's 64-bit pHash and dHash."""

    pdq: np.ndarray  # (4,) uint64 words of the 256 bits
    dihedral: np.ndarray  # (7, 4) uint64
    quality: int
    phash: np.uint64
    dhash: np.uint64

    @property
    def matchable(self) -> bool:
        return self.quality >= QUALITY_FLOOR


def _words(hex_hashes: list[str]) -> np.ndarray:
    return np.frombuffer(bytes.fromhex("".join(hex_hashes)), dtype=">u8").astype(np.uint64).reshape(-1, 4)


def _word64(h: imagehash.ImageHash) -> np.uint64:
    return np.uint64(int(str(h), 16))


def hash_bytes(data: bytes) -> Hashes:
    info = analyze_bytes(data, SETTINGS)
    if info.pdq is None or info.pdq_dihedral is None or info.pdq_quality is None:
        raise ValueError(f"no PDQ: {info.error}")
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        phash, dhash = _word64(imagehash.phash(img)), _word64(imagehash.dhash(img))
    return Hashes(_words([info.pdq])[0], _words(info.pdq_dihedral), info.pdq_quality, phash, dhash)


def pdq_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distance over the last axis of (..., 4) uint64 arrays, broadcasting."""
    return np.bitwise_count(a ^ b).sum(axis=-1)


def copy_matches(original: Hashes, copy: Hashes) -> dict[str, tuple[bool, int]]:
    """Per hash: (matched under Haven's/the usual rules, distance)."""
    plain = int(pdq_distance(original.pdq, copy.pdq))
    turned = min(plain, int(pdq_distance(original.pdq, copy.dihedral).min()))
    both_ok = original.matchable and copy.matchable
    phash = int(np.bitwise_count(original.phash ^ copy.phash))
    dhash = int(np.bitwise_count(original.dhash ^ copy.dhash))
    return {
        "pdq": (both_ok and plain <= THRESHOLDS["pdq"], plain),
        "pdq_dihedral": (both_ok and turned <= THRESHOLDS["pdq"], turned),
        "phash": (phash <= THRESHOLDS["phash"], phash),
        "dhash": (dhash <= THRESHOLDS["dhash"], dhash),
    }


# ---------------------------------------------------------------- pairwise false matches


def pair_matrices(hashes: list[Hashes]) -> dict[str, np.ndarray]:
    """n x n boolean "would match" matrices per hash (symmetric; the diagonal is meaningless)."""
    pdq = np.stack([h.pdq for h in hashes])
    dihedral = np.stack([h.dihedral for h in hashes])
    ok = np.array([h.matchable for h in hashes])
    plain = pdq_distance(pdq[:, None, :], pdq[None, :, :])
    # i's 7 dihedral hashes against j's plain hash; a pair matches if either direction does, as a
    # known picture may be on either side.
    turned = pdq_distance(dihedral[:, None, :, :], pdq[None, :, None, :]).min(axis=2)
    turned = np.minimum(np.minimum(turned, turned.T), plain)
    both_ok = ok[:, None] & ok[None, :]
    out = {
        "pdq": both_ok & (plain <= THRESHOLDS["pdq"]),
        "pdq_dihedral": both_ok & (turned <= THRESHOLDS["pdq"]),
    }
    for name in ("phash", "dhash"):
        words = np.array([getattr(h, name) for h in hashes], dtype=np.uint64)
        out[name] = np.bitwise_count(words[:, None] ^ words[None, :]) <= THRESHOLDS[name]
    return out


def rate(matrix: np.ndarray, mask: np.ndarray) -> dict[str, Any]:
    pairs = int(mask.sum())
    hits = int((matrix & mask).sum())
    return {"pairs": pairs, "matched": hits, "rate": round(hits / pairs, 6) if pairs else None}


# ---------------------------------------------------------------- the two corpora


def edited_copies(files: list[Path]) -> dict[str, Any]:
    originals: list[Hashes] = []
    results: dict[str, dict[str, list[tuple[bool, int]]]] = {e: {} for e in EDITS}
    skipped_low_quality = 0
    for n, path in enumerate(files, 1):
        data = path.read_bytes()
        original = hash_bytes(data)
        if not original.matchable:
            skipped_low_quality += 1
            continue
        originals.append(original)
        with Image.open(io.BytesIO(data)) as img:
            rgb = img.convert("RGB")
        for edit, (_, fn, quality) in EDITS.items():
            for name, outcome in copy_matches(original, hash_bytes(jpeg(fn(rgb), quality))).items():
                results[edit].setdefault(name, []).append(outcome)
        if n % 25 == 0 or n == len(files):
            log(f"  edited copies: {n}/{len(files)} originals")
    edits = {}
    for edit, per_hash in results.items():
        names = per_hash if edit in DIHEDRAL_EDITS else {k: v for k, v in per_hash.items() if k != "pdq_dihedral"}
        edits[edit] = {
            name: {
                "recall": round(sum(m for m, _ in outcomes) / len(outcomes), 4),
                "median_distance": float(np.median([d for _, d in outcomes])),
            }
            for name, outcomes in names.items()
        }
    n = len(originals)
    distinct = np.triu(np.ones((n, n), dtype=bool), k=1)
    matrices = pair_matrices(originals)
    return {
        "originals": n,
        "originals_left_out_pdq_quality_below_50": skipped_low_quality,
        "copies_per_original": len(EDITS),
        "edits": edits,
        "false_match_rate_distinct_originals": {name: rate(m, distinct) for name, m in matrices.items()},
    }


def near_duplicate_groups() -> dict[str, Any]:
    with (PHOTOS / "near_duplicates" / "groups.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    hashes, groups, low = [], [], 0
    edited = set()  # groups holding edited copies of one picture, rather than separate shots
    for row in rows:
        found = hash_bytes((PHOTOS / row["path"]).read_bytes())  # paths are relative to photos/
        low += not found.matchable  # kept: a low-quality view is a real PDQ miss, not a left-out original
        hashes.append(found)
        groups.append(row["group_id"])
        if row["relation"].startswith("derived"):
            edited.add(row["group_id"])
    log(f"  near-duplicate groups: {len(rows)} files hashed")
    label = np.array(groups)
    upper = np.triu(np.ones((len(rows), len(rows)), dtype=bool), k=1)
    same = upper & (label[:, None] == label[None, :])
    is_edited = np.isin(label, sorted(edited))[:, None]
    kinds = {
        "all": same,
        "edited_copies_of_one_picture": same & is_edited,
        "separate_shots_or_views": same & ~is_edited,
    }
    matrices = pair_matrices(hashes)
    return {
        "files": len(rows),
        "groups": len(set(groups)),
        "edited_copy_groups": sorted(edited),
        "files_below_pdq_quality_50": low,
        "within_group_recall": {
            kind: {name: rate(m, mask) for name, m in matrices.items()} for kind, mask in kinds.items()
        },
        "between_group_false_matches": {name: rate(m, upper & ~same) for name, m in matrices.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="use the first N ImageNet originals")
    parser.add_argument("--quick", action="store_true", help=f"first {QUICK_LIMIT} originals (about 15 s)")
    args = parser.parse_args()
    limit = args.limit if args.limit is not None else (QUICK_LIMIT if args.quick else None)
    files = sorted((PHOTOS / "imagenet_sample").glob("*.JPEG"))[:limit]
    if not files:
        raise SystemExit(f"no photos under {PHOTOS / 'imagenet_sample'}")
    started = time.perf_counter()
    log(f"robustness: {len(files)} originals x {len(EDITS)} edits, then near-duplicate groups")
    report = {
        "thresholds": {name: {"max_distance": t, "bits": BITS[name]} for name, t in THRESHOLDS.items()},
        "rules": {
            "pdq": f"Haven's analyze_bytes hashes; <= {THRESHOLDS['pdq']} bits, both qualities >= {QUALITY_FLOOR}",
            "pdq_dihedral": "plain PDQ or any of the copy's 7 dihedral hashes (Haven's pdq + pdq-dihedral)",
            "phash": "imagehash.phash, 8x8 DCT of a 32x32 greyscale resize",
            "dhash": "imagehash.dhash, 8x8 horizontal gradient signs",
        },
        "edit_definitions": {name: f"{text}; saved as JPEG q{q}" for name, (text, _, q) in EDITS.items()},
        "imagenet_sample": edited_copies(files),
        "near_duplicate_groups": near_duplicate_groups(),
        "runtime_seconds": 0.0,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    report["runtime_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
