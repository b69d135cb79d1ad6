"""Hostile evidence: bombs, traversal, corruption, disguises, loops and unreadable files.

Every test runs the real walk + worker over real files built in tmp_path, and checks that
the evidence is left exactly as it was.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from evidence_builders import (
    assert_unchanged,
    gzip_bytes,
    jpeg_bytes,
    make_fifo,
    make_socket,
    nested_zip_bytes,
    png_bytes,
    random_bytes,
    snapshot_tree,
    tar_bytes,
    truncated,
    write,
    zip_bomb_bytes,
    zip_bytes,
)
from haven.evidence.process import process_source_file
from haven.evidence.walker import walk_source
from haven.results import FoundItem
from haven.settings import AnalysisSettings, ArchiveLimits

KIB = 1024
SMALL_LIMITS = ArchiveLimits(max_ratio=50, min_ratio_check_bytes=64 * KIB)


@pytest.fixture
def evidence(tmp_path: Path) -> Path:
    root = tmp_path / "evidence"
    root.mkdir()
    return root


def triage(root: Path, settings: AnalysisSettings) -> dict[str, FoundItem]:
    """Walk and process a source, asserting that the evidence was not touched."""
    before = snapshot_tree(root)
    items = [item for entry in walk_source(root, "EX") for item in process_source_file(entry, settings)]
    assert_unchanged(root, before)
    paths = [i.path for i in items]
    assert len(paths) == len(set(paths))
    return dict(zip(paths, items, strict=True))


def settings_for(tmp_path: Path, archives: ArchiveLimits | None = None) -> AnalysisSettings:
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    return AnalysisSettings(scratch_dir=str(scratch), archives=archives or ArchiveLimits())


# --- bombs and limits ------------------------------------------------------------------


def test_zip_bomb_member_is_refused_from_its_header(evidence: Path, tmp_path: Path) -> None:
    write(evidence / "bomb.zip", zip_bomb_bytes(8 * 1024 * KIB))
    items = triage(evidence, settings_for(tmp_path, archives=SMALL_LIMITS))
    member = items["EX:/bomb.zip!/zeros.bin"]
    assert member.content is None
    assert member.error is not None
    assert member.error.startswith("zip bomb: expansion ratio 10")  # ~1000:1
    assert member.error.endswith(":1 exceeds 50:1; not read")


def test_gzip_bomb_without_declared_size_is_stopped_while_streaming(evidence: Path, tmp_path: Path) -> None:
    write(evidence / "data.gz", gzip_bytes(b"A" * (8 * 1024 * KIB)))
    items = triage(evidence, settings_for(tmp_path, archives=SMALL_LIMITS))
    member = items["EX:/data.gz!/data"]
    assert member.content is None
    assert member.error is not None and member.error.startswith("zip bomb: archive expands more than 50:1")
    top = items["EX:/data.gz"]
    assert top.error is not None and top.error.startswith("not fully expanded: zip bomb")


def test_bomb_member_does_not_stop_the_other_members(evidence: Path, tmp_path: Path) -> None:
    archive = zip_bytes({"a.png": png_bytes(), "zeros.bin": bytes(4 * 1024 * KIB), "z.jpg": jpeg_bytes()})
    write(evidence / "mixed.zip", archive)
    limits = ArchiveLimits(max_ratio=50, min_ratio_check_bytes=64 * KIB)
    items = triage(evidence, settings_for(tmp_path, archives=limits))
    assert items["EX:/mixed.zip!/zeros.bin"].content is None
    assert items["EX:/mixed.zip!/a.png"].content is not None
    assert items["EX:/mixed.zip!/z.jpg"].content is not None


def test_member_size_limit(evidence: Path, tmp_path: Path) -> None:
    write(evidence / "big.zip", zip_bytes({"big.bin": random_bytes(300 * KIB), "small.bin": b"s"}))
    items = triage(evidence, settings_for(tmp_path, archives=ArchiveLimits(max_member_bytes=200 * KIB)))
    assert items["EX:/big.zip!/big.bin"].content is None
    assert items["EX:/big.zip!/big.bin"].error == (
        "member too large: 300.0 KiB exceeds max_member_bytes 200.0 KiB; not read"
    )
    assert items["EX:/big.zip!/small.bin"].content is not None


def test_total_size_limit_spans_nested_archives(evidence: Path, tmp_path: Path) -> None:
    inner = zip_bytes({f"m{i}.bin": random_bytes(100 * KIB, i) for i in range(3)})
    write(evidence / "outer.zip", zip_bytes({"inner.zip": inner, "after.bin": random_bytes(100 * KIB, 9)}))
    items = triage(evidence, settings_for(tmp_path, archives=ArchiveLimits(max_total_bytes=520 * KIB)))
    # inner.zip (~300 KiB) + m0 + m1 fit in 520 KiB; m2 does not, and everything stops.
    assert items["EX:/outer.zip!/inner.zip!/m1.bin"].content is not None
    refused = items["EX:/outer.zip!/inner.zip!/m2.bin"]
    assert refused.content is None
    assert refused.error is not None and refused.error.startswith("total expanded size would exceed max_total_bytes")
    assert "EX:/outer.zip!/after.bin" not in items
    for container in ("EX:/outer.zip", "EX:/outer.zip!/inner.zip"):
        assert (items[container].error or "").startswith("not fully expanded: total expanded size")


def test_entry_count_limit(evidence: Path, tmp_path: Path) -> None:
    write(evidence / "many.zip", zip_bytes({f"f{i:02}.txt": b"x" for i in range(30)}))
    items = triage(evidence, settings_for(tmp_path, archives=ArchiveLimits(max_entries=10)))
    assert len([p for p in items if "!/" in p]) == 10
    assert items["EX:/many.zip"].error == ("not fully expanded: more than 10 entries in one top-level archive")


def test_nesting_deeper_than_max_depth_is_recorded_not_opened(evidence: Path, tmp_path: Path) -> None:
    write(evidence / "russian.zip", nested_zip_bytes(8))
    items = triage(evidence, settings_for(tmp_path, archives=ArchiveLimits(max_depth=2)))
    deepest = "EX:/russian.zip!/level2.zip!/level3.zip!/level4.zip"
    content = items[deepest].content
    assert content is not None and content.kind == "archive"
    assert items[deepest].error == "nested archive at depth 3 exceeds max_depth 2; not opened"
    assert not any(p.startswith(deepest + "!/") for p in items)


# --- names that try to escape ------------------------------------------------------------


def test_traversal_and_absolute_names_write_nothing_anywhere(
    evidence: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary_abs = tmp_path / "outside" / "canary-abs.txt"
    hostile = {
        "../../canary-rel.txt": b"traversal",
        str(canary_abs): b"absolute",
        "ok/../../../canary-mixed.txt": b"mixed",
    }
    write(evidence / "deep" / "er" / "evil.zip", zip_bytes(hostile))
    write(evidence / "evil.tar", tar_bytes(hostile))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    settings = settings_for(tmp_path)

    items = triage(evidence, settings)

    member = items["EX:/deep/er/evil.zip!/canary-rel.txt"]
    assert member.error == "unsafe entry name '../../canary-rel.txt' (path traversal); shown as 'canary-rel.txt'"
    assert member.content is not None and member.content.size == len(b"traversal")
    shown = str(canary_abs).lstrip("/")
    assert items[f"EX:/evil.tar!/{shown}"].error == (
        f"unsafe entry name '{canary_abs}' (absolute path); shown as '{shown}'"
    )
    assert not canary_abs.exists()
    assert not list(tmp_path.rglob("canary-*"))
    assert list(cwd.iterdir()) == []
    assert list(Path(settings.scratch_dir or "").iterdir()) == []


# --- damaged and disguised files ---------------------------------------------------------


def test_truncated_archive_keeps_members_read_so_far(evidence: Path, tmp_path: Path) -> None:
    first, second = random_bytes(100 * KIB, 1), random_bytes(100 * KIB, 2)
    write(evidence / "cut.zip", truncated(zip_bytes({"first.bin": first, "second.bin": second}), 0.7))
    items = triage(evidence, settings_for(tmp_path))
    top = items["EX:/cut.zip"]
    assert top.content is not None
    assert top.content.error is not None and top.content.error.startswith("corrupt or truncated archive")
    assert items["EX:/cut.zip!/first.bin"].content is not None
    assert items["EX:/cut.zip!/first.bin"].content.size == len(first)
    assert (items["EX:/cut.zip!/second.bin"].error or "").startswith("incomplete member")


def test_truncated_tar_gz_keeps_the_partial_member_with_an_error(evidence: Path, tmp_path: Path) -> None:
    second = random_bytes(300 * KIB, 2)
    archive = tar_bytes({"a.bin": random_bytes(100 * KIB, 1), "b.bin": second}, compression="gz")
    write(evidence / "cut.tgz", truncated(archive, 0.75))
    items = triage(evidence, settings_for(tmp_path))
    assert items["EX:/cut.tgz!/a.bin"].error is None
    partial = items["EX:/cut.tgz!/b.bin"]
    assert partial.content is not None and 0 < partial.content.size < len(second)
    assert partial.content.sha256 == hashlib.sha256(second[: partial.content.size]).hexdigest()
    assert partial.error is not None and partial.error.startswith("incomplete member")


def test_garbage_with_archive_magic(evidence: Path, tmp_path: Path) -> None:
    write(evidence / "fake.zip", b"PK\x03\x04" + random_bytes(3000))
    items = triage(evidence, settings_for(tmp_path))
    assert list(items) == ["EX:/fake.zip"]
    content = items["EX:/fake.zip"].content
    assert content is not None and content.kind == "archive"
    assert content.error is not None and content.error.startswith("corrupt or truncated archive")


def test_archive_with_a_wrong_extension_is_expanded(evidence: Path, tmp_path: Path) -> None:
    write(evidence / "holiday.jpg", zip_bytes({"hidden.png": png_bytes()}))
    items = triage(evidence, settings_for(tmp_path))
    assert items["EX:/holiday.jpg"].content is not None
    assert items["EX:/holiday.jpg"].content.kind == "archive"
    assert items["EX:/holiday.jpg!/hidden.png"].content is not None


def test_zero_byte_files_and_empty_archives(evidence: Path, tmp_path: Path) -> None:
    write(evidence / "empty.jpg", b"")
    write(evidence / "empty.zip", zip_bytes({}))
    write(evidence / "zero-member.zip", zip_bytes({"nothing.txt": b""}))
    items = triage(evidence, settings_for(tmp_path))
    assert items["EX:/empty.jpg"].content is not None and items["EX:/empty.jpg"].content.size == 0
    assert items["EX:/empty.zip"].error is None
    zero = items["EX:/zero-member.zip!/nothing.txt"]
    assert zero.content is not None and zero.content.size == 0 and zero.error is None


# --- filesystem traps --------------------------------------------------------------------


def test_symlink_loop_and_special_files(evidence: Path, tmp_path: Path) -> None:
    write(evidence / "d" / "photo.jpg", jpeg_bytes())
    (evidence / "d" / "loop").symlink_to("..")
    (evidence / "escape").symlink_to("/etc")
    make_fifo(evidence / "pipe")
    make_socket(evidence / "sock")
    items = triage(evidence, settings_for(tmp_path))
    assert set(items) == {"EX:/d/loop", "EX:/d/photo.jpg", "EX:/escape", "EX:/pipe", "EX:/sock"}
    assert items["EX:/d/loop"].error == "symlink loop (points back to an enclosing directory)"
    assert items["EX:/escape"].error == "symlink leaves the source (-> /etc); not followed"
    assert items["EX:/pipe"].error == "not a regular file (fifo)"
    assert items["EX:/sock"].error == "not a regular file (socket)"
    assert all(items[p].content is None for p in items if p != "EX:/d/photo.jpg")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(evidence: Path, tmp_path: Path) -> None:
    locked = write(evidence / "locked.jpg", jpeg_bytes())
    locked.chmod(0)
    items = triage(evidence, settings_for(tmp_path))
    assert items["EX:/locked.jpg"].content is None
    assert (items["EX:/locked.jpg"].error or "").startswith("permission denied")


def test_unreadable_file_as_root(evidence: Path, tmp_path: Path) -> None:
    # Root reads any mode, so use a file that cannot be opened at all: a socket in place of a file.
    write(evidence / "a.jpg", jpeg_bytes())
    make_socket(evidence / "b.jpg")
    items = triage(evidence, settings_for(tmp_path))
    assert items["EX:/a.jpg"].content is not None
    assert (items["EX:/b.jpg"].content, items["EX:/b.jpg"].error) == (None, "not a regular file (socket)")
