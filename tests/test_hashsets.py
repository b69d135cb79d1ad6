"""Importing hash sets into the store: counts, idempotency, names, all-or-nothing, audit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hashset_builders import fake_hash, vics_media, write_pdq, write_plain, write_text, write_vics
from haven import audit, hashsets
from haven.formats import plain
from haven.hashsets import HashSetImportError, import_hashset, list_hashsets
from haven.store import Store
from haven.store.models import AuditEvent, HashEntry, HashSet

USER = "investigator-1"


def entries(store: Store) -> list[HashEntry]:
    with store.session() as session:
        return list(session.scalars(select(HashEntry).order_by(HashEntry.id)))


def counts(store: Store) -> tuple[int, int, int]:
    """(hash sets, entries, audit events)"""
    with store.session() as session:
        return (
            session.scalar(select(func.count()).select_from(HashSet)) or 0,
            session.scalar(select(func.count()).select_from(HashEntry)) or 0,
            session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        )


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 3 rows, so that a few entries already span several executemany calls."""
    monkeypatch.setattr(hashsets, "BATCH_ROWS", 3)


def test_plain_list_import(store: Store, tmp_path: Path) -> None:
    md5s = [fake_hash("md5", i) for i in range(5)]
    path = write_plain(tmp_path / "agency-list.txt", [(m.upper(), "1") for m in md5s] + ["oops"], header="MD5")

    result = import_hashset(store, path, user=USER)

    assert (result.name, result.format, result.kind) == ("agency-list", "plain", "known")
    assert (result.imported, result.skipped, result.already_imported) == (5, 1, False)
    assert result.skipped_reasons == ["line 7: 'oops' is not a hex hash"]
    assert [(e.md5, e.category, e.set_id) for e in entries(store)] == [(m, "1", result.hash_set_id) for m in md5s]
    [hash_set] = list_hashsets(store)
    assert (hash_set.id, hash_set.entry_count, hash_set.skipped_count) == (result.hash_set_id, 5, 1)
    assert (hash_set.file_name, hash_set.imported_by, hash_set.scheme) == ("agency-list.txt", USER, None)
    assert len(hash_set.file_sha256) == 64


def test_import_is_recorded_in_the_global_audit_chain(store: Store, tmp_path: Path) -> None:
    path = write_plain(tmp_path / "l.txt", [fake_hash("sha1", 1)])

    result = import_hashset(store, path, user=USER, kind="known-good")

    with store.session() as session:
        [event] = session.scalars(select(AuditEvent))
        assert (event.chain, event.user, event.action) == ("global", USER, "hashset.import")
        detail = json.loads(event.detail)
        assert detail["hash_set_id"] == result.hash_set_id
        assert (detail["kind"], detail["imported"], detail["skipped"]) == ("known-good", 1, 0)
        assert audit.verify_chain(session, "global") == (1, None)


def test_same_file_again_adds_nothing(store: Store, tmp_path: Path) -> None:
    path = write_plain(tmp_path / "l.txt", [fake_hash("md5", i) for i in range(3)])
    first = import_hashset(store, path, user=USER)

    again = import_hashset(store, path, user=USER)
    renamed_copy = import_hashset(store, write_text(tmp_path / "copy.txt", path.read_text().splitlines()), user=USER)

    assert (again.already_imported, again.imported, again.hash_set_id, again.name) == (True, 0, first.hash_set_id, "l")
    assert renamed_copy.already_imported and renamed_copy.hash_set_id == first.hash_set_id
    assert counts(store) == (1, 3, 1)


def test_a_different_file_under_an_existing_name_is_refused(store: Store, tmp_path: Path) -> None:
    import_hashset(store, write_plain(tmp_path / "a.txt", [fake_hash("md5", 1)]), name="Agency", user=USER)

    other = write_plain(tmp_path / "b.txt", [fake_hash("md5", 2)])
    with pytest.raises(HashSetImportError, match="already imported as hash set 'Agency'; choose another --name"):
        import_hashset(store, other, name="Agency", user=USER)

    assert import_hashset(store, other, name="Agency 2", user=USER).imported == 1
    assert counts(store)[:2] == (2, 2)


def test_vics_import_records_scheme_and_all_fields(store: Store, tmp_path: Path) -> None:
    media = [
        vics_media(
            fake_hash("md5", i),
            media_id=i,
            category="abc"[i % 3],  # caid-uk codes, in any case: stored as the scheme spells them
            sha1=fake_hash("sha1", i),
            sha256=fake_hash("sha256", i),
            pdq=fake_hash("pdq", i),
            photodna="QUJD" * 48,
            series="S1",
            victim_identified=True,
            offender_identified=False,
            tags="t",
        )
        for i in range(4)
    ]
    path = write_vics(tmp_path / "caid.json", media, segment="UK", collection="Media", bom=True)

    result = import_hashset(store, path, user=USER)

    assert (result.format, result.imported, result.skipped, result.warnings) == ("vics", 4, 0, [])
    [hash_set] = list_hashsets(store)
    assert hash_set.scheme == "caid-uk"
    first = entries(store)[1]
    assert (first.md5, first.sha1, first.sha256, first.pdq) == (
        fake_hash("md5", 1),
        fake_hash("sha1", 1),
        fake_hash("sha256", 1),
        fake_hash("pdq", 1),
    )
    assert (first.photodna, first.category, first.series, first.tags) == ("QUJD" * 48, "B", "S1", "t")
    assert (first.victim_identified, first.offender_identified) == (True, False)


def test_warnings_report_fields_dropped_from_kept_entries(store: Store, tmp_path: Path) -> None:
    path = write_vics(tmp_path / "v.json", [vics_media(fake_hash("md5", 1), sha1="nothex")])

    result = import_hashset(store, path, user=USER)

    assert result.imported == 1
    assert result.warnings == ["record 1: SHA1 dropped: 'nothex' is not 40 hex digits"]


@pytest.mark.usefixtures("small_batches")
def test_many_batches(store: Store, tmp_path: Path) -> None:
    pdqs = [fake_hash("pdq", i) for i in range(10)]
    path = write_pdq(tmp_path / "p.txt", [(p, str(i)) for i, p in enumerate(pdqs)])

    result = import_hashset(store, path, user=USER)

    assert (result.format, result.imported) == ("pdq", 10)
    assert [(e.pdq, e.category) for e in entries(store)] == [(p, str(i)) for i, p in enumerate(pdqs)]


@pytest.mark.usefixtures("small_batches")
def test_file_failing_midway_leaves_no_set_and_no_entries(store: Store, tmp_path: Path) -> None:
    path = write_vics(tmp_path / "v.json", [vics_media(fake_hash("md5", i)) for i in range(10)])
    data = path.read_bytes()
    path.write_bytes(data[: data.index(fake_hash("md5", 8).upper().encode())])  # 8 good records, then cut

    with pytest.raises(HashSetImportError) as caught:
        import_hashset(store, path, user=USER)

    assert (
        str(caught.value)
        == f"{path}: after record 8: malformed JSON (parse error: premature EOF); nothing was imported"
    )

    assert counts(store) == (0, 0, 0)


def test_file_changing_during_import_is_refused(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_plain(tmp_path / "l.txt", [fake_hash("md5", i) for i in range(3)])
    real_read = plain.read

    def read_then_append(p: Path) -> Iterator[object]:
        yield from real_read(p)
        with p.open("a") as more:
            more.write(fake_hash("md5", 99) + "\n")

    monkeypatch.setattr(plain, "read", read_then_append)

    with pytest.raises(HashSetImportError, match="changed while it was being imported"):
        import_hashset(store, path, user=USER)
    assert counts(store) == (0, 0, 0)


def test_no_usable_hash_is_an_error(store: Store, tmp_path: Path) -> None:
    path = write_text(tmp_path / "l.txt", ["MD5", "d41d8cd98f00b204e9800998ecf8427e", "zzz"])

    with pytest.raises(HashSetImportError, match=r"l\.txt: no usable hashes \(2 skipped; first: line 2: .*empty file"):
        import_hashset(store, path, user=USER)
    assert counts(store) == (0, 0, 0)


def test_explicit_format_overrides_detection(store: Store, tmp_path: Path) -> None:
    path = write_plain(tmp_path / "bare.txt", [fake_hash("pdq", 1)])

    result = import_hashset(store, path, fmt="pdq", user=USER)

    assert result.format == "pdq"
    assert [(e.pdq, e.sha256) for e in entries(store)] == [(fake_hash("pdq", 1), None)]


def test_auto_detection_reads_bare_64_hex_as_sha256(store: Store, tmp_path: Path) -> None:
    path = write_plain(tmp_path / "bare.txt", [fake_hash("sha256", 1)])

    assert import_hashset(store, path, user=USER).format == "plain"
    assert [(e.pdq, e.sha256) for e in entries(store)] == [(None, fake_hash("sha256", 1))]


@pytest.mark.parametrize(
    ("content", "kwargs", "message"),
    [
        (None, {}, "cannot read"),
        (b"", {}, "the file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", {}, "unrecognised format"),
        (b"x", {"kind": "bad"}, "kind must be one of known, known-good"),
        (b"x", {"fmt": "xways"}, "unknown format 'xways'; choose auto, nsrl, kdb, vics, vpdq, hma, signals"),
        (b"x", {"name": "  "}, "name must be 1 to 200 characters"),
        (b'{"value": []}', {"fmt": "vics"}, "no @odata.context"),
    ],
)
def test_unusable_files_fail_with_one_clear_line(
    store: Store, tmp_path: Path, content: bytes | None, kwargs: dict[str, str], message: str
) -> None:
    path = tmp_path / "set.txt"
    if content is not None:
        path.write_bytes(content)

    with pytest.raises(HashSetImportError) as caught:
        import_hashset(store, path, user=USER, **kwargs)  # type: ignore[arg-type]

    text = str(caught.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text
    assert counts(store) == (0, 0, 0)


def test_skipped_reasons_are_capped_but_all_skips_counted(store: Store, tmp_path: Path) -> None:
    path = write_text(tmp_path / "l.txt", [fake_hash("md5", 0)] + [f"zz{i}" for i in range(50)])

    result = import_hashset(store, path, user=USER)

    assert (result.imported, result.skipped, len(result.skipped_reasons)) == (1, 50, 20)
    assert result.skipped_reasons[0] == "line 2: 'zz0' is not a hex hash"


def test_sqlite_page_cache_is_restored_after_import(sqlite_store: Store, tmp_path: Path) -> None:
    with sqlite_store.engine.connect() as connection:
        before = connection.exec_driver_sql("PRAGMA cache_size").scalar()

    import_hashset(sqlite_store, write_plain(tmp_path / "l.txt", [fake_hash("md5", 1)]), user=USER)

    with sqlite_store.engine.connect() as connection:  # the pool hands back the same connection
        assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == before
