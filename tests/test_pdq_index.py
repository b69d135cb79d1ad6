"""PDQ index: every entry within the threshold (inclusive), identical to brute force; persisted with the store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import delete, select, update

from haven.cases import create_case
from haven.matching import pdq_index
from haven.matching.pdq import known_pdq_index, match_pdq
from haven.matching.pdq_index import PdqIndex
from haven.store.models import Content, HashEntry, HashSet, Match

KINDS = ["flat", "mih"]
PLANTED = [0, 1, 15, 16, 17, 30, 31, 32, 33, 47]


def _random(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 256, size=(n, 32), dtype=np.uint8)


def _flip(hashes: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    """Each row with exactly ``bits`` distinct bits flipped."""
    out = hashes.copy()
    for row in out:
        for bit in rng.choice(256, size=bits, replace=False):
            row[bit // 8] ^= np.uint8(1 << (bit % 8))
    return out


def _brute(entries: np.ndarray, ids: np.ndarray, queries: np.ndarray, threshold: int) -> set[tuple[int, int, int]]:
    words, found = entries.view(np.uint64), set()
    for q, query in enumerate(queries.view(np.uint64)):
        distances = np.bitwise_count(words ^ query).sum(axis=1)
        found |= {(q, int(ids[r]), int(distances[r])) for r in np.flatnonzero(distances <= threshold)}
    return found


def _triples(result: tuple[np.ndarray, np.ndarray, np.ndarray]) -> set[tuple[int, int, int]]:
    return set(zip(*(a.tolist() for a in result), strict=True))


@pytest.fixture(scope="module")
def clustered() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """4,000 entries (random ones and neighbours of them at 0..40 bits) and 2,000 mixed queries."""
    rng = np.random.default_rng(7)
    base = _random(rng, 2000)
    near = np.concatenate([_flip(base[i::40], int(d), rng) for i, d in enumerate(rng.integers(0, 41, 40))])
    entries = np.concatenate([base, near])
    ids = rng.permutation(10 * len(entries))[: len(entries)].astype(np.int64)
    queries = np.concatenate([_flip(base[:1000], int(d), rng) for d in (0, 10, 25, 31, 32)] + [_random(rng, 1000)])[
        rng.permutation(6000)[:2000]
    ]
    return entries, ids, queries


@pytest.mark.parametrize("kind", KINDS)
def test_planted_neighbours_inclusive_threshold(kind: str) -> None:
    rng = np.random.default_rng(1)
    query = _random(rng, 1)
    planted = np.concatenate([_flip(query, d, rng) for d in PLANTED])
    entries = np.concatenate([_random(rng, 3000), planted])
    ids = np.arange(len(entries), dtype=np.int64) + 100
    index = PdqIndex.build(entries, ids, kind=kind)
    assert index.kind == kind

    query_rows, found, distances = index.range_query(query, 31)

    expected = {int(ids[3000 + i]): d for i, d in enumerate(PLANTED) if d <= 31}
    assert dict(zip(found.tolist(), distances.tolist(), strict=True)) == expected
    assert set(query_rows.tolist()) == {0}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("threshold", [0, 8, 31, 47])
def test_equals_brute_force(kind: str, threshold: int, clustered: tuple[np.ndarray, ...]) -> None:
    entries, ids, queries = clustered
    result = PdqIndex.build(entries, ids, kind=kind).range_query(queries, threshold)
    expected = _brute(entries, ids, queries, threshold)
    assert _triples(result) == expected
    assert len(result[0]) == len(expected)  # nothing reported twice
    assert expected  # the data does exercise matches
    order = np.lexsort((result[1], result[0]))
    assert (order == np.arange(len(order))).all()  # sorted by query, then id


def test_mih_skewed_buckets_are_verified_in_bounded_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    # Real sets hold many near-identical hashes (blank frames): huge buckets must stay exact and bounded.
    monkeypatch.setattr(pdq_index, "CANDIDATE_CAP", 500)
    rng = np.random.default_rng(11)
    blank = np.zeros((1, 32), dtype=np.uint8)
    entries = np.concatenate([np.repeat(blank, 1500, axis=0), _flip(np.repeat(blank, 1500, axis=0), 20, rng)])
    entries = np.concatenate([entries, _random(rng, 1000)])
    ids = np.arange(len(entries), dtype=np.int64)
    queries = np.concatenate([_flip(np.repeat(blank, 20, axis=0), 5, rng), _random(rng, 20)])
    result = PdqIndex.build(entries, ids, kind="mih").range_query(queries, 31)
    assert _triples(result) == _brute(entries, ids, queries, 31)
    assert len(result[0]) >= 20 * 1500


def test_mih_falls_back_to_a_scan_for_wide_thresholds(clustered: tuple[np.ndarray, ...]) -> None:
    entries, ids, queries = clustered
    index = PdqIndex.build(entries, ids, kind="mih")
    assert pdq_index._plan([t.chunk for t in index._tables], len(index), 100) is None
    assert _triples(index.range_query(queries[:50], 100)) == _brute(entries, ids, queries[:50], 100)


def test_mih_layout_covers_every_bit_once() -> None:
    for n in (10, 5_000, 1_000_000, 10_000_000):
        chunks = pdq_index._layout(n)
        covered = [bit for c in chunks for bit in range(c.start, c.start + c.width)]
        assert covered == list(range(256))
        assert max(c.width for c in chunks) <= pdq_index.MAX_CHUNK_BITS


def test_mih_budgets_satisfy_the_pigeonhole() -> None:
    chunks = pdq_index._layout(10_000_000)
    for threshold in (0, 1, 10, 31, 47):
        budgets = pdq_index._plan(chunks, 10_000_000, threshold)
        assert budgets is not None
        assert sum(b + 1 for b in budgets) == threshold + 1  # any hit within threshold is within b_i in a chunk


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_round_trip(kind: str, tmp_path: Path, clustered: tuple[np.ndarray, ...]) -> None:
    entries, ids, queries = clustered
    index = PdqIndex.build(entries, ids, kind=kind)
    index.save(tmp_path / "index")
    loaded = PdqIndex.load(tmp_path / "index")
    assert (loaded.kind, len(loaded)) == (kind, len(index))
    for a, b in zip(loaded.range_query(queries, 31), index.range_query(queries, 31), strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("kind", KINDS)
def test_add_after_build_and_after_load(kind: str, tmp_path: Path, clustered: tuple[np.ndarray, ...]) -> None:
    entries, ids, queries = clustered
    index = PdqIndex.build(entries[:1500], ids[:1500], kind=kind)
    index.add(entries[1500:3000], ids[1500:3000])
    index.save(tmp_path / "index")
    index = PdqIndex.load(tmp_path / "index")
    index.add(entries[3000:], ids[3000:])
    assert len(index) == len(entries)
    assert _triples(index.range_query(queries, 31)) == _brute(entries, ids, queries, 31)


@pytest.mark.parametrize("kind", KINDS)
def test_empty_index_and_no_queries(kind: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    empty = PdqIndex.build(np.zeros((0, 32), dtype=np.uint8), np.zeros(0, dtype=np.int64), kind=kind)
    assert len(empty) == 0
    assert all(len(a) == 0 for a in empty.range_query(_random(rng, 5), 31))
    empty.save(tmp_path / "empty")
    assert len(PdqIndex.load(tmp_path / "empty")) == 0
    full = PdqIndex.build(_random(rng, 10), np.arange(10), kind=kind)
    assert all(len(a) == 0 for a in full.range_query(np.zeros((0, 32), dtype=np.uint8), 31))


@pytest.mark.parametrize("kind", KINDS)
def test_threshold_zero_finds_every_duplicate(kind: str) -> None:
    rng = np.random.default_rng(4)
    entries = _random(rng, 500)
    entries[10] = entries[20] = entries[30]  # the same hash in three entries (e.g. three sets)
    near = _flip(entries[30:31], 1, rng)
    index = PdqIndex.build(np.concatenate([entries, near]), np.arange(501), kind=kind)
    _, found, distances = index.range_query(entries[30:31], 0)
    assert found.tolist() == [10, 20, 30]
    assert distances.tolist() == [0, 0, 0]


def test_kind_is_chosen_by_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdq_index, "FLAT_MAX", 100)
    rng = np.random.default_rng(5)
    assert PdqIndex.build(_random(rng, 100), np.arange(100)).kind == "flat"
    assert PdqIndex.build(_random(rng, 101), np.arange(101)).kind == "mih"


def test_bad_input_is_refused() -> None:
    rng = np.random.default_rng(6)
    index = PdqIndex.build(_random(rng, 10), np.arange(10))
    with pytest.raises(ValueError, match="threshold"):
        index.range_query(_random(rng, 1), -1)
    with pytest.raises(ValueError, match="shape"):
        index.range_query(np.zeros((1, 31), dtype=np.uint8), 31)
    with pytest.raises(ValueError, match="ids"):
        PdqIndex.build(_random(rng, 3), np.arange(2))


# --- persistence with the store ---------------------------------------------------------------


def _hex(row: np.ndarray) -> str:
    return bytes(row).hex()


def _store_with_set(session, name: str, hashes: np.ndarray, kind: str = "known") -> HashSet:
    digest = hashlib.sha256(name.encode()).hexdigest()
    hash_set = HashSet(name=name, kind=kind, format="pdq", file_sha256=digest, imported_by="t")
    session.add(hash_set)
    session.flush()
    session.add_all(HashEntry(set_id=hash_set.id, pdq=_hex(h)) for h in hashes)
    session.flush()
    return hash_set


def _case_with(session, ref: str, hashes: np.ndarray) -> int:
    case, _ = create_case(session, ref, user="t")
    for i, h in enumerate(hashes):
        digest = hashlib.sha256(f"{ref}{i}".encode()).hexdigest()
        session.add(
            Content(
                case_id=case.id, sha256=digest, md5=digest[:32], sha1=digest[:40], size=1, kind="image",
                pdq=_hex(h), pdq_quality=90,
            )
        )  # fmt: skip
    session.flush()
    return case.id


def _pdq_matches(session, case_id: int) -> set[tuple[str, int]]:
    rows = session.execute(
        select(Content.sha256, Match.distance)
        .join(Match, Match.content_id == Content.id)
        .where(Content.case_id == case_id, Match.method == "pdq")
    )
    return {(sha256, distance) for sha256, distance in rows}


def test_index_is_saved_and_reused_until_the_sets_change(store, tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    known = _random(rng, 300)
    index_dir = tmp_path / "indexes"
    with store.session() as session:
        first = _store_with_set(session, "set-a", known)
        case_a = _case_with(session, "A", np.concatenate([_flip(known[:3], 31, rng), _flip(known[3:6], 32, rng)]))
        case_b = _case_with(session, "B", known[10:12])

        assert match_pdq(session, case_a, threshold=31, min_quality=50, index_dir=index_dir) == 3
        assert {d for _, d in _pdq_matches(session, case_a)} == {31}
        saved = list(index_dir.glob("pdq-*"))
        assert len(saved) == 1
        mtime = saved[0].stat().st_mtime_ns

        # Another case against unchanged sets loads the saved index.
        assert known_pdq_index(session, index_dir)[1] is False
        assert match_pdq(session, case_b, threshold=31, min_quality=50, index_dir=index_dir) == 2
        assert [(p, p.stat().st_mtime_ns) for p in index_dir.glob("pdq-*")] == [(saved[0], mtime)]

        # A new set: rebuilt under a new name, the stale one removed, and its entries match.
        second = _store_with_set(session, "set-b", _random(rng, 5))
        index, built = known_pdq_index(session, index_dir)
        assert (built, len(index)) == (True, 305)
        assert [p.name for p in index_dir.glob("pdq-*")] != [saved[0].name]
        assert len(list(index_dir.glob("pdq-*"))) == 1

        # A set turned known-good, or removed: rebuilt without it.
        session.execute(update(HashSet).where(HashSet.id == second.id).values(kind="known-good"))
        index, built = known_pdq_index(session, index_dir)
        assert (built, len(index)) == (True, 300)
        session.execute(delete(HashEntry).where(HashEntry.set_id == first.id))
        session.execute(delete(HashSet).where(HashSet.id == first.id))
        index, built = known_pdq_index(session, index_dir)
        assert (built, len(index)) == (True, 0)
        assert known_pdq_index(session, index_dir)[1] is False


def test_damaged_index_is_rebuilt(store, tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    known = _random(rng, 50)
    with store.session() as session:
        _store_with_set(session, "set-a", known)
        case = _case_with(session, "A", known[:4])
        assert known_pdq_index(session, tmp_path)[1] is True
        (saved,) = tmp_path.glob("pdq-*")
        (saved / "meta.json").write_text("{")
        assert match_pdq(session, case, threshold=0, min_quality=50, index_dir=tmp_path) == 4
        assert known_pdq_index(session, tmp_path)[1] is False


def test_without_index_dir_nothing_is_written(store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    rng = np.random.default_rng(10)
    known = _random(rng, 20)
    with store.session() as session:
        _store_with_set(session, "set-a", known)
        case = _case_with(session, "A", known[:2])
        assert match_pdq(session, case, threshold=31, min_quality=50) == 2
    assert list((tmp_path / "cwd").iterdir()) == []
