"""Video probing: codec, size and duration, and truncation caught even when the file opens."""

from __future__ import annotations

from pathlib import Path

import pytest

from haven.media.video import probe_video
from media_builders import truncated, video_bytes
from shared_data import SHARED_DATA


@pytest.fixture(scope="module")
def mp4() -> bytes:
    return video_bytes(frames=20, fps=10)


@pytest.fixture(scope="module")
def faststart_mp4() -> bytes:
    return video_bytes(frames=20, fps=10, faststart=True)


def test_mp4_probe(mp4: bytes) -> None:
    info = probe_video(mp4)
    assert info.error is None
    assert info.codec == "mpeg4"
    assert (info.width, info.height) == (160, 120)
    assert info.duration == pytest.approx(2.0, abs=0.15)


@pytest.mark.parametrize(
    ("codec", "container", "name"),
    [("libx264", "matroska", "h264"), ("libvpx", "webm", "vp8"), ("mpeg4", "avi", "mpeg4"), ("mpeg4", "mov", "mpeg4")],
)
def test_other_containers(codec: str, container: str, name: str) -> None:
    info = probe_video(video_bytes(frames=10, codec=codec, container=container))
    assert (info.codec, info.width, info.error) == (name, 160, None)
    assert info.duration == pytest.approx(1.0, abs=0.15)


def test_probe_from_path(tmp_path: Path, mp4: bytes) -> None:
    path = tmp_path / "clip.bin"  # the name says nothing; content decides
    path.write_bytes(mp4)
    assert probe_video(path) == probe_video(mp4)
    assert probe_video(str(path)).codec == "mpeg4"


def test_truncated_with_index_at_the_end_does_not_open(mp4: bytes) -> None:
    info = probe_video(truncated(mp4, 0.5))
    assert info.error is not None and info.error.startswith("cannot read video")


def test_truncated_with_index_first_still_caught(faststart_mp4: bytes) -> None:
    # moov first: the header is intact and the first frame decodes; only the tail is missing.
    assert probe_video(faststart_mp4).error is None
    info = probe_video(truncated(faststart_mp4, 0.7))
    assert info.codec == "mpeg4" and info.duration == pytest.approx(2.0, abs=0.15)
    assert info.error is not None and info.error.startswith("truncated video")


def test_garbage_and_empty() -> None:
    assert probe_video(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100).error is not None
    assert probe_video(b"").error is not None
    assert probe_video(b"definitely not a video" * 50).error is not None


SAMPLES = SHARED_DATA / "vpdq-reference" / "sample-videos"


@pytest.mark.parametrize("name", ["chair-19-sd-bar.mp4", "doorknob-hd-no-bar.mp4", "test-padded-dimensions.mp4"])
def test_real_phone_style_videos(name: str) -> None:
    # Benign sample videos (H.264, index first or last): complete ones are clean, cut ones are not.
    data = (SAMPLES / name).read_bytes()
    info = probe_video(data)
    assert (info.codec, info.error) == ("h264", None)
    assert info.width and info.height and info.duration and info.duration > 3
    cut = probe_video(truncated(data, 0.6))
    assert cut.error is not None and ("truncated" in cut.error or "cannot read" in cut.error)
