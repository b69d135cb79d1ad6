"""md5sum / sha*sum / BSD checksum output, HashKeeper .hsh and EnCase .hash sets: reading and detection.

Every file is built here from made-up hashes; file names in them are invented and must never be stored.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from hashset_builders import fake_hash, read_all, write_plain, write_text
from haven.formats import FORMATS, FormatError, detect, plain
from haven.formats.base import HEAD_SIZE
from haven.formats.checksum_list import read as read_checksums
from haven.formats.encase_hash import read as read_encase
from haven.formats.hashkeeper import read as read_hashkeeper

MD5, SHA1, SHA256 = fake_hash("md5", 1), fake_hash("sha1", 2), fake_hash("sha256", 3)
MD5_B = fake_hash("md5", 4)
EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"
HK_HEADER = (
    '"file_id","hashset_id","file_name","directory","hash","file_size","date_modified","time_modified",'
    '"time_zone","comments","date_accessed","time_accessed"'
)


def detected(path: Path) -> str | None:
    found = detect(path.read_bytes()[:HEAD_SIZE])
    return found.name if found else None


def hashes(entries: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return [(e["md5"], e["sha1"], e["sha256"], e["category"], e["tags"]) for e in entries]


# md5sum and friends


def test_gnu_text_and_binary_mode_lines_keep_the_hash_and_drop_the_name(tmp_path: Path) -> None:
    lines = [f"{MD5}  photos/holiday 1.jpg", f"{SHA1} *IMG_0001.JPG", f"{SHA256.upper()}  a b c.png"]
    path = write_text(tmp_path / "sums.txt", lines)

    entries, skipped, notes = read_all(read_checksums(path))

    assert hashes(entries) == [
        (MD5, None, None, None, None),
        (None, SHA1, None, None, None),
        (None, None, SHA256, None, None),
    ]
    assert (skipped, notes) == ([], [])
    assert "jpg" not in repr(entries) and "IMG" not in repr(entries)  # no trace of a file name anywhere


def test_escaped_gnu_names_and_bsd_tag_lines(tmp_path: Path) -> None:
    lines = [
        f"\\{MD5}  dir\\\\name\\nwith newline.jpg",  # GNU escapes a name holding \\ or a newline
        f"MD5 (some file.jpg) = {MD5_B}",
        f"SHA1 (x.png) = {SHA1}",
        f"SHA256 (y (1).gif) = {SHA256}",
        f"SHA256(z.bin)= {fake_hash('sha256', 9)}",  # OpenSSL dgst
    ]
    path = write_text(tmp_path / "sums.txt", lines)

    entries, skipped, _ = read_all(read_checksums(path))

    assert [(e["md5"], e["sha1"], e["sha256"]) for e in entries] == [
        (MD5, None, None),
        (MD5_B, None, None),
        (None, SHA1, None),
        (None, None, SHA256),
        (None, None, fake_hash("sha256", 9)),
    ]
    assert skipped == []


def test_bad_checksum_lines_are_skipped_with_their_number_and_reason(tmp_path: Path) -> None:
    lines = [
        f"{MD5}  ok.jpg",
        f"SHA512 (big.iso) = {'ab' * 64}",
        f"MD5 (wrong.jpg) = {SHA1}",
        f"{'ab' * 64}  sha512.bin",
        f"{EMPTY_MD5}  empty.txt",
        "not a checksum line",
    ]
    path = write_text(tmp_path / "sums.txt", lines)

    entries, skipped, _ = read_all(read_checksums(path))

    assert [e["md5"] for e in entries] == [MD5]
    assert skipped == [
        "line 2: 'SHA512' is not a hash Haven matches (MD5, SHA1 or SHA256)",
        f"line 3: the line says MD5 but '{SHA1[:40]}' is a SHA-1 length",
        f"line 4: '{('ab' * 64)[:40]}…' has 128 hex digits; expected 32 (MD5), 40 (SHA-1) or 64 (SHA-256)",
        f"line 5: {EMPTY_MD5} is the MD5 of an empty file; never imported",
        "line 6: 'not a checksum line' is not '<hash>  <name>' or 'MD5 (<name>) = <hash>'",
    ]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([f"{MD5}  photo.jpg", f"{SHA1}  other.png"], "md5sum"),
        ([f"{MD5} *IMG0001", f"{MD5_B} *IMG0002"], "md5sum"),  # binary mode: names without extension
        ([f"{SHA256}  /evidence/x"], "md5sum"),
        ([f"MD5 (a.jpg) = {MD5}"], "md5sum"),
        ([f"SHA256 (a.jpg) = {SHA256}"], "md5sum"),
        ([f"{MD5}  Category 3", f"{MD5_B}  1"], "plain"),  # "hash  category" stays a plain list
        ([f"{MD5},photo.jpg"], "plain"),
        ([f"md5 {MD5}", f"pdq {fake_hash('pdq', 1)}"], "signals"),
    ],
)
def test_detection_of_checksum_output(tmp_path: Path, lines: list[str], expected: str) -> None:
    assert detected(write_text(tmp_path / "l.txt", lines)) == expected


def test_plain_reader_never_takes_a_checksum_file_name_for_a_category(tmp_path: Path) -> None:
    path = write_text(tmp_path / "l.txt", [f"{MD5} *IMG0001", f"{MD5_B}  holiday.jpg", f"{SHA1}  2"])

    entries, skipped, _ = read_all(plain.read(path))

    assert hashes(entries) == [
        (MD5, None, None, None, None),
        (MD5_B, None, None, None, None),
        (None, SHA1, None, "2", None),  # no file-name shape: a category, as plain lists have always read it
    ]
    assert skipped == []


def test_plain_header_still_binds_checksum_lines(tmp_path: Path) -> None:
    path = write_text(tmp_path / "l.txt", ["SHA1", f"{MD5}  a.jpg", f"{SHA1}  b.jpg"])

    entries, skipped, _ = read_all(plain.read(path))

    assert [e["sha1"] for e in entries] == [SHA1]
    assert skipped == ["line 2: the hash is not SHA-1 as the header says"]


# HashKeeper


def hashkeeper_row(file_id: int, md5: str, *, name: str = "a.jpg", comments: str = "") -> str:
    return f'{file_id},7,"{name}","C:\\Windows\\x, y","{md5}",1024,"01/02/2003","12:00:00","EST","{comments}",,'


def test_hashkeeper_rows_give_the_md5_and_comments_only(tmp_path: Path) -> None:
    lines = [
        HK_HEADER,
        hashkeeper_row(1, MD5.upper(), name="one, two.jpg", comments="series x"),
        hashkeeper_row(2, MD5_B),
        hashkeeper_row(3, SHA1),
        hashkeeper_row(4, "xyz"),
        hashkeeper_row(5, EMPTY_MD5),
        '6,7,"short"',
    ]
    path = write_text(tmp_path / "set.hsh", lines, newline="\r\n")

    entries, skipped, _ = read_all(read_hashkeeper(path))

    assert hashes(entries) == [(MD5, None, None, None, "series x"), (MD5_B, None, None, None, None)]
    assert skipped == [
        f"line 4: hash '{SHA1}' is not an MD5 (32 hex digits)",
        "line 5: hash 'xyz' is not an MD5 (32 hex digits)",
        f"line 6: {EMPTY_MD5} is the MD5 of an empty file; never imported",
        "line 7: no hash",
    ]
    assert "one, two" not in repr(entries) and "Windows" not in repr(entries)


def test_hashkeeper_is_detected_before_the_generic_table(tmp_path: Path) -> None:
    path = write_text(tmp_path / "set.hsh", [HK_HEADER, hashkeeper_row(1, MD5)])

    assert detected(path) == "hashkeeper"


def test_hashkeeper_without_its_header_is_refused(tmp_path: Path) -> None:
    path = write_text(tmp_path / "set.hsh", [hashkeeper_row(1, MD5)])

    with pytest.raises(FormatError, match="line 1: not a HashKeeper header"):
        list(read_hashkeeper(path))


# EnCase .hash (binary, EnCase 3-6)


def encase_file(
    path: Path, md5s: list[str], *, name: str = "Agency set", category: str = "Notable", count: int | None = None
) -> Path:
    header = bytearray(0x480)
    header[:8] = b"HASH\r\n\xff\x00"
    struct.pack_into("<II", header, 8, 2, 1)
    struct.pack_into("<I", header, 0x10, len(md5s) if count is None else count)
    encoded_name = name.encode("utf-16-le")
    header[0x408 : 0x408 + len(encoded_name)] = encoded_name
    encoded_category = category.encode("utf-16-le")
    header[0x458 : 0x458 + len(encoded_category)] = encoded_category
    path.write_bytes(bytes(header) + b"".join(bytes.fromhex(m) + b"\x00\x00" for m in md5s))
    return path


def test_encase_hash_set_records_become_md5_entries(tmp_path: Path) -> None:
    path = encase_file(tmp_path / "set.hash", [MD5, MD5_B, EMPTY_MD5])

    entries, skipped, notes = read_all(read_encase(path))

    assert hashes(entries) == [(MD5, None, None, None, None), (MD5_B, None, None, None, None)]
    assert skipped == [f"record 3: {EMPTY_MD5} is the MD5 of an empty file; never imported"]
    assert notes == ["header: EnCase hash set 'Agency set', category 'Notable'"]
    assert detected(path) == "encase"


def test_encase_hash_set_cut_short_or_miscounted(tmp_path: Path) -> None:
    path = encase_file(tmp_path / "set.hash", [MD5, MD5_B], count=5)
    path.write_bytes(path.read_bytes()[:-7])  # the second record loses 7 of its 18 bytes

    entries, skipped, notes = read_all(read_encase(path))

    assert [e["md5"] for e in entries] == [MD5]
    assert skipped == ["record 2: cut short: 11 of 18 bytes"]
    assert notes[-1] == "header: the header says 5 hashes; the file holds 1"


def test_encase_header_alone_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "set.hash"
    path.write_bytes(b"HASH\r\n\xff\x00" + b"\x00" * 100)

    with pytest.raises(FormatError, match="header: not an EnCase hash set"):
        list(read_encase(path))


def test_every_new_style_can_be_chosen_by_name() -> None:
    assert {"md5sum", "hashkeeper", "encase", "csv"} <= set(FORMATS)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("MD5", "plain"), (None, "plain"), ("md5,category", "csv"), ("Hash,Category", "csv")],
)
def test_plain_lists_stay_plain_and_two_column_headers_are_tables(
    tmp_path: Path, header: str | None, expected: str
) -> None:
    path = write_plain(tmp_path / "l.txt", [(MD5, "1")], header=header)

    assert detected(path) == expected
    entries, skipped, _ = read_all(FORMATS[expected].read(path))
    assert (hashes(entries), skipped) == ([(MD5, None, None, "1", None)], [])
