#!/usr/bin/env python
"""Faces on the LFW subset (issue 6): verification, clustering, speed, and the vector index.

Prints one JSON document on stdout (progress on stderr). Data: ../shared/data/faces (1,900 LFW images of
150 adults; README there). Every image goes through the same code as `haven analyze --faces`
(haven.faces.analysis.analyse_picture with the configured model, HAVEN_FACE_* settings); each image's
face is the detected face nearest the image centre (LFW's labelled person).

  split          people sorted by name, alternately into a tuning half and a test half
  verification   same/different decision by embedding distance. Positives: the LFW pairs whose two images
                 are present (pairs_in_subset.csv); negatives: as many random pairs of different people
                 from labels.csv (seeded). Reported at dlib's stock 0.6 on all pairs, and at the threshold
                 tuned on the tuning half's people, on the test half's pairs only.
  clustering     Chinese whispers (haven.faces.clustering.cluster_embeddings), threshold tuned for BCubed F1
                 on the tuning half, reported on the test half and on all 1,900 images. Images without a
                 detected face count as singletons (they hurt recall), never dropped.
  speed          faces/s and images/s with 1 process (first --speed-images images) and 2 processes (all)
  index          exact numpy search vs faiss HNSW on N embeddings (real ones plus noise), ms per query

    .venv/bin/python bench/faces.py [--data DIR] [--speed-images N] [--index-sizes 10000,100000] [--reuse]

--reuse loads the embeddings of the last run from bench/out/faces_embeddings.npz (no speed figures).
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import dlib
import numpy as np

from haven.config import load_config
from haven.faces.analysis import analyse_picture
from haven.faces.clustering import cluster_embeddings
from haven.faces.model import FaceModel, load_face_model
from haven.faces.vector_index import ExactIndex, HnswIndex

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "faces"
OUT = Path(__file__).parent / "out"
_MODEL: FaceModel | None = None
_WORKING_SIDE = 3200


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def embed_one(path: str) -> tuple[int, np.ndarray | None, float]:
    """(faces found, embedding of the face nearest the centre, quality)."""
    assert _MODEL is not None
    result = analyse_picture(Path(path).read_bytes(), _MODEL, _WORKING_SIDE)
    if not result.faces:
        return 0, None, 0.0
    # LFW images are 250x250 with the labelled person's face on the centre.
    centre = np.array([125.0, 125.0])
    best = min(
        result.faces,
        key=lambda f: float(np.linalg.norm(np.array([f.box[0] + f.box[2] / 2, f.box[1] + f.box[3] / 2]) - centre)),
    )
    return len(result.faces), best.embedding, best.quality


def embed_all(paths: list[str], processes: int) -> tuple[list[tuple[int, np.ndarray | None, float]], float, float]:
    """(results, wall seconds, CPU seconds of the work): the CPU figure stays meaningful on a busy machine."""
    who = resource.RUSAGE_SELF if processes == 1 else resource.RUSAGE_CHILDREN
    before = resource.getrusage(who)
    started = time.perf_counter()
    if processes == 1:
        out = [embed_one(p) for p in paths]
    else:
        pool = multiprocessing.get_context("fork").Pool(processes)
        out = pool.map(embed_one, paths, chunksize=8)
        pool.close()
        pool.join()  # reaped children count in RUSAGE_CHILDREN
    wall = time.perf_counter() - started
    after = resource.getrusage(who)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out, wall, cpu


def speed_figures(results: list[tuple[int, np.ndarray | None, float]], wall: float, cpu: float) -> dict[str, Any]:
    faces = sum(r[0] for r in results)
    return {
        "images": len(results),
        "faces": faces,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "images_per_s": round(len(results) / wall, 2),
        "faces_per_s": round(faces / wall, 2),
        "faces_per_cpu_s": round(faces / cpu, 2) if cpu else None,
    }


def bcubed(labels: list[str], clusters: list[int]) -> dict[str, float]:
    by_cluster: dict[int, list[int]] = defaultdict(list)
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, (label, cluster) in enumerate(zip(labels, clusters, strict=True)):
        by_cluster[cluster].append(i)
        by_label[label].append(i)
    precision = recall = 0.0
    for label, cluster in zip(labels, clusters, strict=True):
        same = sum(1 for j in by_cluster[cluster] if labels[j] == label)
        precision += same / len(by_cluster[cluster])
        recall += same / len(by_label[label])
    p, r = precision / len(labels), recall / len(labels)
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r), 4)}


def pairwise(labels: list[str], clusters: list[int]) -> dict[str, float]:
    def pairs(groups: dict[Any, int]) -> int:
        return sum(n * (n - 1) // 2 for n in groups.values())

    together: dict[tuple[int, str], int] = defaultdict(int)
    per_cluster: dict[int, int] = defaultdict(int)
    per_label: dict[str, int] = defaultdict(int)
    for label, cluster in zip(labels, clusters, strict=True):
        together[(cluster, label)] += 1
        per_cluster[cluster] += 1
        per_label[label] += 1
    tp = pairs(together)
    p, r = tp / max(1, pairs(per_cluster)), tp / max(1, pairs(per_label))
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0}


def cluster_items(embeddings: list[np.ndarray | None], threshold: float) -> list[int]:
    """Cluster labels for every item; items without a face become singletons."""
    present = [i for i, e in enumerate(embeddings) if e is not None]
    labels = cluster_embeddings(np.stack([embeddings[i] for i in present]), threshold) if present else []
    out = [-1] * len(embeddings)
    for i, label in zip(present, labels, strict=True):
        out[i] = label
    next_label = max(labels, default=-1) + 1
    for i, value in enumerate(out):
        if value == -1:
            out[i], next_label = next_label, next_label + 1
    return out


def clustering_report(labels: list[str], embeddings: list[np.ndarray | None], threshold: float) -> dict[str, Any]:
    clusters = cluster_items(embeddings, threshold)
    sizes = defaultdict(int)
    for c in clusters:
        sizes[c] += 1
    return {
        "images": len(labels),
        "people": len(set(labels)),
        "identities_found": len(sizes),
        "identities_with_2_or_more_images": sum(1 for n in sizes.values() if n >= 2),
        "bcubed": bcubed(labels, clusters),
        "pairwise": pairwise(labels, clusters),
    }


def whispers_items(embeddings: list[np.ndarray | None], threshold: float) -> list[int]:
    """dlib's own chinese_whispers_clustering, for comparison; faceless items as singletons."""
    present = [i for i, e in enumerate(embeddings) if e is not None]
    labels = dlib.chinese_whispers_clustering([dlib.vector(embeddings[i].tolist()) for i in present], threshold)
    out = list(range(len(embeddings)))
    offset = len(embeddings)
    for i, label in zip(present, labels, strict=True):
        out[i] = offset + label
    return out


def tune_clustering(labels: list[str], embeddings: list[np.ndarray | None]) -> tuple[float, list[dict[str, Any]]]:
    curve = []
    for threshold in np.arange(0.45, 0.651, 0.01):
        f1 = bcubed(labels, cluster_items(embeddings, float(threshold)))["f1"]
        curve.append({"threshold": round(float(threshold), 2), "bcubed_f1": f1})
    best = max(curve, key=lambda c: c["bcubed_f1"])
    return best["threshold"], curve


def distance(a: np.ndarray | None, b: np.ndarray | None) -> float:
    return float("inf") if a is None or b is None else float(np.linalg.norm(a - b))


def accuracy(pairs: list[tuple[float, bool]], threshold: float) -> float:
    return sum((d <= threshold) == same for d, same in pairs) / max(1, len(pairs))


def negative_pairs(people: list[str], rng: np.random.Generator, count: int) -> list[tuple[int, int]]:
    out: set[tuple[int, int]] = set()
    while len(out) < count:
        a, b = (int(x) for x in rng.integers(0, len(people), 2))
        if people[a] != people[b]:
            out.add((min(a, b), max(a, b)))
    return sorted(out)


def verification(
    data: Path, rows: list[dict[str, str]], embeddings: list[np.ndarray | None], tune_people: set[str]
) -> dict[str, Any]:
    index = {r["path"]: i for i, r in enumerate(rows)}
    people = [r["person_id"] for r in rows]
    listed = list(csv.DictReader((data / "lfw_protocols" / "pairs_in_subset.csv").open()))
    positives = sorted({(index[p["path_a"]], index[p["path_b"]]) for p in listed if p["same_person"] == "1"})
    listed_negatives = sorted({(index[p["path_a"]], index[p["path_b"]]) for p in listed if p["same_person"] != "1"})
    rng = np.random.default_rng(6)
    negatives = listed_negatives + negative_pairs(people, rng, len(positives) - len(listed_negatives))
    scored = [(distance(embeddings[a], embeddings[b]), True, people[a]) for a, b in positives] + [
        (distance(embeddings[a], embeddings[b]), False, people[a]) for a, b in negatives
    ]
    # Tuning pairs: every same-person pair and as many random different-person pairs, tuning people only.
    tune_idx = [i for i, p in enumerate(people) if p in tune_people]
    tune_pos = [(a, b) for k, a in enumerate(tune_idx) for b in tune_idx[k + 1 :] if people[a] == people[b]]
    tune_neg = [
        (tune_idx[a], tune_idx[b]) for a, b in negative_pairs([people[i] for i in tune_idx], rng, len(tune_pos))
    ]
    tune_scored = [(distance(embeddings[a], embeddings[b]), True) for a, b in tune_pos] + [
        (distance(embeddings[a], embeddings[b]), False) for a, b in tune_neg
    ]
    grid = [round(float(t), 2) for t in np.arange(0.40, 0.701, 0.01)]
    tuned = max(grid, key=lambda t: accuracy(tune_scored, t))
    test_scored = [(d, same) for d, same, person in scored if person not in tune_people]
    all_scored = [(d, same) for d, same, _ in scored]
    return {
        "pairs": {
            "positive_lfw": len(positives),
            "negative_lfw": len(listed_negatives),
            "negative_from_labels": len(negatives) - len(listed_negatives),
        },
        "missed_face_in_pair": sum(1 for d, _ in all_scored if d == float("inf")),
        "accuracy_all_pairs_at_0.6": round(accuracy(all_scored, 0.6), 4),
        "tuned_threshold": tuned,
        "tuning_pairs": len(tune_scored),
        "accuracy_test_half_pairs_at_tuned": round(accuracy(test_scored, tuned), 4),
        "test_half_pairs": len(test_scored),
        "accuracy_all_pairs_at_tuned": round(accuracy(all_scored, tuned), 4),
    }


def index_bench(base: np.ndarray, sizes: list[int]) -> list[dict[str, Any]]:
    rng = np.random.default_rng(7)
    out = []
    for size in sizes:
        picks = base[rng.integers(0, len(base), size)]
        vectors = (picks + rng.normal(0, 0.03, picks.shape)).astype(np.float32)
        queries = vectors[rng.integers(0, size, 200)] + rng.normal(0, 0.02, (200, base.shape[1])).astype(np.float32)
        exact = ExactIndex(vectors)
        started = time.perf_counter()
        truth = [exact.search(q[None, :], 10, 10.0)[0] for q in queries]
        exact_ms = (time.perf_counter() - started) * 1000 / len(queries)
        started = time.perf_counter()
        hnsw = HnswIndex(vectors)
        build_s = time.perf_counter() - started
        started = time.perf_counter()
        approx = [hnsw.search(q[None, :], 10, 10.0)[0] for q in queries]
        hnsw_ms = (time.perf_counter() - started) * 1000 / len(queries)
        recall = np.mean(
            [len({r for r, _ in a} & {r for r, _ in t}) / max(1, len(t)) for a, t in zip(approx, truth, strict=True)]
        )
        out.append(
            {
                "faces": size,
                "exact_ms_per_query": round(exact_ms, 2),
                "hnsw_ms_per_query": round(hnsw_ms, 3),
                "hnsw_build_s": round(build_s, 2),
                "hnsw_recall_at_10": round(float(recall), 4),
            }
        )
        log(f"index {size}: exact {exact_ms:.2f} ms, hnsw {hnsw_ms:.3f} ms")
    return out


def main() -> None:
    global _MODEL
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--speed-images", type=int, default=150)
    parser.add_argument("--index-sizes", default="10000,100000")
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    settings = load_config().faces
    _MODEL = load_face_model(settings)
    rows = list(csv.DictReader((args.data / "labels.csv").open()))
    paths = [str(args.data / r["path"]) for r in rows]
    people = [r["person_id"] for r in rows]
    cache = OUT / "faces_embeddings.npz"
    speed: dict[str, Any] = {}
    if args.reuse and cache.exists():
        saved = np.load(cache)
        found, quality = saved["found"].tolist(), saved["quality"].tolist()
        embeddings = [e if n else None for n, e in zip(found, saved["embeddings"], strict=True)]
    else:
        log(f"1 process on {args.speed_images} images")
        one, wall_one, cpu_one = embed_all(paths[: args.speed_images], 1)
        log(f"2 processes on {len(paths)} images")
        load_before = os.getloadavg()[0]
        results, wall_two, cpu_two = embed_all(paths, 2)
        speed = {
            "cores": os.cpu_count(),
            "load_average_1min": {"before_two_process_run": load_before, "after": os.getloadavg()[0]},
            "note": "wall-clock rates depend on what else runs on the machine; faces_per_cpu_s does not",
            "one_process": speed_figures(one, wall_one, cpu_one),
            "two_processes": speed_figures(results, wall_two, cpu_two),
        }
        found = [r[0] for r in results]
        quality = [r[2] for r in results]
        embeddings = [r[1] for r in results]
        OUT.mkdir(exist_ok=True)
        dims = _MODEL.dimensions
        np.savez(
            cache,
            found=np.array(found),
            quality=np.array(quality),
            embeddings=np.stack([e if e is not None else np.zeros(dims, np.float32) for e in embeddings]),
        )
    names = sorted(set(people))
    tune_people = set(names[0::2])
    tune = [i for i, p in enumerate(people) if p in tune_people]
    test = [i for i, p in enumerate(people) if p not in tune_people]
    tuned, curve = tune_clustering([people[i] for i in tune], [embeddings[i] for i in tune])
    log(f"clustering threshold tuned on {len(tune)} images: {tuned}")
    tune_labels, tune_embeddings = [people[i] for i in tune], [embeddings[i] for i in tune]
    whispers_tuned = max(
        (round(float(t), 2) for t in np.arange(0.40, 0.601, 0.01)),
        key=lambda t: bcubed(tune_labels, whispers_items(tune_embeddings, t))["f1"],
    )
    present = np.stack([e for e in embeddings if e is not None])
    document = {
        "data": str(args.data),
        "model": _MODEL.name,
        "settings": {
            "detector": settings.detector,
            "upsample": settings.upsample,
            "jitters": settings.jitters,
            "max_side": settings.max_side,
            "match_threshold": _MODEL.threshold,
            "cluster_threshold": _MODEL.cluster_threshold,
        },
        "detection": {
            "images": len(rows),
            "with_a_face": sum(1 for n in found if n),
            "without_a_face": sum(1 for n in found if not n),
            "with_several_faces": sum(1 for n in found if n > 1),
            "faces": int(sum(found)),
            "median_quality_of_labelled_face": round(
                float(np.median([q for q, n in zip(quality, found, strict=True) if n])), 3
            ),
        },
        "verification": verification(args.data, rows, embeddings, tune_people),
        "clustering": {
            "method": "average linkage per connected component (haven.faces.clustering)",
            "tuned_threshold": tuned,
            "tuning_curve": curve,
            "chinese_whispers_for_comparison": {
                "tuned_threshold": whispers_tuned,
                "test_half_bcubed": bcubed(
                    [people[i] for i in test], whispers_items([embeddings[i] for i in test], whispers_tuned)
                ),
                "all_images_bcubed": bcubed(people, whispers_items(embeddings, whispers_tuned)),
            },
            "test_half": clustering_report([people[i] for i in test], [embeddings[i] for i in test], tuned),
            "all_images_at_tuned": clustering_report(people, embeddings, tuned),
            "all_images_at_model_default": clustering_report(people, embeddings, _MODEL.cluster_threshold),
        },
        "speed": speed or "reused embeddings: run without --reuse for speed figures",
        "index": index_bench(present, [int(s) for s in args.index_sizes.split(",") if s]),
    }
    print(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
