"""Bulk-load paths of the hash-set import: partial hash indexes, and their deferral on SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Index, func, select, text

from hashset_builders import fake_hash, vics_media, write_plain, write_vics
from haven import hashsets
from haven.hashsets import HashSetImportError, import_hashset
from haven.store import Store
from haven.store.models import HashEntry

USER = "investigator-1"
HASH_INDEXES = {"ix_hash_entry_md5", "ix_hash_entry_sha1", "ix_hash_entry_sha256"}


@pytest.fixture
def eager_deferral(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Deferral from 20 rows in batches of 10; returns the names of indexes dropped, in order."""
    monkeypatch.setattr(hashsets, "BATCH_ROWS", 10)
    monkeypatch.setattr(hashsets, "DEFER_MIN_ROWS", 20)
    dropped: list[str] = []
    original = Index.drop

    def drop(self: Index, bind: object, checkfirst: bool = False) -> None:
        dropped.append(str(self.name))
        original(self, bind, checkfirst=checkfirst)  # type: ignore[arg-type]

    monkeypatch.setattr(Index, "drop", drop)
    return dropped


def sqlite_indexes(store: Store) -> dict[str, str]:
    with store.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'hash_entry'")
        )
        return {name: sql for name, sql in rows if sql}


def md5_plan(store: Store) -> str:
    with store.engine.connect() as connection:
        rows = connection.execute(
            text("EXPLAIN QUERY PLAN SELECT c.id, e.id FROM content c JOIN hash_entry e ON e.md5 = c.md5")
        )
        return " | ".join(str(row[-1]) for row in rows)


def test_hash_indexes_are_partial_and_still_used_by_the_match_join(sqlite_store: Store) -> None:
    indexes = sqlite_indexes(sqlite_store)
    for name in HASH_INDEXES:
        assert "IS NOT NULL" in indexes[name]
    assert "ix_hash_entry_md5" in md5_plan(sqlite_store)


def test_a_large_import_into_an_empty_table_rebuilds_the_hash_indexes(
    sqlite_store: Store, tmp_path: Path, eager_deferral: list[str]
) -> None:
    path = write_plain(tmp_path / "big.txt", [fake_hash("md5", i) for i in range(95)])
    result = import_hashset(sqlite_store, path, user=USER)

    assert result.imported == 95
    assert sorted(eager_deferral) == sorted(HASH_INDEXES)
    assert set(sqlite_indexes(sqlite_store)) >= HASH_INDEXES | {"ix_hash_entry_set"}
    assert "ix_hash_entry_md5" in md5_plan(sqlite_store)
    with sqlite_store.session() as session:
        found = session.scalar(select(HashEntry.id).where(HashEntry.md5 == fake_hash("md5", 42)))
    assert found is not None


def test_a_small_import_into_a_large_table_keeps_its_indexes(
    sqlite_store: Store, tmp_path: Path, eager_deferral: list[str]
) -> None:
    import_hashset(sqlite_store, write_plain(tmp_path / "big.txt", [fake_hash("md5", i) for i in range(95)]), user=USER)
    eager_deferral.clear()

    small = write_plain(tmp_path / "small.txt", [fake_hash("md5", f"s{i}") for i in range(40)])
    assert import_hashset(sqlite_store, small, user=USER).imported == 40
    assert eager_deferral == []  # 40 new rows against 95 already there: maintaining beats rebuilding


def test_a_failure_after_the_indexes_were_dropped_leaves_them_and_no_entries(
    sqlite_store: Store, tmp_path: Path, eager_deferral: list[str]
) -> None:
    path = write_vics(
        tmp_path / "set.json",
        [vics_media(fake_hash("md5", i), media_id=i, sha1=fake_hash("sha1", i)) for i in range(300)],
    )
    path.write_bytes(path.read_bytes()[:-40])  # truncated: malformed JSON after the first 64 KiB

    with pytest.raises(HashSetImportError, match="malformed JSON"):
        import_hashset(sqlite_store, path, user=USER)

    assert sorted(eager_deferral) == sorted(HASH_INDEXES)
    assert set(sqlite_indexes(sqlite_store)) >= HASH_INDEXES
    with sqlite_store.session() as session:
        assert session.scalar(select(func.count()).select_from(HashEntry)) == 0
