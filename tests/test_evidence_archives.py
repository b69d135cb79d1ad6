"""Archive expansion: formats, names, nesting, spooling, per-member errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from evidence_builders import (
    gzip_bytes,
    jpeg_bytes,
    nested_zip_bytes,
    png_bytes,
    random_bytes,
    rar5_encrypted_headers_bytes,
    sevenzip_bytes,
    tar_bytes,
    text_bytes,
    write,
    zip_bytes,
    zipcrypto_zip_bytes,
)
from haven.evidence.archives import ArchiveExpansion, ExpansionBudget, Member, safe_member_name
from haven.evidence.process import process_source_file
from haven.evidence.walker import walk_source
from haven.results import FoundItem
from haven.settings import AnalysisSettings

SETTINGS = AnalysisSettings()
MEMBERS = {"photos/a.png": png_bytes(), "b.jpg": jpeg_bytes(), "notes/c.txt": text_bytes(20)}


def expand(source: bytes | str, settings: AnalysisSettings = SETTINGS, hint: str = "data") -> list[Member]:
    expansion = ArchiveExpansion(source, settings, ExpansionBudget(settings.archives), name_hint=hint)
    # Spooled members' files are released as iteration moves on: use for in-memory members.
    return list(expansion.members())


def contents(members: list[Member]) -> dict[str, bytes | None]:
    return {m.name: m.data for m in members}


def process_file(path: Path, settings: AnalysisSettings = SETTINGS, label: str = "EX") -> list[FoundItem]:
    [entry] = list(walk_source(path, label))
    return process_source_file(entry, settings)


@pytest.mark.parametrize(
    "archive",
    [
        pytest.param(zip_bytes(MEMBERS), id="zip"),
        pytest.param(tar_bytes(MEMBERS), id="tar"),
        pytest.param(tar_bytes(MEMBERS, compression="gz"), id="tar.gz"),
        pytest.param(tar_bytes(MEMBERS, compression="bz2"), id="tar.bz2"),
        pytest.param(tar_bytes(MEMBERS, compression="xz"), id="tar.xz"),
        pytest.param(sevenzip_bytes(MEMBERS), id="7z"),
    ],
)
def test_formats_expand_to_the_exact_member_bytes(archive: bytes) -> None:
    members = expand(archive)
    assert contents(members) == MEMBERS
    assert all(m.error is None and m.size == len(MEMBERS[m.name]) for m in members)


def test_raw_gzip_stream_is_one_member_named_after_the_archive() -> None:
    [member] = expand(gzip_bytes(png_bytes()), hint="holiday.png.gz")
    assert (member.name, member.data, member.error) == ("holiday.png", png_bytes(), None)


def test_raw_gzip_stream_uses_the_recorded_original_name() -> None:
    [member] = expand(gzip_bytes(text_bytes(5), name="orig.txt"), hint="renamed.gz")
    assert (member.name, member.data) == ("orig.txt", text_bytes(5))


def test_member_mtime_comes_from_the_archive() -> None:
    [member] = expand(tar_bytes({"a.txt": b"x"}))
    assert member.mtime == 1_600_000_000.0


def test_directories_are_not_members_and_links_are_recorded() -> None:
    archive = tar_bytes({"d/x.bin": b"data"}, symlinks={"s": "/etc/passwd"}, hardlinks={"h": "d/x.bin"})
    members = {m.name: m for m in expand(archive)}
    assert set(members) == {"d/x.bin", "s", "h"}
    assert members["s"].data is None and members["s"].error == "symlink to '/etc/passwd' (not followed)"
    assert members["h"].data is None and members["h"].error == "hard link to 'd/x.bin' (not followed)"


def test_encrypted_member_is_refused_and_the_rest_still_read() -> None:
    archive = zipcrypto_zip_bytes({"secret.jpg": jpeg_bytes()}, "pw", plain={"open.txt": b"plain"})
    expansion = ArchiveExpansion(archive, SETTINGS, ExpansionBudget(SETTINGS.archives))
    members = {m.name: (m.data, m.error) for m in expansion.members()}
    assert members == {"secret.jpg": (None, "encrypted (password required)"), "open.txt": (b"plain", None)}
    assert expansion.encrypted_members == 1


def test_encrypted_7z_members_are_refused() -> None:
    members = expand(sevenzip_bytes({"a.txt": b"x" * 100, "b.txt": b"y"}, password="pw"))
    assert [(m.name, m.data, m.error) for m in members] == [
        ("a.txt", None, "encrypted (password required)"),
        ("b.txt", None, "encrypted (password required)"),
    ]


def test_archive_with_encrypted_headers_lists_nothing_and_says_why() -> None:
    for archive in (rar5_encrypted_headers_bytes(), sevenzip_bytes({"a": b"x"}, password="pw", encrypt_headers=True)):
        expansion = ArchiveExpansion(archive, SETTINGS, ExpansionBudget(SETTINGS.archives))
        assert list(expansion.members()) == []
        assert expansion.error is not None and expansion.error.startswith("not expanded: encrypted headers")


@pytest.mark.parametrize(
    ("raw", "safe", "warning"),
    [
        ("photos/a.jpg", "photos/a.jpg", None),
        ("./a/./b.jpg", "a/b.jpg", None),
        (
            "../../etc/passwd",
            "etc/passwd",
            "unsafe entry name '../../etc/passwd' (path traversal); shown as 'etc/passwd'",
        ),
        ("/etc/shadow", "etc/shadow", "unsafe entry name '/etc/shadow' (absolute path); shown as 'etc/shadow'"),
        ("a/../../b", "a/b", "unsafe entry name 'a/../../b' (path traversal); shown as 'a/b'"),
        ("..\\..\\win.ini", "win.ini", "unsafe entry name '..\\\\..\\\\win.ini' (path traversal); shown as 'win.ini'"),
        ("C:\\x\\y.jpg", "x/y.jpg", "unsafe entry name 'C:\\\\x\\\\y.jpg' (absolute path); shown as 'x/y.jpg'"),
        ("..", "unnamed", "unsafe entry name '..' (path traversal); shown as 'unnamed'"),
    ],
)
def test_safe_member_name(raw: str, safe: str, warning: str | None) -> None:
    assert safe_member_name(raw) == (safe, warning)


def test_big_members_are_spooled_to_scratch_and_released(tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    big, small = random_bytes(300_000), b"small"
    settings = AnalysisSettings(in_memory_bytes=64 * 1024, scratch_dir=str(scratch))
    expansion = ArchiveExpansion(
        zip_bytes({"big.bin": big, "small.txt": small}), settings, ExpansionBudget(settings.archives)
    )
    seen: dict[str, bytes | None] = {}
    for member in expansion.members():
        if member.spool_path is not None:
            assert Path(member.spool_path).parent == scratch
            seen[member.name] = Path(member.spool_path).read_bytes()
        else:
            seen[member.name] = member.data
    assert seen == {"big.bin": big, "small.txt": small}
    assert list(scratch.iterdir()) == []  # spool files are gone once iteration moves on


def test_big_archive_is_read_from_its_path(tmp_path: Path) -> None:
    archive = write(tmp_path / "ev" / "big.zip", zip_bytes({"a.bin": random_bytes(200_000), "b.png": png_bytes()}))
    settings = AnalysisSettings(in_memory_bytes=64 * 1024, scratch_dir=str(tmp_path))
    items = process_file(archive, settings)
    assert [i.path for i in items] == ["EX:/big.zip", "EX:/big.zip!/a.bin", "EX:/big.zip!/b.png"]
    assert items[0].content is not None
    assert items[0].content.sha256 == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert items[2].content is not None and items[2].content.kind == "image"


# --- through the worker ----------------------------------------------------------------


def test_nested_archives_get_nested_virtual_paths(tmp_path: Path) -> None:
    inner = sevenzip_bytes({"c.png": png_bytes()})
    archive = write(tmp_path / "ev" / "dir" / "a.zip", zip_bytes({"b.7z": inner, "top.jpg": jpeg_bytes()}))
    items = process_file(archive.parent.parent)
    assert [(i.path, i.container) for i in items] == [
        ("EX:/dir/a.zip", None),
        ("EX:/dir/a.zip!/b.7z", "EX:/dir/a.zip"),
        ("EX:/dir/a.zip!/b.7z!/c.png", "EX:/dir/a.zip!/b.7z"),
        ("EX:/dir/a.zip!/top.jpg", "EX:/dir/a.zip"),
    ]
    kinds = [i.content.kind if i.content else None for i in items]
    assert kinds == ["archive", "archive", "image", "image"]
    assert items[2].content is not None
    assert items[2].content.sha256 == hashlib.sha256(png_bytes()).hexdigest()


def test_member_times_and_errors_reach_found_items(tmp_path: Path) -> None:
    archive = write(tmp_path / "a.tar", tar_bytes({"../up.txt": b"x"}))
    _, member = process_file(archive)
    assert member.path == "EX:/a.tar!/up.txt"
    assert member.mtime == 1_600_000_000.0
    assert member.error == "unsafe entry name '../up.txt' (path traversal); shown as 'up.txt'"
    assert member.content is not None and member.content.size == 1


def test_archive_encryption_reason_is_set(tmp_path: Path) -> None:
    archive = write(tmp_path / "a.zip", zipcrypto_zip_bytes({"s.jpg": jpeg_bytes()}, "pw"))
    top, member = process_file(archive)
    assert top.content is not None
    assert top.content.encrypted == "password-protected zip: 1 of 1 entries encrypted (ZipCrypto)"
    assert (member.content, member.error) == (None, "encrypted (password required)")


def test_spooled_nested_archive_is_expanded(tmp_path: Path) -> None:
    inner = zip_bytes({"deep.bin": random_bytes(120_000)}, compression=0)
    archive = write(tmp_path / "outer.zip", zip_bytes({"inner.zip": inner}, compression=0))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    settings = AnalysisSettings(in_memory_bytes=64 * 1024, scratch_dir=str(scratch))
    items = process_file(archive, settings)
    assert [i.path for i in items] == [
        "EX:/outer.zip",
        "EX:/outer.zip!/inner.zip",
        "EX:/outer.zip!/inner.zip!/deep.bin",
    ]
    assert items[2].content is not None
    assert items[2].content.sha256 == hashlib.sha256(random_bytes(120_000)).hexdigest()
    assert list(scratch.iterdir()) == []


def test_nesting_within_max_depth_is_fully_opened(tmp_path: Path) -> None:
    archive = write(tmp_path / "n.zip", nested_zip_bytes(3))
    items = process_file(archive)
    assert items[-1].path == "EX:/n.zip!/level2.zip!/level3.zip!/leaf.txt"
    assert all(i.error is None for i in items)
