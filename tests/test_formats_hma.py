"""HMA / python-threatexchange CSV, and the local ``<signal type> <hash>`` list with mixed types."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from hashset_builders import fake_hash, read_all, write_pdq, write_text
from haven.formats import detect, hma, signal_list
from haven.formats.base import HEAD_SIZE
from haven.hashsets import import_hashset
from haven.store import Store
from haven.store.models import HashEntry

USER = "investigator-1"
HEADER = "signal_type,signal_str,collab,category,tags"
PDQ, MD5, SHA256 = fake_hash("pdq", 1), fake_hash("md5", 1), fake_hash("sha256", 1)
EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def summary(entries: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return [(e["pdq"], e["md5"], e["sha256"], e["category"], e["tags"]) for e in entries]


def detected(path: Path) -> str | None:
    found = detect(path.read_bytes()[:HEAD_SIZE])
    return found.name if found else None


def test_csv_with_every_column(tmp_path: Path) -> None:
    lines = [
        HEADER,
        f"pdq,{PDQ.upper()},example-collab,abuse,tag-a tag-b",
        f"video_md5,{MD5},example-collab,,",
        f"sha256,{SHA256},example-collab,abuse,",
    ]
    path = write_text(tmp_path / "hma.csv", lines)

    entries, skipped, _ = read_all(hma.read(path))

    assert summary(entries) == [
        (PDQ, None, None, "abuse", "tag-a tag-b"),
        (None, MD5, None, None, None),
        (None, None, SHA256, "abuse", None),
    ]
    assert skipped == []


def test_optional_columns_may_be_missing_or_reordered(tmp_path: Path) -> None:
    path = write_text(tmp_path / "hma.csv", ["signal_str,signal_type", f"{MD5},md5"], encoding="utf-8-sig")

    entries, _, _ = read_all(hma.read(path))

    assert summary(entries) == [(None, MD5, None, None, None)]


def test_unknown_types_and_bad_rows_are_skipped_with_line_numbers(tmp_path: Path) -> None:
    lines = [
        HEADER,
        f"pdq,{PDQ},c,,",
        "url,https://example.invalid/x,c,,",
        f"md5,{EMPTY_MD5},c,,",
        f"pdq,{'0' * 64},c,,",
        "pdq,abc,c,,",
        ",,c,,",
        f"pdq,{fake_hash('pdq', 2)},c,{'x' * 61},",
    ]
    path = write_text(tmp_path / "hma.csv", lines)

    entries, skipped, _ = read_all(hma.read(path))

    assert [e["pdq"] for e in entries] == [PDQ]
    assert skipped == [
        "line 3: signal type 'url' is not a file hash Haven matches",
        f"line 4: {EMPTY_MD5} is the MD5 of an empty file; never imported",
        "line 5: all-zero PDQ hash (a blank image); never imported",
        "line 6: 'abc' is not a pdq hash (64 hex digits)",
        "line 7: no signal_type or signal_str",
        f"line 8: category '{'x' * 40}…' is longer than 60 characters",
    ]


def test_signal_list_with_mixed_types(tmp_path: Path) -> None:
    lines = [
        "# exported from HMA",
        f"pdq {PDQ}",
        f"md5 {MD5.upper()}",
        f"video_md5\t{fake_hash('md5', 2)}",
        "text hello",
    ]
    path = write_text(tmp_path / "signals.txt", lines)

    entries, skipped, _ = read_all(signal_list.read(path))

    assert summary(entries) == [
        (PDQ, None, None, None, None),
        (None, MD5, None, None, None),
        (None, fake_hash("md5", 2), None, None, None),
    ]
    assert skipped == ["line 5: signal type 'text' is not a file hash Haven matches"]


def test_detection_is_unambiguous(tmp_path: Path) -> None:
    csv_path = write_text(tmp_path / "hma.csv", [HEADER, f"pdq,{PDQ},c,,"])
    mixed = write_text(tmp_path / "mixed.txt", [f"pdq {PDQ}", f"md5 {MD5}"])
    md5_only = write_text(tmp_path / "md5.txt", [f"md5 {MD5}"])
    pdq_only = write_pdq(tmp_path / "pdq.txt", [PDQ, fake_hash("pdq", 2)])
    pdq_csv_rows = write_text(tmp_path / "rows.txt", [f"pdq,{PDQ}"])

    assert detected(csv_path) == "hma"
    assert detected(mixed) == "signals"
    assert detected(md5_only) == "signals"
    assert detected(pdq_only) == "pdq"
    assert detected(pdq_csv_rows) == "pdq"


@pytest.mark.parametrize("fmt", ["auto", "hma"])
def test_import_once(store: Store, tmp_path: Path, fmt: str) -> None:
    path = write_text(tmp_path / "hma.csv", [HEADER, f"pdq,{PDQ},c,abuse,t", f"md5,{MD5},c,,", "url,x,c,,"])

    result = import_hashset(store, path, fmt=fmt, user=USER)
    again = import_hashset(store, path, user=USER)

    assert (result.format, result.imported, result.skipped) == ("hma", 2, 1)
    with store.session() as session:
        columns = select(HashEntry.pdq, HashEntry.md5, HashEntry.category, HashEntry.tags).order_by(HashEntry.id)
        assert [tuple(r) for r in session.execute(columns)] == [(PDQ, None, "abuse", "t"), (None, MD5, None, None)]
    assert (again.already_imported, again.imported) == (True, 0)
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(HashEntry)) == 2


def test_signal_list_import_once(store: Store, tmp_path: Path) -> None:
    path = write_text(tmp_path / "signals.txt", [f"pdq {PDQ}", f"md5 {MD5}"])

    result = import_hashset(store, path, user=USER)
    again = import_hashset(store, path, fmt="signals", user=USER)

    assert (result.format, result.imported, result.skipped) == ("signals", 2, 0)
    assert (again.already_imported, again.imported) == (True, 0)
