"""PDQ lists, and the rule that tells a bare 64-hex PDQ list from a SHA-256 list."""

from __future__ import annotations

from pathlib import Path

import pytest

from hashset_builders import fake_hash, read_all, write_pdq, write_plain, write_text
from haven.formats import detect, pdqlist

PDQ1, PDQ2 = fake_hash("pdq", 1), fake_hash("pdq", 2)


def pdqs(entries: list[dict[str, object]]) -> list[tuple[object, object]]:
    assert all(e["md5"] is None and e["sha1"] is None and e["sha256"] is None for e in entries)
    return [(e["pdq"], e["category"]) for e in entries]


def test_prefixed_lines_with_and_without_category(tmp_path: Path) -> None:
    path = write_pdq(tmp_path / "l.txt", [PDQ1.upper(), (PDQ2, "1")])

    entries, skipped, _ = read_all(pdqlist.read(path))

    assert pdqs(entries) == [(PDQ1, None), (PDQ2, "1")]
    assert skipped == []


@pytest.mark.parametrize("line", [f"PDQ {PDQ1}", f"pdq\t{PDQ1}", f"pdq,{PDQ1}", f"pdq:{PDQ1}", f"  pdq   {PDQ1}  "])
def test_prefix_spellings(tmp_path: Path, line: str) -> None:
    path = write_text(tmp_path / "l.txt", [line])

    entries, _, _ = read_all(pdqlist.read(path))

    assert pdqs(entries) == [(PDQ1, None)]


def test_bare_hashes_under_a_pdq_header(tmp_path: Path) -> None:
    path = write_pdq(tmp_path / "l.txt", [(PDQ1, "2"), PDQ2], prefix=False, header="PDQ hash", encoding="utf-16-le")

    entries, skipped, _ = read_all(pdqlist.read(path))

    assert pdqs(entries) == [(PDQ1, "2"), (PDQ2, None)]
    assert skipped == []


def test_bad_lines_and_the_all_zero_hash_are_skipped_with_line_numbers(tmp_path: Path) -> None:
    lines = ["# PDQ export", f"pdq {PDQ1}", "pdq abc", f"pdq {'0' * 64}", fake_hash("md5", 1), "pdq"]
    path = write_text(tmp_path / "l.txt", lines)

    entries, skipped, _ = read_all(pdqlist.read(path))

    assert pdqs(entries) == [(PDQ1, None)]
    assert skipped == [
        "line 3: 'abc' is not a PDQ hash (64 hex digits)",
        "line 4: all-zero PDQ hash (a blank image); never imported",
        f"line 5: '{fake_hash('md5', 1)}' is not a PDQ hash (64 hex digits)",
        "line 6: 'pdq' is not a PDQ hash (64 hex digits)",
    ]


def sniffed(tmp_path: Path, path: Path) -> str | None:
    found = detect(path.read_bytes()[:65536])
    return found.name if found else None


def test_bare_64_hex_list_is_sha256_unless_it_says_pdq(tmp_path: Path) -> None:
    bare = write_plain(tmp_path / "bare.txt", [PDQ1, PDQ2])
    headed = write_pdq(tmp_path / "headed.txt", [PDQ1, PDQ2], prefix=False, header="PDQ")
    prefixed = write_pdq(tmp_path / "prefixed.txt", [PDQ1, PDQ2])
    sha256_headed = write_plain(tmp_path / "sha.txt", [PDQ1], header="SHA256")

    assert sniffed(tmp_path, bare) == "plain"
    assert sniffed(tmp_path, headed) == "pdq"
    assert sniffed(tmp_path, prefixed) == "pdq"
    assert sniffed(tmp_path, sha256_headed) == "plain"


def test_prefix_found_after_comments_and_in_utf16(tmp_path: Path) -> None:
    path = write_text(tmp_path / "l.txt", ["# from HMA", "", f"pdq {PDQ1}"], encoding="utf-16-be")

    assert sniffed(tmp_path, path) == "pdq"


@pytest.mark.parametrize(
    "text",
    [f"{fake_hash('md5', 1)}\n", f"{PDQ1}\n", "", f"pdq {PDQ1}0\n", "# pdq\n"],
)
def test_sniff_rejects_what_is_not_a_pdq_list(text: str) -> None:
    assert pdqlist.sniff(text.encode()) is False
