#!/usr/bin/env python
"""Triage throughput benchmark: Haven's per-image fast path against naive and reference hashers.

Prints one JSON document on stdout (progress goes to stderr). Inputs are the benign photos in
../shared/data/photos plus 12-MP upscales of them generated once (deterministically) under
bench/out/. Every measure runs on the same files in the same run, page cache warmed first:

  bare_compute     read + MD5/SHA-1/SHA-256 + fast decode + PDQ (Haven's functions, one process)
  naive            read + hashlib + full Pillow decode + pdqhash (what a simple script does)
  threatexchange   PdqSignal.hash_from_file per file (Meta's python-threatexchange)
  haven_cli_1w/2w  `haven triage <dir> --workers N` end to end (subprocess, fresh HAVEN_HOME):
                   rate = images / the ingest time the CLI reports (walk, worker start-up,
                   analysis, store); *_wall = images / whole command (adds start-up, match, report)

plus PDQ fast path vs full resolution (quality >= 80) and a per-stage cost breakdown of
analyze_bytes on the 12-MP set.

    .venv/bin/python bench/triage.py [--quick] [--limit N] [--large-count N] [--no-cli]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import multiprocessing
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pdqhash
import PIL
from PIL import Image
from threatexchange.signal_type.pdq.signal import PdqSignal as PytxPdqSignal

from haven.analyze import analyze_bytes
from haven.evidence.filetype import sniff
from haven.media.decode import decode_image
from haven.media.exif import read_exif
from haven.media.thumbnail import make_thumbnail
from haven.settings import AnalysisSettings
from haven.signals.crypto import crypto_hashes
from haven.signals.pdq import bits_to_hex, hamming, pdq_from_image
from haven.tuning import tune_allocator

PHOTOS = Path(os.environ.get("HAVEN_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")) / "photos"
OUT = Path(__file__).resolve().parent / "out"
LARGE_SIZE = (4000, 3000)
LARGE_QUALITY = 90
TARGETS = {"haven_1w_over_threatexchange_12mp": 10.0, "haven_2w_over_1w": 1.8, "haven_1w_over_bare": 0.75}
SETTINGS = AnalysisSettings()


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- inputs


def source_photos() -> list[Path]:
    files = sorted((PHOTOS / "imagenet_sample").glob("*.JPEG"))
    files += sorted(p for p in (PHOTOS / "near_duplicates").rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
    return files


def link_set(name: str, files: list[Path]) -> Path:
    """A folder holding exactly ``files`` (hard links, else copies) for the CLI to walk."""
    folder = OUT / name
    wanted = {f"{i:04d}_{f.name}": f for i, f in enumerate(files)}
    if folder.exists() and sorted(p.name for p in folder.iterdir()) == sorted(wanted):
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for link_name, src in wanted.items():
        try:
            os.link(src, folder / link_name)
        except OSError:
            shutil.copyfile(src, folder / link_name)
    return folder


def large_set(sources: list[Path], count: int) -> list[Path]:
    """12-MP JPEGs upscaled from the first ``count`` photos; cached, identical on every run."""
    folder = OUT / "large12mp"
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for i, src in enumerate(sources[:count]):
        target = folder / f"{i:04d}_{src.stem}_4000x3000.jpg"
        if not target.exists():
            log(f"generating {target.name}")
            img = Image.open(src).convert("RGB").resize(LARGE_SIZE, Image.Resampling.BICUBIC)
            tmp = target.with_suffix(".tmp")
            img.save(tmp, "JPEG", quality=LARGE_QUALITY)  # no EXIF, no optimize: deterministic
            tmp.replace(target)
        made.append(target)
    return made


# ---------------------------------------------------------------- measures


def timed(label: str, files: list[Path], fn: Callable[[Path], Any]) -> tuple[float, list[Any]]:
    log(f"  {label}: {len(files)} files")
    start = time.perf_counter()
    results = [fn(f) for f in files]
    return time.perf_counter() - start, results


def bare_compute(path: Path) -> tuple[str, int]:
    data = path.read_bytes()
    crypto_hashes(data)
    decoded = decode_image(data, SETTINGS)
    found = pdq_from_image(decoded.image, (decoded.width, decoded.height))
    return found.hex, found.quality


def bare_two_processes(files: list[Path]) -> float:
    log(f"  bare compute, 2 processes: {len(files)} files")
    with multiprocessing.get_context("fork").Pool(2) as pool:
        start = time.perf_counter()
        for _ in pool.imap_unordered(bare_compute, files, chunksize=1):
            pass
        return time.perf_counter() - start


def naive(path: Path) -> tuple[str, int]:
    data = path.read_bytes()
    for algo in (hashlib.md5, hashlib.sha1, hashlib.sha256):
        algo(data).hexdigest()
    bits, quality = pdqhash.compute(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
    return bits_to_hex(bits), int(quality)


def threatexchange(path: Path) -> str:
    return PytxPdqSignal.hash_from_file(path)


def haven_cmd() -> list[str] | None:
    exe = Path(sys.executable).with_name("haven")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "haven.cli"]
    try:
        probe = subprocess.run([*cmd, "triage", "--help"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if probe.returncode != 0:
        return None
    root = subprocess.run([*cmd, "--help"], capture_output=True, text=True, timeout=60).stdout
    return [*cmd, "--quiet"] if "--quiet" in root else cmd


def run_cli(cmd: list[str], folder: Path, workers: int, tag: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="haven-bench-") as tmp:
        env = {k: v for k, v in os.environ.items() if k != "HAVEN_DATABASE_URL"}
        env["HAVEN_HOME"] = str(Path(tmp) / "home")
        args = [
            *cmd,
            "triage",
            str(folder),
            "--case",
            f"BENCH-{tag}-{workers}w",
            "--workers",
            str(workers),
            "--out",
            str(Path(tmp) / "report"),
        ]
        log(f"  haven triage --workers {workers}: {folder.name}")
        start = time.perf_counter()
        proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=3600)
        seconds = time.perf_counter() - start
    if proc.returncode != 0:
        return {"available": False, "error": (proc.stderr or proc.stdout).strip()[-500:]}
    found = re.search(r"Ingested ([\d,]+) items in ([\d.]+)s", proc.stderr + proc.stdout)
    result: dict[str, Any] = {"available": True, "wall_seconds": round(seconds, 3)}
    if found:
        result["ingest_items"] = int(found.group(1).replace(",", ""))
        result["ingest_seconds"] = float(found.group(2))
    return result


def measure_set(name: str, files: list[Path], cli: list[str] | None, workers: list[int], rounds: int) -> dict[str, Any]:
    """Best of ``rounds`` for Haven and the bare compute, interleaved so that a busy moment on a shared
    machine hits both alike; the slow baselines (naive, threatexchange) run once."""
    log(f"[{name}] {len(files)} images, {rounds} round(s)")
    for f in files:  # warm the page cache so every measure reads from memory
        f.read_bytes()
    n = len(files)
    secs: dict[str, float] = {}
    secs["naive_full_decode"], full = timed("naive full decode", files, naive)
    secs["threatexchange"], _ = timed("threatexchange", files, threatexchange)
    folder = link_set(f"cli-{name}-{n}", files)
    cli_runs: dict[str, Any] = {}
    fast: list[Any] = []
    for _ in range(rounds):
        seconds, fast = timed("bare compute", files, bare_compute)
        secs["bare_compute"] = min(secs.get("bare_compute", seconds), seconds)
        # The machine's own parallel scaling: the same bare compute in 2 processes (ceiling for Haven's 2w/1w).
        seconds = bare_two_processes(files)
        secs["bare_compute_2proc"] = min(secs.get("bare_compute_2proc", seconds), seconds)
        for w in workers:
            key = f"{w}w"
            if cli is None:
                cli_runs[key] = {"available": False, "error": "haven triage not available"}
                continue
            run = run_cli(cli, folder, w, name)
            best = cli_runs.get(key)
            if best is None or (run["available"] and run.get("ingest_seconds", 1e9) < best.get("ingest_seconds", 1e9)):
                run["rounds_ingest_seconds"] = (best or {}).get("rounds_ingest_seconds", [])
                cli_runs[key] = run
            cli_runs[key].setdefault("rounds_ingest_seconds", []).append(run.get("ingest_seconds"))
    rates = {k: round(n / v, 2) for k, v in secs.items()}
    per_round = [
        round(one / two, 2)
        for one, two in zip(
            cli_runs.get("1w", {}).get("rounds_ingest_seconds", []),
            cli_runs.get("2w", {}).get("rounds_ingest_seconds", []),
            strict=False,
        )
        if one and two
    ]
    for w in workers:
        run = cli_runs[f"{w}w"]
        if run["available"]:
            # Throughput is the CLI's own ingest time (walk, worker start-up, analysis, store);
            # start-up, matching and the report are fixed costs kept in the wall-clock rate.
            rates[f"haven_cli_{w}w_wall"] = round(n / run["wall_seconds"], 2)
            if run.get("ingest_seconds"):
                rates[f"haven_cli_{w}w"] = round(n / run["ingest_seconds"], 2)
                run["other_seconds"] = round(run["wall_seconds"] - run["ingest_seconds"], 3)
    dists = [hamming(f[0], g[0]) for f, g in zip(fast, full, strict=True) if g[1] >= 80]
    sizes = [Image.open(f).size for f in files]
    return {
        "images": n,
        "mean_megapixels": round(float(np.mean([w * h for w, h in sizes])) / 1e6, 2),
        "mean_bytes": int(np.mean([f.stat().st_size for f in files])),
        "images_per_s": rates,
        "ratios": ratios(rates),
        "haven_2w_over_1w_each_round": per_round,  # the same round's two runs, a minute apart
        "haven_cli": cli_runs,
        "pdq_fast_vs_full": {
            "compared_quality_ge_80": len(dists),
            "max": max(dists, default=None),
            "mean": round(float(np.mean(dists)), 3) if dists else None,
            "over_10": sum(d > 10 for d in dists),
            "differing": sum(d > 0 for d in dists),
        },
    }


def ratios(rates: dict[str, float]) -> dict[str, float | str]:
    def ratio(a: str, b: str) -> float | str:
        return round(rates[a] / rates[b], 2) if a in rates and b in rates else "not available"

    return {
        "haven_1w_over_threatexchange": ratio("haven_cli_1w", "threatexchange"),
        "haven_2w_over_1w": ratio("haven_cli_2w", "haven_cli_1w"),
        "haven_1w_over_bare": ratio("haven_cli_1w", "bare_compute"),
        "wall_haven_1w_over_threatexchange": ratio("haven_cli_1w_wall", "threatexchange"),
        "wall_haven_2w_over_1w": ratio("haven_cli_2w_wall", "haven_cli_1w_wall"),
        "wall_haven_1w_over_bare": ratio("haven_cli_1w_wall", "bare_compute"),
        "bare_over_threatexchange": ratio("bare_compute", "threatexchange"),
        "bare_2proc_over_1proc": ratio("bare_compute_2proc", "bare_compute"),
        "bare_over_naive": ratio("bare_compute", "naive_full_decode"),
    }


def breakdown(files: list[Path], rounds: int = 3) -> dict[str, float]:
    """Milliseconds per image for each stage of analyze_bytes (best of ``rounds``)."""
    log(f"[breakdown] {len(files)} images x {rounds} rounds")
    best: dict[str, float] = {}
    for _ in range(rounds):
        totals = dict.fromkeys(("read", "hashes", "sniff", "decode", "pdq", "exif", "thumbnail", "analyze_bytes"), 0.0)
        for path in files:
            t0 = time.perf_counter()
            data = path.read_bytes()
            t1 = time.perf_counter()
            crypto_hashes(data)
            t2 = time.perf_counter()
            sniff(data[:65536])
            t3 = time.perf_counter()
            decoded = decode_image(data, SETTINGS)
            t4 = time.perf_counter()
            pdq_from_image(decoded.image, (decoded.width, decoded.height))
            t5 = time.perf_counter()
            _, orientation = read_exif(decoded.exif_source)
            t6 = time.perf_counter()
            make_thumbnail(decoded.image, SETTINGS, orientation)
            t7 = time.perf_counter()
            analyze_bytes(data, SETTINGS)
            t8 = time.perf_counter()
            for key, dt in zip(
                totals, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5, t7 - t6, t8 - t7), strict=True
            ):
                totals[key] += dt
        for key, total in totals.items():
            per = total / len(files) * 1000
            best[key] = min(best.get(key, per), per)
    core = best["read"] + best["hashes"] + best["decode"] + best["pdq"]
    extras = best["sniff"] + best["exif"] + best["thumbnail"]
    out = {k: round(v, 3) for k, v in best.items()}
    out["core_read_hash_decode_pdq"] = round(core, 3)
    out["extras_sniff_exif_thumbnail"] = round(extras, 3)
    out["analyze_rate_over_core_rate"] = round(core / (best["read"] + best["analyze_bytes"]), 3)
    return out


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="normal photos to use (default: all 593)")
    # 360: a run of one worker takes about 8 s, so the second worker's fixed costs (fork, the first pictures
    # in cold processes, the last picture alone) weigh as little as in a real seizure of thousands.
    parser.add_argument("--large-count", type=int, default=360, help="12-MP images (default: 360)")
    parser.add_argument("--quick", action="store_true", help="100 photos, 24 large images, fewer rounds")
    parser.add_argument("--no-cli", action="store_true", help="skip the end-to-end haven triage runs")
    # Five: on a shared two-core machine one round's 2-worker figure moves by a tenth either way (so does the
    # bare compute's own 2-process scaling); the best of five is a steadier floor than the best of three.
    parser.add_argument("--rounds", type=int, default=5, help="rounds of Haven and bare compute (best kept)")
    args = parser.parse_args()
    rounds = 1 if args.quick else args.rounds
    limit = 100 if args.quick and args.limit is None else args.limit
    large_count = 24 if args.quick and args.large_count == 360 else args.large_count

    started = time.perf_counter()
    # The same allocator tuning Haven's ingest applies, so the bare compute is measured as fairly.
    allocator_tuned = tune_allocator()
    photos = source_photos()
    normal = photos[:limit] if limit else photos
    large = large_set(photos, large_count)
    cli = None if args.no_cli else haven_cmd()
    if cli is None and not args.no_cli:
        log("haven triage is not available: end-to-end figures will read 'not available'")
    workers = [1, 2]
    report: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "python": platform.python_version(),
            "pillow": PIL.__version__,
            "pdqhash": getattr(pdqhash, "__version__", "?"),
            "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "settings": {
            "pdq_decode_min_px": SETTINGS.pdq_decode_min_px,
            "thumbnail_px": SETTINGS.thumbnail_px,
            "allocator_tuned_in_both": allocator_tuned,
        },
        "sets": {
            "photos": measure_set("photos", normal, cli, workers, rounds),
            "large_12mp": measure_set("large_12mp", large, cli, workers, rounds),
        },
        "breakdown_12mp_ms_per_image": breakdown(large[:20], rounds=2 if args.quick else 3),
    }
    large_ratios = report["sets"]["large_12mp"]["ratios"]
    report["targets"] = {
        "haven_1w_over_threatexchange_12mp": _target(
            large_ratios["haven_1w_over_threatexchange"], TARGETS["haven_1w_over_threatexchange_12mp"]
        ),
        "haven_2w_over_1w_12mp": _target(large_ratios["haven_2w_over_1w"], TARGETS["haven_2w_over_1w"]),
        "haven_1w_over_bare_12mp": _target(large_ratios["haven_1w_over_bare"], TARGETS["haven_1w_over_bare"]),
        "analyze_over_core_rate": _target(report["breakdown_12mp_ms_per_image"]["analyze_rate_over_core_rate"], 0.85),
    }
    report["machine"]["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["seconds"] = round(time.perf_counter() - started, 1)
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


def _target(value: float | str, target: float) -> dict[str, Any]:
    return {"value": value, "target": target, "met": value >= target if isinstance(value, float) else None}


if __name__ == "__main__":
    main()
