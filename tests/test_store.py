"""The case store on both backends: schema, seeds, constraints and round trips."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import delete, func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from haven.store import Store, open_store
from haven.store.models import Base, Case, Category, Content, Occurrence, Source

PRESET_COUNTS = {"vic-us": 6, "vic-ca": 6, "caid-uk": 5}


def _digest(value: str, algo: str = "sha256") -> str:
    return hashlib.new(algo, value.encode()).hexdigest()


def _case(reference: str = "CASE-1") -> Case:
    return Case(reference=reference, title="Test case", created_by="tester")


def _source(case: Case, location: str = "/evidence/exhibit-1") -> Source:
    return Source(case=case, label="Exhibit 1", kind="folder", location=location, registered_by="tester")


def _content(case_id: int, seed: str = "a", size: int = 10) -> Content:
    return Content(
        case_id=case_id,
        sha256=_digest(seed),
        md5=_digest(seed, "md5"),
        sha1=_digest(seed, "sha1"),
        size=size,
        kind="image",
    )


def _occurrence(source_id: int, content_id: int | None, path: str) -> Occurrence:
    digest = _digest(path, "sha1")
    return Occurrence(source_id=source_id, content_id=content_id, path=path, path_digest=digest, top_level=digest)


def _categories(store: Store) -> list[tuple[str, str, str]]:
    with store.session() as s:
        rows = s.execute(select(Category.scheme, Category.code, Category.name).order_by(Category.id))
        return [tuple(r) for r in rows]


def test_migration_creates_all_tables(store: Store) -> None:
    tables = set(inspect(store.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_migration_seeds_category_presets(store: Store) -> None:
    rows = _categories(store)
    counts: dict[str, int] = {}
    for scheme, _code, _name in rows:
        counts[scheme] = counts.get(scheme, 0) + 1
    assert counts == PRESET_COUNTS
    codes = {(scheme, code) for scheme, code, _ in rows}
    assert {("vic-us", "0"), ("vic-us", "1"), ("vic-ca", "5")} <= codes
    assert {code for scheme, code, _ in rows if scheme == "caid-uk"} == {"A", "B", "C", "N", "U"}


def test_migrating_twice_is_a_no_op(store: Store, store_url: str) -> None:
    with store.session() as s:
        s.add(_case())
    before = _categories(store)
    with store.engine.connect() as conn:
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    assert len(version) == 1

    store.migrate()
    again = open_store(store_url)  # a new engine, as a second process would
    try:
        assert _categories(again) == before
        with again.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == version
        with again.session() as s:
            assert s.scalar(select(func.count()).select_from(Case)) == 1
    finally:
        again.dispose()


def test_content_unique_per_case_and_sha256(store: Store) -> None:
    with store.session() as s:
        case1, case2 = _case("C1"), _case("C2")
        s.add_all([case1, case2])
        s.flush()
        s.add(_content(case1.id, "same"))
        s.add(_content(case2.id, "same"))  # the same bytes in another case: allowed
    with pytest.raises(IntegrityError), store.session() as s:
        s.add(_content(case1.id, "same"))
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Content)) == 2


def test_occurrence_unique_per_source_and_path_digest(store: Store) -> None:
    with store.session() as s:
        case = _case()
        src1, src2 = _source(case, "/evidence/1"), _source(case, "/evidence/2")
        s.add_all([case, src1, src2])
        s.flush()
        content = _content(case.id)
        s.add(content)
        s.flush()
        s.add(_occurrence(src1.id, content.id, "DCIM/img.jpg"))
        s.add(_occurrence(src2.id, content.id, "DCIM/img.jpg"))  # same path, other exhibit: allowed
        s.add(_occurrence(src1.id, None, "DCIM/broken.jpg"))  # unreadable item: no content
    with pytest.raises(IntegrityError), store.session() as s:
        s.add(_occurrence(src1.id, content.id, "DCIM/img.jpg"))
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Occurrence)) == 3


def test_source_location_unique_per_case(store: Store) -> None:
    with store.session() as s:
        s.add(_source(_case(), "/evidence/1"))
    with pytest.raises(IntegrityError), store.session() as s:
        case = s.scalars(select(Case)).one()
        s.add(_source(case, "/evidence/1"))


def test_case_source_content_occurrence_round_trip(store: Store) -> None:
    with store.session() as s:
        case = Case(reference="2026-0042", title="Operation Test", agency="Unit 7", created_by="alice")
        source = _source(case, "/evidence/laptop.E01")
        source.kind, source.size, source.sha256 = "file", 1234, _digest("container")
        s.add_all([case, source])
        s.flush()
        content = _content(case.id, "photo", size=2048)
        content.mime, content.width, content.height, content.pdq = "image/jpeg", 640, 480, "f" * 64
        content.gps_lat, content.gps_lon, content.exif_make = 51.5, -0.125, "Canon"
        s.add(content)
        s.flush()
        occ = _occurrence(source.id, content.id, "Users/x/Pictures/ünïcode photo.jpg")
        occ.container, occ.mtime = "archive.zip", 1_700_000_000.5
        s.add(occ)
        s.flush()
        ids = case.id, source.id, content.id, occ.id

    with store.session() as s:
        case = s.get(Case, ids[0])
        assert case is not None
        assert (case.reference, case.title, case.agency, case.created_by) == (
            "2026-0042",
            "Operation Test",
            "Unit 7",
            "alice",
        )
        assert case.scheme == "vic-us"
        assert case.created_at is not None
        assert [src.id for src in case.sources] == [ids[1]]
        source = case.sources[0]
        assert (source.kind, source.size, source.status, source.files_seen) == ("file", 1234, "registered", 0)

        content = s.get(Content, ids[2])
        assert content is not None
        assert content.sha256 == _digest("photo")
        assert (content.size, content.mime, content.width, content.height) == (2048, "image/jpeg", 640, 480)
        assert (content.gps_lat, content.gps_lon, content.exif_make) == (51.5, -0.125, "Canon")
        assert content.status == "unknown"

        occ = s.scalars(select(Occurrence).where(Occurrence.content_id == content.id)).one()
        assert occ.id == ids[3]
        assert occ.path == "Users/x/Pictures/ünïcode photo.jpg"
        assert (occ.container, occ.mtime, occ.source_id) == ("archive.zip", 1_700_000_000.5, ids[1])


def test_deleting_a_case_cascades(store: Store) -> None:
    with store.session() as s:
        case = _case()
        source = _source(case)
        s.add_all([case, source])
        s.flush()
        content = _content(case.id)
        s.add(content)
        s.flush()
        s.add(_occurrence(source.id, content.id, "a.jpg"))
        case_id = case.id
    with store.session() as s:
        s.execute(delete(Case).where(Case.id == case_id))
    with store.session() as s:
        for model in (Source, Content, Occurrence):
            assert s.scalar(select(func.count()).select_from(model)) == 0, model.__name__


@pytest.mark.parametrize("size", [2**31, 5 * 2**40 + 7, 2**63 - 1])
def test_big_sizes_round_trip(store: Store, size: int) -> None:
    with store.session() as s:
        case = _case()
        source = _source(case)
        source.size = size
        s.add_all([case, source])
        s.flush()
        s.add(_content(case.id, size=size))
    with store.session() as s:
        assert s.scalars(select(Source.size)).one() == size
        assert s.scalars(select(Content.size)).one() == size
        assert s.scalars(select(Content).where(Content.size > 2**31 - 1)).one().size == size
