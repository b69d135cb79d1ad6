"""vPDQ matching: the percentages (threshold, quality floor, duplicates), and videos and frames end to end."""

from __future__ import annotations

import io
import json
from pathlib import Path

import av
import pytest
from av.video.reformatter import Interpolation
from typer.testing import CliRunner

from hashset_builders import fake_hash, write_text
from haven.cli import app
from haven.formats import VideoEntry, vpdq
from haven.matching.vpdq import VpdqResult, compare, is_match
from haven.media.video_frames import hash_video_frames
from haven.settings import AnalysisSettings
from media_builders import png_bytes, video_bytes
from shared_data import SHARED_DATA

A, B, C, D = (fake_hash("pdq", name) for name in "ABCD")


def flipped(pdq: str, bits: int) -> str:
    """``pdq`` with its first ``bits`` bits inverted: exactly ``bits`` away."""
    return f"{int(pdq, 16) ^ (((1 << bits) - 1) << (256 - bits)):064x}"


def good(*hashes: str) -> list[tuple[str, int]]:
    return [(h, 100) for h in hashes]


def test_distance_threshold_is_inclusive() -> None:
    at_31 = compare(good(A), good(flipped(A, 31)))
    assert at_31 == VpdqResult(100.0, 100.0, 31) and is_match(at_31)
    at_32 = compare(good(A), good(flipped(A, 32)))
    assert at_32 == VpdqResult(0.0, 0.0, None) and not is_match(at_32)
    assert compare(good(A), good(flipped(A, 32)), threshold=32).query_percent == 100.0


def test_frames_under_the_quality_floor_are_not_compared() -> None:
    assert compare(good(A), [(A, 49)]) == VpdqResult(0.0, 0.0, None)  # nothing left to compare
    # The low-quality frame neither matches nor counts in the share.
    assert compare([(A, 100), (B, 30)], good(A)) == VpdqResult(100.0, 100.0, 0)
    assert compare([(A, 100), (B, 45)], good(A), min_quality=40).query_percent == 50.0


def test_duplicate_frames_count_once() -> None:
    # A still scene repeats its hash: 3 copies of A are one unique frame, as in python-threatexchange.
    result = compare(good(A, A, A, B), good(A))
    assert (result.query_percent, result.compared_percent) == (50.0, 100.0)


def test_match_needs_both_shares_at_their_thresholds() -> None:
    compilation = compare(good(A, B, C, D), good(A, B))  # the known video inside a longer case video
    clip = compare(good(A, B), good(A, B, C, D))  # the case video is a cut of the known one
    assert (compilation.query_percent, compilation.compared_percent) == (50.0, 100.0)
    assert (clip.query_percent, clip.compared_percent) == (100.0, 50.0)
    # Defaults (vPDQ README): 80% of the known video found, the case video may hold more.
    assert is_match(compilation) and not is_match(clip)
    assert is_match(clip, query_percent=80, compared_percent=0)
    assert not is_match(compilation, query_percent=80, compared_percent=80)
    assert not is_match(VpdqResult(0.0, 0.0, None), query_percent=0, compared_percent=0)  # nothing in common


def _sample(name: str) -> list[tuple[str, int]]:
    path = SHARED_DATA / "vpdq-reference" / "vpdq-sample-hashes" / f"{name}.txt"
    [video] = [item for item in vpdq.read(path) if isinstance(item, VideoEntry)]
    return [(pdq, quality) for _, _, pdq, quality in video.frames]


@pytest.mark.parametrize(
    ("query", "compared", "expected"),
    [  # the "pytx" column of the vpdq-reference README (brute force, unique frames, <= 31, quality >= 50)
        ("chair-19-sd-bar", "chair-22-sd-sepia-bar", (100.00, 85.82)),
        ("chair-19-sd-bar", "chair-22-with-large-logo-bar", (10.50, 10.58)),
        ("pattern-hd-no-bar", "pattern-longer-no-bar", (100.00, 87.93)),
        ("pattern-sd-grey-bar", "pattern-sd-with-small-logo-bar", (99.50, 99.51)),
        ("pattern-sd-grey-bar", "pattern-sd-with-large-logo-bar", (0.99, 1.01)),
        ("pattern-hd-no-bar", "pattern-sd-grey-bar", (0.0, 0.0)),
        ("chair-19-sd-bar", "doorknob-hd-no-bar", (0.0, 0.0)),
    ],
)
def test_reference_percentages(query: str, compared: str, expected: tuple[float, float]) -> None:
    result = compare(_sample(query), _sample(compared))
    assert (round(result.query_percent, 2), round(result.compared_percent, 2)) == expected


# ---------------------------------------------------------------- end to end


def vpdq_file_lines(frames: list[tuple[float, str, int]], fps: int = 10) -> list[str]:
    """A vPDQ hash file as ``vpdq-hash-video`` writes it, from Haven's own sampled frames."""
    return [f"{round(seconds * fps)},{quality},{pdq},{seconds:.3f}" for seconds, pdq, quality in frames]


def still_png(video: bytes, seconds: float) -> bytes:
    """The frame shown at ``seconds`` saved as a picture (a screenshot of the video)."""
    with av.open(io.BytesIO(video), mode="r") as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            if frame.time is not None and abs(frame.time - seconds) < 1e-6:
                rgb = frame.reformat(format="rgb24", interpolation=Interpolation.AREA | Interpolation.ACCURATE_RND)
                out = io.BytesIO()
                rgb.to_image().save(out, "PNG")
                return out.getvalue()
    raise AssertionError(f"no frame at {seconds} s")


def test_videos_and_frames_matched_end_to_end(haven_env: object, tmp_path: Path) -> None:
    settings = AnalysisSettings()
    case_video = video_bytes(frames=30, fps=10, seed=1)  # 3 s: hashed at 0, 1 and 2 s
    known_video = video_bytes(frames=30, fps=10, seed=2)  # only its still is in the evidence
    unrelated = video_bytes(frames=20, fps=10, seed=3)
    case_frames = hash_video_frames(case_video, settings).frames
    known_frames = hash_video_frames(known_video, settings).frames

    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "clip.mp4").write_bytes(case_video)
    (evidence / "other.mp4").write_bytes(unrelated)
    (evidence / "screenshot.png").write_bytes(still_png(known_video, 2.0))
    (evidence / "photo.png").write_bytes(png_bytes(seed=7))
    sets = tmp_path / "sets"
    sets.mkdir()
    # Two known videos in one file, joined as ``cat`` joins vPDQ files.
    videos = write_text(sets / "known-videos.txt", vpdq_file_lines(case_frames) + vpdq_file_lines(known_frames))
    pictures = write_text(sets / "known-pictures.txt", [f"pdq {case_frames[1][1]}"])  # the clip's frame at 1 s

    out = tmp_path / "report"
    args = ["-q", "triage", str(evidence), "--case", "OP-V", "--out", str(out), "--workers", "1", "--label", "EX"]
    result = CliRunner().invoke(app, [*args, "--hashset", str(videos), "--hashset", str(pictures)])
    assert result.exit_code == 0, result.output

    items = {path: item for item in json.loads((out / "report.json").read_text())["items"] for path in item["paths"]}
    clip = items["EX:/clip.mp4"]
    assert clip["status"] == "near-known"
    by_method = {m["method"]: m for m in clip["matches"]}
    assert set(by_method) == {"vpdq", "pdq-frame"}
    assert by_method["vpdq"]["set"] == "known-videos"
    assert (by_method["vpdq"]["query_percent"], by_method["vpdq"]["compared_percent"]) == (100.0, 100.0)
    assert by_method["pdq-frame"]["set"] == "known-pictures"
    assert (by_method["pdq-frame"]["timestamp"], by_method["pdq-frame"]["distance"]) == (1.0, 0)

    screenshot = items["EX:/screenshot.png"]
    assert screenshot["status"] == "near-known"
    [frame_match] = screenshot["matches"]
    assert (frame_match["set"], frame_match["method"]) == ("known-videos", "pdq-frame")
    assert (frame_match["timestamp"], frame_match["distance"]) == (2.0, 0)

    assert items["EX:/other.mp4"]["matches"] == [] and items["EX:/other.mp4"]["status"] == "unknown"
    assert items["EX:/photo.png"]["matches"] == []
