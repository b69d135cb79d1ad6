#!/usr/bin/env python
"""Video figure: per-frame PDQ speed, closeness to Meta's vPDQ reference hashes, vPDQ match percentages.

Prints one JSON document on stdout (progress on stderr). Inputs: the benign sample videos and their
vPDQ hash files in ../shared/data/vpdq-reference, and a longer synthetic video generated once
(deterministically) under bench/out/.

  reference        every frame hashed (vPDQ's seconds_per_hash=0, as the reference files were made):
                   same frames, timestamps and qualities?; Hamming distance to the reference hash
                   where both qualities are >= 50; ``default_rgb`` is the same with PyAV's default
                   (CPU-dependent SIMD) YUV->RGB conversion, for comparison
  throughput       hash_video_frames wall time at 1 frame/s (Haven's default) and at every frame:
                   decoded and hashed frames per second, and seconds of video per second
  matching         Haven's hashes of one sample video against the reference file of another, with the
                   README's expected percentages (python-threatexchange column); ``at_1fps``: the
                   case video sampled at 1 frame/s against the full list; ``both_1fps``: against the
                   list vPDQ makes at 1 frame/s (every 30th reference line at 30 fps), Haven's default
  sampling_phase   same-content pairs whose frames are out of phase (different cuts of one recording),
                   from the reference files alone: a known list at 1 frame/s against case videos
                   hashed every 1, 3, 6 or 30 frames (what a higher video_frames_per_second buys)

    .venv/bin/python bench/video.py [--quick] [--long-seconds N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pdqhash

from haven.formats import VideoEntry, vpdq
from haven.matching.vpdq import compare
from haven.media.video_frames import hash_video_frames
from haven.settings import AnalysisSettings
from haven.signals.pdq import bits_to_hex, hamming

REFERENCE = (
    Path(os.environ.get("HAVEN_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    / "vpdq-reference"
)
OUT = Path(__file__).resolve().parent / "out"
EVERY_FRAME = AnalysisSettings(video_frames_per_second=0, video_max_frames=100_000)
ONE_PER_SECOND = AnalysisSettings()
QUICK = ("pattern-sd-grey-bar", "pattern-sd-with-small-logo-bar", "test-padded-dimensions")
# vpdq-reference README, "pytx" column: (query found in compared %, compared found in query %).
EXPECTED = [
    ("chair-19-sd-bar", "chair-22-sd-sepia-bar", (100.00, 85.82)),
    ("chair-19-sd-bar", "chair-22-with-large-logo-bar", (10.50, 10.58)),
    ("pattern-hd-no-bar", "pattern-longer-no-bar", (100.00, 87.93)),
    ("pattern-sd-grey-bar", "pattern-sd-with-small-logo-bar", (99.50, 99.51)),
    ("pattern-sd-grey-bar", "pattern-sd-with-large-logo-bar", (0.99, 1.01)),
    ("pattern-hd-no-bar", "pattern-sd-grey-bar", (0.00, 0.00)),
    ("chair-19-sd-bar", "doorknob-hd-no-bar", (0.00, 0.00)),
]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def reference_frames(name: str) -> list[tuple[int, float, str, int]]:
    [video] = [x for x in vpdq.read(REFERENCE / "vpdq-sample-hashes" / f"{name}.txt") if isinstance(x, VideoEntry)]
    return video.frames


def closeness(ours: list[tuple[float, str, int]], ref: list[tuple[int, float, str, int]]) -> dict[str, Any]:
    same_frames = [(t, q) for t, _, q in ours] == [(t, q) for _, t, _, q in ref]
    pairs = [(a, b) for (_, a, qa), (_, _, b, qb) in zip(ours, ref, strict=False) if qa >= 50 and qb >= 50]
    bits = np.array([hamming(a, b) for a, b in pairs])
    return {
        "frames": len(ours),
        "reference_frames": len(ref),
        "same_frames_timestamps_qualities": same_frames,
        "compared": len(bits),
        "identical_pct": round(100 * float((bits == 0).mean()), 1),
        "mean_bits": round(float(bits.mean()), 3),
        "max_bits": int(bits.max()),
    }


def default_rgb_closeness(path: Path, ref: list[tuple[int, float, str, int]]) -> dict[str, Any]:
    """What PyAV's default conversion (no ACCURATE_RND) would give: the choice Haven did not make."""
    bits = []
    with av.open(str(path)) as container:
        for frame, (_, _, expected, quality) in zip(container.decode(video=0), ref, strict=False):
            found, found_quality = pdqhash.compute(frame.to_ndarray(format="rgb24"))
            if quality >= 50 and found_quality >= 50:
                bits.append(hamming(bits_to_hex(found), expected))
    arr = np.array(bits)
    return {"identical_pct": round(100 * float((arr == 0).mean()), 1), "mean_bits": round(float(arr.mean()), 3)}


def timed(path: Path, settings: AnalysisSettings, decoded: int, duration: float) -> dict[str, Any]:
    start = time.perf_counter()
    found = hash_video_frames(path, settings)
    seconds = time.perf_counter() - start
    assert found.error is None, found.error
    return {
        "frames_hashed": len(found.frames),
        "seconds": round(seconds, 3),
        "decoded_frames_per_s": round(decoded / seconds, 1),
        "hashed_frames_per_s": round(len(found.frames) / seconds, 1),
        "video_seconds_per_s": round(duration / seconds, 1),
    }


def video_facts(path: Path) -> tuple[int, float, str]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        else:
            duration = frames / float(stream.average_rate or 30)
        return frames, duration, f"{stream.codec_context.name} {stream.width}x{stream.height}"


def vpdq_step(path: Path, seconds_per_hash: float = 1.0) -> int:
    """vPDQ hashes frame n when n % int(seconds_per_hash * average frame rate) == 0."""
    with av.open(str(path)) as container:
        return max(1, int(seconds_per_hash * float(container.streams.video[0].average_rate or 1)))


def synthetic_long(seconds: int) -> Path:
    """A panning, textured 640x360 H.264 clip at 30 fps, generated once (deterministic)."""
    path = OUT / f"synthetic-{seconds}s-640x360.mp4"
    if path.exists():
        return path
    OUT.mkdir(exist_ok=True)
    log(f"generating {path.name} ...")
    rng = np.random.default_rng(0)
    width, height, fps = 640, 360, 30
    yy, xx = np.mgrid[0:height, 0 : width * 3].astype(np.float32)
    world = 128 + 60 * np.sin(xx / 90.0) * np.cos(yy / 50.0)
    for _ in range(120):  # blocks over a gradient: PDQ quality 100 everywhere
        x, y = int(rng.integers(0, width * 3 - 80)), int(rng.integers(0, height - 60))
        world[y : y + int(rng.integers(10, 60)), x : x + int(rng.integers(10, 80))] = float(rng.integers(0, 256))
    world = np.clip(world, 0, 255).astype(np.uint8)
    tmp = path.with_suffix(".tmp.mp4")
    with av.open(str(tmp), "w") as out:
        stream = out.add_stream("libx264", rate=fps, options={"preset": "veryfast", "crf": "23"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, fps)
        for i in range(seconds * fps):
            x = int((i * 2) % (width * 2))  # a slow pan across the world
            grey = world[:, x : x + width]
            rgb = np.repeat(grey[..., None], 3, axis=2).copy()
            rgb[:, (i * 7) % width : (i * 7) % width + 12] = 255  # a bar moving faster than the pan
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    tmp.rename(path)
    return path


def sampling_phase() -> list[dict[str, Any]]:
    rows = []
    for query, compared in (
        ("chair-19-sd-bar", "chair-22-sd-sepia-bar"),
        ("pattern-hd-no-bar", "pattern-longer-no-bar"),
    ):
        known = [(pdq, q) for n, _, pdq, q in reference_frames(compared) if n % 30 == 0]  # 30 fps: 1 frame/s
        shares = {}
        for every in (1, 3, 6, 30):
            case = [(pdq, q) for n, _, pdq, q in reference_frames(query) if n % every == 0]
            found = compare(case, known)
            shares[f"case_every_{every}_frames"] = [round(found.query_percent, 2), round(found.compared_percent, 2)]
        rows.append({"query": query, "compared_at_1fps": compared, **shares})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}; short synthetic video")
    parser.add_argument("--long-seconds", type=int, default=120, help="length of the synthetic video")
    args = parser.parse_args()
    names = sorted(p.stem for p in (REFERENCE / "sample-videos").glob("*.mp4"))
    if args.quick:
        names = [n for n in names if n in QUICK]
    long_seconds = 20 if args.quick else args.long_seconds

    result: dict[str, Any] = {
        "platform": {"machine": platform.machine(), "python": platform.python_version(), "cpus": os.cpu_count()},
        "pyav": av.__version__,
        "ffmpeg_libavcodec": ".".join(map(str, av.library_versions["libavcodec"])),
        "reference": {},
        "throughput": {"samples_1fps": {}, "samples_every_frame": {}},
        "matching": [],
    }
    every: dict[str, list[tuple[float, str, int]]] = {}
    one_fps: dict[str, list[tuple[float, str, int]]] = {}
    for name in names:
        log(f"{name} ...")
        path = REFERENCE / "sample-videos" / f"{name}.mp4"
        frames, duration, codec = video_facts(path)
        ref = reference_frames(name)
        every[name] = hash_video_frames(path, EVERY_FRAME).frames
        one_fps[name] = hash_video_frames(path, ONE_PER_SECOND).frames
        result["reference"][name] = {
            "video": codec,
            **closeness(every[name], ref),
            "default_rgb": default_rgb_closeness(path, ref),
        }
        result["throughput"]["samples_1fps"][name] = timed(path, ONE_PER_SECOND, frames, duration)
        result["throughput"]["samples_every_frame"][name] = timed(path, EVERY_FRAME, frames, duration)

    long_path = synthetic_long(long_seconds)
    frames, duration, codec = video_facts(long_path)
    log(f"{long_path.name} ...")
    result["throughput"]["synthetic_long"] = {
        "video": f"{codec}, {duration:.0f} s, {frames} frames",
        "1fps": timed(long_path, ONE_PER_SECOND, frames, duration),
        "every_frame": timed(long_path, EVERY_FRAME, frames, duration),
    }

    for query, compared, expected in EXPECTED:
        if query not in every or compared not in every:
            continue
        ref = reference_frames(compared)
        known = [(pdq, quality) for _, _, pdq, quality in ref]
        step = vpdq_step(REFERENCE / "sample-videos" / f"{compared}.mp4")
        known_1fps = [(pdq, quality) for number, _, pdq, quality in ref if number % step == 0]
        full = compare([(p, q) for _, p, q in every[query]], known)
        sampled = compare([(p, q) for _, p, q in one_fps[query]], known)
        both = compare([(p, q) for _, p, q in one_fps[query]], known_1fps)
        result["matching"].append(
            {
                "query": query,
                "compared_reference": compared,
                "expected": list(expected),
                "measured": [round(full.query_percent, 2), round(full.compared_percent, 2)],
                "at_1fps": [round(sampled.query_percent, 2), round(sampled.compared_percent, 2)],
                "both_1fps": [round(both.query_percent, 2), round(both.compared_percent, 2)],
            }
        )
    result["sampling_phase"] = sampling_phase()
    json.dump(result, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
