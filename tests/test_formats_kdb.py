"""Sleuth Kit / Autopsy SQLite hash databases (.kdb): MD5 as 16-byte BLOB or hex text."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from hashdb_builders import KdbRow, write_kdb, write_nsrl
from hashset_builders import fake_hash, read_all
from haven.formats import FormatError, autopsy_kdb, detect
from haven.formats.base import HEAD_SIZE
from haven.hashsets import import_hashset
from haven.store import Store
from haven.store.models import HashEntry

USER = "investigator-1"
EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"
MD5 = [fake_hash("md5", i) for i in range(4)]


def blob(value: str) -> bytes:
    return bytes.fromhex(value)


def test_md5_blobs_as_the_sleuth_kit_writes_them(tmp_path: Path) -> None:
    path = write_kdb(tmp_path / "known.kdb", [(blob(MD5[0]), None, None), (blob(MD5[1]), None, None)])

    entries, skipped, notes = read_all(autopsy_kdb.read(path))

    assert [(e["md5"], e["sha1"], e["sha256"], e["category"]) for e in entries] == [
        (MD5[0], None, None, None),
        (MD5[1], None, None, None),
    ]
    assert (skipped, notes) == ([], [])


def test_hex_text_and_the_optional_sha_columns(tmp_path: Path) -> None:
    sha1, sha256 = fake_hash("sha1", 1), fake_hash("sha256", 1)
    rows = [(MD5[0].upper(), sha1.upper(), blob(sha256)), (f" {MD5[1]} ", None, None)]
    path = write_kdb(tmp_path / "known.kdb", rows)

    entries, _, _ = read_all(autopsy_kdb.read(path))

    assert [(e["md5"], e["sha1"], e["sha256"]) for e in entries] == [(MD5[0], sha1, sha256), (MD5[1], None, None)]


def test_bad_and_empty_file_records_are_skipped(tmp_path: Path) -> None:
    rows: list[KdbRow] = [
        (blob(MD5[0]), None, None),
        (blob(EMPTY_MD5), None, None),
        (b"\x01\x02\x03", None, None),  # a truncated BLOB
        ("not-a-hash", None, None),
        (blob(MD5[1]), "zz", None),
    ]
    path = write_kdb(tmp_path / "known.kdb", rows)

    entries, skipped, notes = read_all(autopsy_kdb.read(path))

    assert [e["md5"] for e in entries] == [MD5[0], MD5[1]]
    assert skipped == [
        f"record 2: {EMPTY_MD5} is the MD5 of an empty file; never imported",
        "record 3: MD5 '010203' is not 32 hex digits",
        "record 4: MD5 'not-a-hash' is not 32 hex digits",
    ]
    assert notes == ["record 5: dropped SHA-1 'zz' is not 40 hex digits"]


def test_detected_by_its_hashes_table(tmp_path: Path) -> None:
    path = write_kdb(tmp_path / "known.kdb", [(blob(MD5[0]), None, None)])

    found = detect(path.read_bytes()[:HEAD_SIZE])

    assert found is not None and found.name == "kdb"


def test_a_database_without_a_hashes_table_is_refused(tmp_path: Path) -> None:
    path = write_nsrl(tmp_path / "rds.db", [(None, None, MD5[0])])

    with pytest.raises(FormatError, match="not a Sleuth Kit hash database"):
        read_all(autopsy_kdb.read(path))


def test_import_once(store: Store, tmp_path: Path) -> None:
    path = write_kdb(tmp_path / "agency.kdb", [(blob(m), None, None) for m in MD5] + [(blob(EMPTY_MD5), None, None)])

    result = import_hashset(store, path, user=USER)
    again = import_hashset(store, path, user=USER)

    assert (result.name, result.format, result.imported, result.skipped) == ("agency", "kdb", 4, 1)
    assert result.warnings == []  # a .kdb may be known or known-good: no kind is expected
    with store.session() as session:
        assert list(session.scalars(select(HashEntry.md5).order_by(HashEntry.id))) == MD5
    assert (again.already_imported, again.imported) == (True, 0)
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(HashEntry)) == 4
