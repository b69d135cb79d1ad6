"""Walking evidence sources, and the per-file worker on plain (non-archive) files."""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from evidence_builders import (
    assert_unchanged,
    jpeg_bytes,
    make_fifo,
    make_socket,
    png_bytes,
    snapshot_tree,
    text_bytes,
    write,
)
from haven.evidence.process import process_source_file
from haven.evidence.walker import WalkEntry, walk_source
from haven.settings import AnalysisSettings

SETTINGS = AnalysisSettings()
T = TypeVar("T")


def walk(root: Path, label: str = "EX") -> list[WalkEntry]:
    return list(walk_source(root, label))


def by_path(entries: list[WalkEntry]) -> dict[str, WalkEntry]:
    return {e.virtual_path: e for e in entries}


def finishes(fn: Callable[[], T], seconds: float = 10.0) -> T:
    """Run fn in a thread and fail (instead of hanging the suite) if it blocks."""
    result: list[T] = []
    thread = threading.Thread(target=lambda: result.append(fn()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "blocked (a fifo was opened?)"
    return result[0]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "evidence"
    write(root / "b.jpg", jpeg_bytes())
    write(root / "a" / "z.txt", text_bytes(10))
    write(root / "a" / "deeper" / "x.png", png_bytes())
    write(root / "c" / "empty.bin", b"")
    (root / "d-empty-dir").mkdir()
    return root


def test_walk_is_sorted_depth_first_with_virtual_paths(tree: Path) -> None:
    paths = [e.virtual_path for e in walk(tree)]
    assert paths == ["EX:/a/deeper/x.png", "EX:/a/z.txt", "EX:/b.jpg", "EX:/c/empty.bin"]
    assert paths == [e.virtual_path for e in walk(tree)]  # deterministic


def test_walk_entries_carry_real_path_size_and_times(tree: Path) -> None:
    entry = by_path(walk(tree))["EX:/b.jpg"]
    st = (tree / "b.jpg").stat()
    assert entry.fs_path == str(tree / "b.jpg")
    assert (entry.size, entry.mtime, entry.atime, entry.ctime) == (st.st_size, st.st_mtime, st.st_atime, st.st_ctime)
    assert entry.error is None


def test_zero_byte_file_is_a_normal_entry(tree: Path) -> None:
    entry = by_path(walk(tree))["EX:/c/empty.bin"]
    assert (entry.size, entry.error) == (0, None)
    [item] = process_source_file(entry, SETTINGS)
    assert item.error is None and item.content is not None
    assert item.content.size == 0
    assert item.content.sha256 == hashlib.sha256(b"").hexdigest()


def test_single_file_source(tmp_path: Path) -> None:
    path = write(tmp_path / "card.jpg", jpeg_bytes())
    [entry] = walk(path, "SD")
    assert entry.virtual_path == "SD:/card.jpg"
    assert entry.fs_path == str(path)
    assert entry.size == path.stat().st_size


def test_missing_root_is_one_error_entry(tmp_path: Path) -> None:
    [entry] = walk(tmp_path / "nope")
    assert entry.virtual_path == "EX:/nope"
    assert entry.error is not None and "no such file" in entry.error


def test_fifo_and_socket_are_recorded_never_opened(tmp_path: Path) -> None:
    root = tmp_path / "ev"
    write(root / "ok.txt", b"fine")
    make_fifo(root / "pipe")
    make_socket(root / "sock")
    entries = by_path(finishes(lambda: walk(root)))
    assert entries["EX:/pipe"].error == "not a regular file (fifo)"
    assert entries["EX:/sock"].error == "not a regular file (socket)"
    [item] = finishes(lambda: process_source_file(entries["EX:/pipe"], SETTINGS))
    assert (item.content, item.error) == (None, "not a regular file (fifo)")
    assert entries["EX:/ok.txt"].error is None


def test_symlinks_followed_only_inside_the_source(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside" / "secret.txt", b"not evidence")
    root = tmp_path / "ev"
    write(root / "real" / "pic.png", png_bytes())
    (root / "link-to-file.png").symlink_to("real/pic.png")
    (root / "link-to-dir").symlink_to("real")
    (root / "link-out").symlink_to(outside.parent)
    (root / "link-out-file").symlink_to(outside)
    (root / "dangling").symlink_to("nowhere")
    entries = by_path(walk(root))

    followed = entries["EX:/link-to-file.png"]
    assert followed.error is None
    assert followed.fs_path == os.path.realpath(root / "real" / "pic.png")
    assert followed.size == len(png_bytes())
    # Directories inside the root are walked at their real path only, never twice.
    assert entries["EX:/real/pic.png"].error is None
    assert "EX:/link-to-dir/pic.png" not in entries
    assert entries["EX:/link-to-dir"].error == (
        "symlink to a directory in the source (-> real); its files are listed at their real path"
    )
    assert entries["EX:/link-out"].error == f"symlink leaves the source (-> {outside.parent}); not followed"
    assert "not followed" in (entries["EX:/link-out-file"].error or "")
    assert not any("secret" in p for p in entries)
    assert entries["EX:/dangling"].error == "dangling symlink (-> nowhere)"


def test_symlink_loops_terminate(tmp_path: Path) -> None:
    root = tmp_path / "ev"
    write(root / "d" / "file.txt", b"x")
    (root / "d" / "self").symlink_to(".")
    (root / "d" / "up").symlink_to("..")
    (root / "ping").symlink_to("pong")
    (root / "pong").symlink_to("ping")
    entries = by_path(walk(root))
    assert entries["EX:/d/self"].error == "symlink loop (points back to an enclosing directory)"
    assert entries["EX:/d/up"].error == "symlink loop (points back to an enclosing directory)"
    assert entries["EX:/ping"].error == "symlink loop (-> pong)"
    assert entries["EX:/d/file.txt"].error is None
    assert len(entries) == 5


def test_directory_removed_during_walk_is_recorded(tmp_path: Path) -> None:
    root = tmp_path / "ev"
    write(root / "a.txt", b"first")
    write(root / "b" / "inner.txt", b"gone soon")
    write(root / "c.txt", b"last")
    walker = walk_source(root, "EX")
    first = next(walker)
    shutil.rmtree(root / "b")  # a real race: the listing of root already holds "b"
    rest = by_path(list(walker))
    assert first.virtual_path == "EX:/a.txt"
    assert rest["EX:/b"].error is not None and "no such file" in rest["EX:/b"].error
    assert rest["EX:/c.txt"].error is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root can list any directory")
def test_unlistable_directory_is_recorded(tmp_path: Path) -> None:
    root = tmp_path / "ev"
    write(root / "locked" / "x.txt", b"x")
    (root / "locked").chmod(0)
    try:
        entries = by_path(walk(root))
    finally:
        (root / "locked").chmod(0o700)
    assert entries["EX:/locked"].error is not None
    assert entries["EX:/locked"].error.startswith("cannot list directory: permission denied")


def test_undecodable_names_are_escaped_but_still_readable(tmp_path: Path) -> None:
    root = tmp_path / "ev"
    root.mkdir()
    raw = os.fsencode(root) + b"/caf\xe9.jpg"
    with open(raw, "wb") as f:  # noqa: PTH123 - bytes path on purpose
        f.write(jpeg_bytes())
    [entry] = walk(root)
    assert entry.virtual_path == "EX:/caf\\xe9.jpg"
    entry.virtual_path.encode("utf-8")  # storable as text
    [item] = process_source_file(entry, SETTINGS)
    assert item.content is not None and item.content.kind == "image"


def test_very_deep_tree_does_not_recurse(tmp_path: Path) -> None:
    root = tmp_path / "ev"
    root.mkdir()
    deep = root
    for _ in range(1200):  # deeper than Python's recursion limit (mkdir(parents=True) recurses)
        deep = deep / "d"
        deep.mkdir()
    bottom = write(deep / "bottom.txt", b"x")
    try:
        [entry] = walk(root)
        assert entry.virtual_path == "EX:/" + "d/" * 1200 + "bottom.txt"
    finally:
        # pytest's tmp cleanup (shutil.rmtree) recurses too: leave nothing that deep behind.
        bottom.unlink()
        while deep != root:
            deep.rmdir()
            deep = deep.parent


def test_walking_and_processing_leave_evidence_untouched(tree: Path) -> None:
    before = snapshot_tree(tree)
    for entry in walk(tree):
        process_source_file(entry, SETTINGS)
    assert_unchanged(tree, before)


# --- the worker on plain files -------------------------------------------------------


def test_process_plain_image(tree: Path) -> None:
    entry = by_path(walk(tree))["EX:/b.jpg"]
    [item] = process_source_file(entry, SETTINGS)
    assert item.path == "EX:/b.jpg"
    assert item.content is not None
    assert item.content.kind == "image"
    assert item.content.sha256 == hashlib.sha256((tree / "b.jpg").read_bytes()).hexdigest()
    assert (item.mtime, item.atime, item.ctime) == (entry.mtime, entry.atime, entry.ctime)
    assert item.container is None and item.error is None


def test_process_keeps_walk_errors(tmp_path: Path) -> None:
    entry = WalkEntry("/x", "EX:/x", None, 1.0, 2.0, 3.0, error="symlink loop")
    [item] = process_source_file(entry, SETTINGS)
    assert (item.path, item.content, item.error, item.mtime) == ("EX:/x", None, "symlink loop", 1.0)


def test_process_file_vanished_after_walk(tmp_path: Path) -> None:
    path = write(tmp_path / "ev" / "gone.jpg", jpeg_bytes())
    [entry] = walk(path.parent)
    path.unlink()
    [item] = process_source_file(entry, SETTINGS)
    assert item.content is None
    assert item.error == "vanished (no such file)"


def test_process_refuses_a_fifo_swapped_in_after_the_walk(tmp_path: Path) -> None:
    path = write(tmp_path / "ev" / "swap.jpg", jpeg_bytes())
    [entry] = walk(path.parent)
    path.unlink()
    make_fifo(path)
    [item] = finishes(lambda: process_source_file(entry, SETTINGS))
    assert item.content is None
    assert item.error == "not a regular file (fifo)"


def test_process_does_not_update_access_time(tmp_path: Path) -> None:
    path = write(tmp_path / "ev" / "old.jpg", jpeg_bytes())
    os.utime(path, (1_000_000_000, 1_500_000_000))  # atime < mtime: relatime would update it
    [entry] = walk(path.parent)
    process_source_file(entry, SETTINGS)
    assert path.stat().st_atime == 1_000_000_000


def test_big_file_is_streamed_not_read_whole(tmp_path: Path) -> None:
    data = text_bytes(3000)
    path = write(tmp_path / "ev" / "big.txt", data)
    settings = AnalysisSettings(in_memory_bytes=1024)
    [entry] = walk(path.parent)
    [item] = process_source_file(entry, settings)
    assert item.content is not None
    assert item.content.sha256 == hashlib.sha256(data).hexdigest()
    assert item.content.size == len(data)
