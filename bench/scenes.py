#!/usr/bin/env python
"""Same scene on the benign photos corpus (issue 6): recall@4 and mAP, with PDQ ranking as the baseline.

Prints one JSON document on stdout (progress on stderr). Data: ../shared/data/photos (README there).
Groups come from near_duplicates/groups.csv (UKBench object views, the edited copies of ukbench00120,
an INRIA Holidays scene); groups with one picture here are distractors, as are all imagenet_sample photos.

Every picture of a group is a query; all other pictures (group members and distractors) are ranked by
the same code as `haven search-scene` (haven.scenes.ranking.rank: bag-of-words shortlist of SHORTLIST,
re-ranked by homography inliers), and by PDQ Hamming distance (pdqhash) for comparison.

  recall@4   share of a query's relevant pictures found in its first 4 results (averaged over queries)
  mAP        mean over queries of average precision over the full ranking

    .venv/bin/python bench/scenes.py [--data DIR] [--workers 2]
"""

from __future__ import annotations

import os

# One BLAS thread: the descriptor products are small, and threads fighting over 2 shared cores cost more
# than they bring (haven search-scene is one query per process; set OPENBLAS_NUM_THREADS=1 there too).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import csv
import json
import multiprocessing
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from haven.scenes import features as scene_features
from haven.scenes.index import build_index
from haven.scenes.ranking import SHORTLIST, rank


def _extract(path: str) -> tuple[str, scene_features.SceneFeatures | None, str | None, float]:
    started = time.perf_counter()
    try:
        found = scene_features.extract(Path(path).read_bytes())
        return path, found, None, time.perf_counter() - started
    except scene_features.PictureError as exc:
        return path, None, str(exc), time.perf_counter() - started


def _pdq(path: str) -> np.ndarray:
    import pdqhash
    from PIL import Image

    with Image.open(path) as img:
        pixels = np.asarray(img.convert("RGB"))
    bits, _ = pdqhash.compute(pixels)
    return bits.astype(bool)


def average_precision(ranked_relevance: list[bool], relevant: int) -> float:
    hits, total = 0, 0.0
    for position, is_relevant in enumerate(ranked_relevance, start=1):
        if is_relevant:
            hits += 1
            total += hits / position
    return total / relevant if relevant else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/photos")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    group_of: dict[str, str] = {}
    with (args.data / "near_duplicates/groups.csv").open() as stream:
        for row in csv.DictReader(stream):
            group_of[str(args.data / row["path"])] = row["group_id"]
    sizes: dict[str, int] = defaultdict(int)
    for group in group_of.values():
        sizes[group] += 1
    paths = sorted(group_of) + sorted(str(p) for p in (args.data / "imagenet_sample").iterdir() if p.is_file())
    label = {p: (group_of[p] if sizes[group_of.get(p, "")] > 1 else None) for p in paths if p in group_of}

    print(f"extracting features of {len(paths)} pictures with {args.workers} processes", file=sys.stderr)
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(args.workers) as pool:
        extracted = pool.map(_extract, paths, chunksize=4)
    extract_seconds = time.perf_counter() - started
    found = {p: f for p, f, _, _ in extracted if f is not None}
    errors = {p: e for p, _, e, _ in extracted if e is not None}
    keypoints = [len(f) for f in found.values()]

    keys = list(range(len(paths)))
    started = time.perf_counter()
    sets = [found[p].descriptors if p in found else np.zeros((0, 128), np.uint8) for p in paths]
    index = build_index(keys, [0] * len(paths), sets)
    assert index is not None
    index_seconds = time.perf_counter() - started
    by_key = {k: found[p] for k, p in zip(keys, paths, strict=True) if p in found}

    print("PDQ hashes", file=sys.stderr)
    with multiprocessing.get_context("fork").Pool(args.workers) as pool:
        pdq = np.stack(pool.map(_pdq, paths, chunksize=8))

    queries = [k for k, p in zip(keys, paths, strict=True) if label.get(p)]
    scene_ap, scene_r4, pdq_ap, pdq_r4, latencies = [], [], [], [], []
    per_group: dict[str, list[float]] = defaultdict(list)
    for q in queries:
        group = label[paths[q]]
        relevant = sizes[group] - 1
        started = time.perf_counter()
        ranked = rank(index, by_key[q], lambda ks: {k: by_key[k] for k in ks if k in by_key}, exclude_keys=[q])
        latencies.append(time.perf_counter() - started)
        order = [c.key for c in ranked]
        order += [k for k in keys if k != q and k not in set(order)]  # pictures without features: last
        relevance = [label.get(paths[k]) == group for k in order]
        scene_ap.append(average_precision(relevance, relevant))
        scene_r4.append(sum(relevance[:4]) / min(4, relevant))
        per_group[group].append(scene_ap[-1])
        distances = np.count_nonzero(pdq != pdq[q], axis=1)
        pdq_order = [k for k in np.argsort(distances, kind="stable").tolist() if k != q]
        pdq_relevance = [label.get(paths[k]) == group for k in pdq_order]
        pdq_ap.append(average_precision(pdq_relevance, relevant))
        pdq_r4.append(sum(pdq_relevance[:4]) / min(4, relevant))

    report: dict[str, Any] = {
        "data": str(args.data),
        "pictures": len(paths),
        "groups": {g: n for g, n in sorted(sizes.items()) if n > 1},
        "queries": len(queries),
        "distractors": len(paths) - len(queries),
        "features": {
            "version": scene_features.VERSION,
            "pictures_per_second": round(len(paths) / extract_seconds, 1),
            "workers": args.workers,
            "mean_keypoints": round(float(np.mean(keypoints)), 1),
            "pictures_without_keypoints": int(sum(k == 0 for k in keypoints)),
            "errors": errors,
            "bytes_per_picture": round(float(np.mean(keypoints)) * (128 + 4)),
        },
        "index": {"words": len(index.vocabulary), "build_seconds": round(index_seconds, 2)},
        "scene": {
            "mAP": round(float(np.mean(scene_ap)), 4),
            "recall_at_4": round(float(np.mean(scene_r4)), 4),
            "mAP_per_group": {g: round(float(np.mean(v)), 4) for g, v in sorted(per_group.items())},
            "shortlist": SHORTLIST,
            "query_ms_median": round(1000 * float(np.median(latencies)), 1),
            "query_ms_p95": round(1000 * float(np.percentile(latencies, 95)), 1),
        },
        "pdq_baseline": {"mAP": round(float(np.mean(pdq_ap)), 4), "recall_at_4": round(float(np.mean(pdq_r4)), 4)},
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
