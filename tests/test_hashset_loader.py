"""Large imports read in a forked child (hashset_loader): same rows, skips and errors; nothing half-imported."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hashset_builders import fake_hash, vics_media, write_plain, write_vics
from haven import hashset_loader
from haven.errors import HavenError
from haven.formats import ENTRY_COLUMNS, ColumnBatch, Note, Skipped
from haven.hashset_loader import IdleSample, read_ahead
from haven.hashsets import HashSetImportError, import_hashset
from haven.store import Store
from haven.store.models import HashEntry, HashSet

USER = "investigator-1"


@pytest.fixture
def in_background(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every import read by a child, in batches of 7 rows; returns the sizes of the batches seen."""
    monkeypatch.setattr(hashset_loader, "BACKGROUND_MIN_BYTES", 0)
    monkeypatch.setattr(hashset_loader, "SEND_ROWS", 7)
    monkeypatch.setattr(hashset_loader.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    sizes: list[int] = []
    original = hashset_loader._from_child

    def spy(items: Any) -> Iterator[Any]:
        for item in original(items):
            if isinstance(item, ColumnBatch):
                sizes.append(len(item))
            yield item

    monkeypatch.setattr(hashset_loader, "_from_child", spy)
    return sizes


def stored(store: Store) -> list[tuple[Any, ...]]:
    with store.session() as session:
        rows = session.execute(select(*(getattr(HashEntry, c) for c in ENTRY_COLUMNS)).order_by(HashEntry.id))
        return [tuple(row) for row in rows]


def sets(store: Store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(HashSet)) or 0


def vics_file(path: Path, count: int = 40) -> Path:
    media: list[Any] = [
        vics_media(
            fake_hash("md5", i),
            media_id=i,
            category=1 + i % 3,
            sha1=fake_hash("sha1", i),
            pdq=fake_hash("pdq", i),
            series="S" if i % 2 else None,
            victim_identified=bool(i % 3),
        )
        for i in range(count)
    ]
    media[5] = {"MD5": "nope"}
    media[9]["SHA1"] = "xyz"
    return write_vics(path, media)


def test_a_vics_import_in_the_background_stores_what_one_in_process_does(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_background: list[int]
) -> None:
    path = vics_file(tmp_path / "set.json")
    background = import_hashset(store, path, name="background", user=USER)
    rows_in_background = stored(store)

    monkeypatch.setattr(hashset_loader, "BACKGROUND_MIN_BYTES", 1 << 60)
    in_process = import_hashset(store, vics_file(tmp_path / "copy.json", 41), name="in-process", user=USER)

    assert sum(in_background) == 39 and max(in_background) == 7  # 6 batches: the child did the reading
    assert (background.imported, background.skipped) == (39, 1)
    assert background.skipped_reasons == ["record 6: MD5 'nope' is not 32 hex digits"]
    assert background.warnings == ["record 10: SHA1 dropped: 'xyz' is not 40 hex digits"]
    assert rows_in_background == stored(store)[: len(rows_in_background)]  # the same 39 rows, in order
    assert (in_process.imported, in_process.skipped) == (40, 1)


def test_out_of_scheme_categories_are_skipped_in_the_child_too(
    store: Store, tmp_path: Path, in_background: list[int]
) -> None:
    path = write_vics(tmp_path / "set.json", [vics_media(fake_hash("md5", i), category=i) for i in range(1, 20)])

    result = import_hashset(store, path, user=USER)  # VICS /US/: vic-us codes only

    assert result.skipped > 0 and result.imported + result.skipped == 19
    assert all(reason.startswith("record ") for reason in result.skipped_reasons)
    assert "is not in scheme vic-us" in result.skipped_reasons[0]
    assert sum(in_background) == result.imported


def test_a_malformed_file_read_in_the_background_leaves_nothing(
    store: Store, tmp_path: Path, in_background: list[int]
) -> None:
    path = vics_file(tmp_path / "set.json", 300)
    data = path.read_bytes()
    path.write_bytes(data[: data.index(fake_hash("md5", 250).upper().encode())])

    with pytest.raises(HashSetImportError, match=r"after record 250: malformed JSON \(.*\); nothing was imported$"):
        import_hashset(store, path, user=USER)

    assert sum(in_background) > 0  # rows were written before the error arrived, and rolled back
    assert (sets(store), stored(store)) == (0, [])


def test_a_plain_list_in_the_background(store: Store, tmp_path: Path, in_background: list[int]) -> None:
    md5s = [fake_hash("md5", i) for i in range(30)]
    path = write_plain(tmp_path / "list.txt", [*md5s[:10], "bad line", *md5s[10:]], header="MD5")

    result = import_hashset(store, path, user=USER)

    assert result.imported == 30 and len(result.skipped_reasons) == 1
    assert result.skipped_reasons[0].startswith("line 12: 'bad")
    assert [row[0] for row in stored(store)] == md5s


@pytest.fixture
def idle_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hashset_loader.os, "getloadavg", lambda: (0.0, 0.0, 0.0))


def entry(md5: str) -> dict[str, Any]:
    return dict.fromkeys(ENTRY_COLUMNS) | {"md5": md5, "victim_identified": True}


def test_items_come_back_in_order_and_small_files_are_read_in_process(
    monkeypatch: pytest.MonkeyPatch, idle_machine: None
) -> None:
    monkeypatch.setattr(hashset_loader, "SEND_ROWS", 2)
    items = [entry("a"), Skipped("line 2", "bad"), entry("b"), entry("c"), Note("line 4", "dropped"), entry("d")]

    small = read_ahead(items, hashset_loader.BACKGROUND_MIN_BYTES - 1)
    received = list(read_ahead(iter(items), hashset_loader.BACKGROUND_MIN_BYTES))

    assert small is items
    entries = [entry for item in received if isinstance(item, ColumnBatch) for entry in item.entries()]
    assert entries == [item for item in items if isinstance(item, dict)]  # columns left out come back as None
    assert [item for item in received if not isinstance(item, ColumnBatch)] == items[1:2] + items[4:5]
    assert {item.columns for item in received if isinstance(item, ColumnBatch)} == {("md5", "victim_identified")}


def test_a_child_that_dies_is_an_error_not_a_hang(idle_machine: None) -> None:
    def dies() -> Iterator[Any]:
        yield entry("a")
        os._exit(3)

    with pytest.raises(HavenError, match=r"ended unexpectedly \(exit code 3\)"):
        list(read_ahead(dies(), hashset_loader.BACKGROUND_MIN_BYTES))


def test_an_error_in_the_child_is_raised_by_the_importer(idle_machine: None) -> None:
    def unreadable() -> Iterator[Any]:
        yield entry("a")
        raise PermissionError(13, "Permission denied", "/evidence/list.txt")

    with pytest.raises(PermissionError, match="Permission denied"):
        list(read_ahead(unreadable(), hashset_loader.BACKGROUND_MIN_BYTES))


def test_with_other_threads_running_the_file_is_read_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hashset_loader.threading, "active_count", lambda: 2)
    items = iter([entry("a")])

    assert read_ahead(items, 1 << 40) is items


def test_on_a_busy_machine_the_file_is_read_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    cores = hashset_loader.os.cpu_count() or 1
    monkeypatch.setattr(hashset_loader.os, "getloadavg", lambda: (cores - 1.0, 0.0, 0.0))
    items = iter([entry("a")])
    assert read_ahead(items, 1 << 40) is not items  # a core to spare: a child reads

    monkeypatch.setattr(hashset_loader.os, "getloadavg", lambda: (cores - 0.5, 0.0, 0.0))
    assert read_ahead(items, 1 << 40) is items


def test_idle_cores_measured_just_before_outweigh_a_lagging_load_average(monkeypatch: pytest.MonkeyPatch) -> None:
    cores = hashset_loader.os.cpu_count() or 1
    monkeypatch.setattr(hashset_loader.os, "getloadavg", lambda: (cores + 5.0, 0.0, 0.0))  # an import just ended
    items = iter([entry("a")])

    assert read_ahead(items, 1 << 40, idle_cores=1.0) is not items  # idle now: a child reads
    assert read_ahead(items, 1 << 40, idle_cores=0.2) is items  # busy now
    assert read_ahead(items, 1 << 40, idle_cores=None) is items  # not measured: the load average decides


def test_an_idle_sample_sees_this_process_busy_and_needs_time_to_tell() -> None:
    cores = hashset_loader.os.cpu_count() or 1
    sample = IdleSample.now()
    assert sample.idle_cores() is None  # too soon to tell

    deadline = time.process_time() + 0.4
    while time.process_time() < deadline:  # one core busy, here
        pass
    idle = sample.idle_cores()

    assert idle is not None and 0.0 <= idle <= cores - 0.5
