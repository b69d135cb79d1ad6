"""Plain hash lists: encodings, header lines, categories, comments and bad lines with their numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from hashset_builders import fake_hash, read_all, write_plain, write_text
from haven.formats import FormatError, detect, plain

MD5, SHA1, SHA256 = fake_hash("md5", 1), fake_hash("sha1", 2), fake_hash("sha256", 3)
EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"
EMPTY_SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def hashes(entries: list[dict[str, object]]) -> list[tuple[object, object, object, object]]:
    return [(e["md5"], e["sha1"], e["sha256"], e["category"]) for e in entries]


def test_length_names_the_algorithm_and_hashes_are_stored_lowercase(tmp_path: Path) -> None:
    path = write_plain(tmp_path / "l.txt", [MD5.upper(), SHA1, (SHA256.upper(), "2")])

    entries, skipped, _ = read_all(plain.read(path))

    assert hashes(entries) == [(MD5, None, None, None), (None, SHA1, None, None), (None, None, SHA256, "2")]
    assert skipped == []


@pytest.mark.parametrize("sep", [",", ";", "\t", " ", " , ", "  "])
def test_category_after_any_common_separator(tmp_path: Path, sep: str) -> None:
    path = write_plain(tmp_path / "l.txt", [(MD5, "1"), (SHA1, "Category 3")], sep=sep)

    entries, _, _ = read_all(plain.read(path))

    assert [e["category"] for e in entries] == ["1", "Category 3"]


def test_quoted_fields_and_extra_columns(tmp_path: Path) -> None:
    path = write_text(tmp_path / "l.csv", [f'"{MD5}","2","ignored"'])

    entries, _, _ = read_all(plain.read(path))

    assert hashes(entries) == [(MD5, None, None, "2")]


@pytest.mark.parametrize("header", ["MD5", "md5 hash", "MD5 Hash", "hash", "Hash,Category", "md5,category"])
def test_header_line_naming_md5_or_no_type_is_not_an_entry(tmp_path: Path, header: str) -> None:
    path = write_plain(tmp_path / "l.txt", [MD5], header=header)

    entries, skipped, _ = read_all(plain.read(path))

    assert hashes(entries) == [(MD5, None, None, None)]
    assert skipped == []


@pytest.mark.parametrize("header", ["SHA-1", "SHA1", "sha1 hash"])
def test_header_naming_an_algorithm_skips_lines_of_another_length(tmp_path: Path, header: str) -> None:
    path = write_plain(tmp_path / "l.txt", [SHA1, MD5], header=header)

    entries, skipped, _ = read_all(plain.read(path))

    assert hashes(entries) == [(None, SHA1, None, None)]
    assert skipped == ["line 3: MD5 hash but the header says SHA-1"]


def test_sha256_header(tmp_path: Path) -> None:
    path = write_plain(tmp_path / "l.txt", [SHA256], header="SHA256")

    entries, _, _ = read_all(plain.read(path))

    assert hashes(entries) == [(None, None, SHA256, None)]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16-le", "utf-16-be"])
def test_byte_order_marks_are_honoured(tmp_path: Path, encoding: str) -> None:
    path = write_plain(tmp_path / "l.txt", [(MD5, "1"), SHA1], encoding=encoding)

    entries, skipped, _ = read_all(plain.read(path))

    assert hashes(entries) == [(MD5, None, None, "1"), (None, SHA1, None, None)]
    assert skipped == []


def test_utf16_with_bom_and_header_line(tmp_path: Path) -> None:
    path = write_plain(tmp_path / "l.txt", [MD5], header="MD5", encoding="utf-16-le", newline="\r\n")

    entries, skipped, _ = read_all(plain.read(path))

    assert hashes(entries) == [(MD5, None, None, None)]
    assert skipped == []


def test_utf16_without_bom_is_recognised_by_its_nul_bytes(tmp_path: Path) -> None:
    path = tmp_path / "l.txt"
    path.write_bytes(f"{MD5}\r\n{SHA1}\r\n".encode("utf-16-le"))

    entries, _, _ = read_all(plain.read(path))

    assert hashes(entries) == [(MD5, None, None, None), (None, SHA1, None, None)]


def test_blank_lines_and_comments_are_ignored_but_counted_in_line_numbers(tmp_path: Path) -> None:
    path = write_text(tmp_path / "l.txt", ["# exported list", "", MD5, "   ", "# another", "xyz", SHA1])

    entries, skipped, _ = read_all(plain.read(path))

    assert hashes(entries) == [(MD5, None, None, None), (None, SHA1, None, None)]
    assert skipped == ["line 6: 'xyz' is not a hex hash"]


def test_bad_lines_are_skipped_with_their_line_number_and_reason(tmp_path: Path) -> None:
    lines = [MD5, "abc123", MD5[:-1] + "g", "not a hash at all", SHA1 + "0", "x" * 300]
    path = write_text(tmp_path / "l.txt", lines)

    entries, skipped, _ = read_all(plain.read(path))

    assert len(entries) == 1
    assert skipped[0] == ("line 2: 'abc123' has 6 hex digits; expected 32 (MD5), 40 (SHA-1) or 64 (SHA-256)")
    assert skipped[1] == f"line 3: '{MD5[:-1]}g' is not a hex hash"
    assert skipped[2] == "line 4: 'not' is not a hex hash"
    assert skipped[3].startswith("line 5: ") and "41 hex digits" in skipped[3]
    assert skipped[4].startswith("line 6: ") and len(skipped[4]) < 100  # a garbage line is not echoed whole


@pytest.mark.parametrize("empty", [EMPTY_MD5, EMPTY_SHA1, EMPTY_SHA256, EMPTY_MD5.upper()])
def test_empty_file_hashes_are_never_imported(tmp_path: Path, empty: str) -> None:
    path = write_plain(tmp_path / "l.txt", [MD5, (empty, "1")])

    entries, skipped, _ = read_all(plain.read(path))

    assert hashes(entries) == [(MD5, None, None, None)]
    assert len(skipped) == 1
    assert skipped[0].startswith("line 2: ") and "empty file" in skipped[0]


def test_category_too_long_for_the_store_is_skipped(tmp_path: Path) -> None:
    path = write_plain(tmp_path / "l.txt", [(MD5, "c" * 61), (SHA1, "c" * 60)])

    entries, skipped, _ = read_all(plain.read(path))

    assert [e["sha1"] for e in entries] == [SHA1]
    assert skipped[0].startswith("line 1: category") and "longer than 60" in skipped[0]


def test_a_pdq_header_is_refused_rather_than_read_as_sha256(tmp_path: Path) -> None:
    path = write_plain(tmp_path / "l.txt", [fake_hash("pdq", 1)], header="PDQ")

    with pytest.raises(FormatError, match="line 1: the header names PDQ"):
        list(plain.read(path))


@pytest.mark.parametrize(
    ("first_lines", "expected"),
    [
        ([MD5], True),
        ([SHA1.upper()], True),
        ([f"{SHA256},1"], True),
        (["# comment", "", "MD5", MD5], True),
        (["SHA-1", SHA1], True),
        (["hello world", MD5], False),
        (['{"@odata.context": "x"}'], False),
        ([], False),
    ],
)
def test_sniff(tmp_path: Path, first_lines: list[str], expected: bool) -> None:
    head = "".join(line + "\n" for line in first_lines).encode()

    assert plain.sniff(head) is expected


def test_auto_detection_picks_plain_for_hash_lists_in_any_encoding() -> None:
    for encoding, bom in (("utf-8", b""), ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")):
        head = bom + f"MD5\r\n{MD5}\r\n".encode(encoding)
        found = detect(head)
        assert found is not None and found.name == "plain", encoding


def test_lists_joined_with_their_byte_order_marks_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "joined.txt"
    path.write_bytes(b"\xef\xbb\xbf" + MD5.encode() + b"\n\xef\xbb\xbf" + SHA1.encode() + b"\n")

    entries, skipped, _ = read_all(plain.read(path))

    assert hashes(entries) == [(MD5, None, None, None), (None, SHA1, None, None)]
    assert skipped == []


def test_undecodable_bytes_skip_only_their_line(tmp_path: Path) -> None:
    path = tmp_path / "l.txt"
    path.write_bytes(MD5.encode() + b"\n\xff\xfe\x00garbage\n" + SHA1.encode() + b"\n")

    entries, skipped, _ = read_all(plain.read(path))

    assert len(entries) == 2
    assert len(skipped) == 1 and skipped[0].startswith("line 2: ")
