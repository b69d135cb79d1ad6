"""Reading contents back from the evidence for reveal: top-level files, archive members two containers
deep, a single-file source, videos by path; verified by SHA-256, read-only, bounded; renditions."""

from __future__ import annotations

import hashlib
import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from backends import BACKENDS
from evidence_builders import assert_unchanged, snapshot_tree
from haven.review.rendition import image_rendition
from haven.review.retrieve import RevealError, check_sha256, open_media, read_range
from haven.settings import AnalysisSettings
from haven.store import Store
from media_builders import jpeg_bytes, png_declaring
from test_review_case import ReviewCase, build_review_case, review_files, shared_review_case


@pytest.fixture(scope="module", params=BACKENDS)
def shared_case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReviewCase]:
    yield from shared_review_case(request, tmp_path_factory)


SETTINGS = AnalysisSettings()


@pytest.mark.parametrize("name", ["gps", "member", "deep", "card", "clip", "stack-small"])
def test_contents_come_back_verified_and_the_evidence_is_untouched(shared_case: ReviewCase, name: str) -> None:
    before = snapshot_tree(shared_case.evidence)
    with shared_case.store.session() as session:
        media = open_media(session, shared_case.case_id, shared_case.sha[name], SETTINGS)
    assert media.data is not None and hashlib.sha256(media.data).hexdigest() == shared_case.sha[name]
    assert media.mime.startswith("video/" if name == "clip" else "image/")
    assert_unchanged(shared_case.evidence, before)


def test_a_large_video_is_streamed_from_its_verified_file(shared_case: ReviewCase) -> None:
    with shared_case.store.session() as session:
        media = open_media(session, shared_case.case_id, shared_case.sha["clip"], SETTINGS, in_memory_limit=1024)
    assert media.data is None and media.path is not None
    whole = read_range(media.path, 0, media.size)
    assert hashlib.sha256(whole).hexdigest() == shared_case.sha["clip"]
    assert read_range(media.path, 10, 5) == whole[10:15]


def test_only_pictures_and_videos_and_only_this_cases(shared_case: ReviewCase) -> None:
    with shared_case.store.session() as session:
        with pytest.raises(RevealError, match="only pictures and videos"):
            open_media(session, shared_case.case_id, shared_case.sha["notes"], SETTINGS)
        with pytest.raises(RevealError, match="no such content"):
            open_media(session, shared_case.other_case_id, shared_case.sha["gps"], SETTINGS)
        with pytest.raises(RevealError, match="not a SHA-256"):
            open_media(session, shared_case.case_id, "../../etc/passwd", SETTINGS)
        with pytest.raises(RevealError, match="too large"):
            open_media(session, shared_case.case_id, shared_case.sha["gps"], SETTINGS, in_memory_limit=100)


@pytest.mark.parametrize("value", ["A" * 64, "a" * 63, "a" * 65, "../" + "a" * 61, "g" * 64])
def test_sha256_path_parameters_are_strict(value: str) -> None:
    with pytest.raises(RevealError):
        check_sha256(value)


def test_a_changed_file_is_refused_and_another_copy_is_used(store: Store, tmp_path: Path) -> None:
    built = build_review_case(store, tmp_path / "case")
    (built.evidence / "DCIM" / "known.jpg").write_bytes(jpeg_bytes(seed=123))  # swapped after the ingest
    with store.session() as session:
        media = open_media(session, built.case_id, built.sha["known"], SETTINGS)  # known-copy.jpg still matches
        assert media.data is not None and hashlib.sha256(media.data).hexdigest() == built.sha["known"]
    (built.evidence / "Downloads" / "known-copy.jpg").unlink()
    with store.session() as session, pytest.raises(RevealError, match="cannot read this item back"):
        open_media(session, built.case_id, built.sha["known"], SETTINGS)
    # An archive member whose archive was replaced is refused too, never shown as the same item.
    shutil.copyfile(built.card, built.evidence / "backup.zip")
    with store.session() as session, pytest.raises(RevealError):
        open_media(session, built.case_id, built.sha["deep"], SETTINGS)


def test_renditions_are_downscaled_and_greyscale_when_asked() -> None:
    original = jpeg_bytes(2000, 1500, seed=3)
    grey = Image.open(io.BytesIO(image_rendition(original, greyscale=True)))
    colour = Image.open(io.BytesIO(image_rendition(review_files()["card"], greyscale=False)))
    assert grey.format == "JPEG" and grey.mode == "L" and max(grey.size) == 1280
    assert colour.mode == "RGB" and colour.size == (320, 240)
    assert not grey.getexif()  # nothing of the original's metadata travels with it


def test_a_decompression_bomb_is_refused_before_decoding() -> None:
    with pytest.raises(RevealError, match="decompression bomb"):
        image_rendition(png_declaring(100_000, 100_000), greyscale=True)
    with pytest.raises(RevealError, match="cannot be decoded"):
        image_rendition(b"not a picture at all", greyscale=True)
