"""NSRL RDSv3 databases: the FILE view (full) or table (minimal), read-only and streamed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hashdb_builders import write_kdb, write_nsrl
from hashset_builders import fake_hash, read_all, write_plain
from haven.formats import FormatError, detect, nsrl, sqlite_db
from haven.formats.base import HEAD_SIZE
from haven.hashsets import import_hashset
from haven.store import Store
from haven.store.models import HashEntry

USER = "investigator-1"
EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def row(seed: int) -> tuple[str, str, str]:
    """(sha256, sha1, md5) upper-case, as NIST writes them."""
    return fake_hash("sha256", seed).upper(), fake_hash("sha1", seed).upper(), fake_hash("md5", seed).upper()


def hashes(entries: list[dict[str, object]]) -> list[tuple[object, object, object]]:
    return [(e["md5"], e["sha1"], e["sha256"]) for e in entries]


def expected(seed: int) -> tuple[str, str, str]:
    return fake_hash("md5", seed), fake_hash("sha1", seed), fake_hash("sha256", seed)


def detected(path: Path) -> str | None:
    found = detect(path.read_bytes()[:HEAD_SIZE])
    return found.name if found else None


@pytest.mark.parametrize("minimal", [False, True], ids=["full-view", "minimal-table"])
def test_reads_every_hash_lower_cased(tmp_path: Path, minimal: bool) -> None:
    path = write_nsrl(tmp_path / "RDS_synthetic.db", [row(1), row(2)], minimal=minimal)

    entries, skipped, notes = read_all(nsrl.read(path))

    assert hashes(entries) == [expected(1), expected(2)]
    assert all(e["category"] is None and e["pdq"] is None for e in entries)
    assert (skipped, notes) == ([], [])


def test_empty_file_rows_and_bad_hashes(tmp_path: Path) -> None:
    sha256, sha1, _ = row(3)
    rows = [
        row(1),
        (sha256, sha1, EMPTY_MD5.upper()),  # NSRL lists zero-byte files: their row goes, whatever else it holds
        (row(4)[0], "NOT-A-SHA1", row(4)[2]),  # a bad SHA-1 next to good hashes: kept without it
        ("", "xyz", "12"),
        (None, None, None),
    ]
    path = write_nsrl(tmp_path / "rds.db", rows)

    entries, skipped, notes = read_all(nsrl.read(path))

    assert hashes(entries) == [expected(1), (fake_hash("md5", 4), None, fake_hash("sha256", 4))]
    assert skipped == [
        f"record 2: {EMPTY_MD5} is the MD5 of an empty file; never imported",
        "record 4: MD5 '12' is not 32 hex digits; SHA-1 'xyz' is not 40 hex digits",
        "record 5: no MD5, SHA-1 or SHA-256",
    ]
    assert notes == ["record 3: dropped SHA-1 'not-a-sha1' is not 40 hex digits"]


def test_streams_in_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_db, "FETCH_ROWS", 2)
    path = write_nsrl(tmp_path / "rds.db", [row(i) for i in range(7)])

    entries, _, _ = read_all(nsrl.read(path))

    assert hashes(entries) == [expected(i) for i in range(7)]


def test_database_is_opened_read_only(tmp_path: Path) -> None:
    path = write_nsrl(tmp_path / "rds.db", [row(1)])
    before = path.read_bytes()

    read_all(nsrl.read(path))

    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rds.db"]  # no journal, WAL or lock file left


def test_detection(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE FILE_OBJECT (md5 TEXT)")

    assert detected(write_nsrl(tmp_path / "full.db", [row(1)])) == "nsrl"
    assert detected(write_nsrl(tmp_path / "minimal.db", [row(1)], minimal=True)) == "nsrl"
    assert detected(write_kdb(tmp_path / "tsk.kdb", [(bytes.fromhex(fake_hash("md5", 1)), None, None)])) == "kdb"
    assert detected(other) is None
    assert detected(write_plain(tmp_path / "l.txt", [fake_hash("md5", 1)])) == "plain"


def test_a_database_without_a_file_table_is_refused(tmp_path: Path) -> None:
    path = write_kdb(tmp_path / "tsk.kdb", [(bytes.fromhex(fake_hash("md5", 1)), None, None)])

    with pytest.raises(FormatError, match="not an NSRL RDSv3 database"):
        read_all(nsrl.read(path))
    with pytest.raises(FormatError, match="not a readable SQLite database"):
        read_all(nsrl.read(write_plain(tmp_path / "l.txt", [fake_hash("md5", 1)])))


def test_import_as_known_good_once(store: Store, tmp_path: Path) -> None:
    path = write_nsrl(tmp_path / "RDS_synthetic.db", [row(1), row(2), (None, None, EMPTY_MD5)])

    result = import_hashset(store, path, kind="known-good", user=USER)
    again = import_hashset(store, path, kind="known-good", user=USER)

    assert (result.format, result.kind, result.imported, result.skipped) == ("nsrl", "known-good", 2, 1)
    assert result.warnings == []
    with store.session() as session:
        rows = session.execute(select(HashEntry.md5, HashEntry.sha1, HashEntry.sha256).order_by(HashEntry.id))
        assert [tuple(r) for r in rows] == [expected(1), expected(2)]
    assert (again.already_imported, again.imported) == (True, 0)
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(HashEntry)) == 2


def test_import_as_known_warns(store: Store, tmp_path: Path) -> None:
    path = write_nsrl(tmp_path / "rds.db", [row(1)])

    result = import_hashset(store, path, user=USER)

    assert result.kind == "known"
    assert result.warnings == ["nsrl sets are meant for --kind known-good, but this was imported as known"]
