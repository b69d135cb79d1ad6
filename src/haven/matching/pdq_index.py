"""Perceptual index for PDQ: every entry within a Hamming threshold, exactly what brute force finds.

Two kinds behind one interface, chosen by size:

- ``flat``: FAISS ``IndexBinaryFlat``, a SIMD scan of every entry. Best for small sets.
- ``mih``: multi-index hashing (Norouzi et al.) in numpy. The 256 bits are cut into ``m`` contiguous
  chunks; each chunk has a table sorting the entries by that chunk's value (a permutation plus
  offsets, i.e. a counting sort). A query probes, in chunk ``i``, every value within ``t_i`` bits of
  its own, then verifies each candidate with a full popcount.

Exactness of ``mih`` (generalised pigeonhole): if ``sum(t_i + 1) > r`` then any entry within ``r``
of the query lies within ``t_i`` of it in some chunk ``i`` (otherwise its distance would be at least
``sum(t_i + 1) > r``), so it is among the candidates; verification then keeps exactly those
``<= r``. ``t_i = -1`` skips a chunk. FAISS's ``IndexBinaryMultiHash`` does the same with equal
``t_i = nflip``, but its ``unordered_map<vector>`` tables would take several GB at 10M entries with
the wide chunks that make lookups cheap; int32 tables take ``4 * m * n`` bytes plus offsets.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from pathlib import Path
from typing import Literal

import faiss
import numpy as np

Kind = Literal["flat", "mih"]

BITS = 256
FLAT_MAX = 20_000
"""Up to this many entries a flat scan is used (add() is incremental); mih is ~3x faster from 50k (bench)."""
DESIGN_THRESHOLD = 31
"""The threshold the chunk layout is tuned for (PDQ's usual one); any threshold stays exact."""
MAX_CHUNK_BITS = 24
"""Offsets tables have 2**bits int32 slots: 64 MiB at 24 bits."""
QUERY_BLOCK = 512
"""Queries verified together: large enough to amortise numpy calls, small enough to stay in cache."""
CANDIDATE_CAP = 4_000_000
"""Candidates verified at once (32 bytes each): bounds memory when many entries share a chunk value."""
FORMAT = 1


@dataclass(frozen=True)
class _Chunk:
    start: int  # first bit, MSB-first across the 32 bytes (byte 0 bit 7 is bit 0)
    width: int


@dataclass
class _Table:
    chunk: _Chunk
    perm: np.ndarray  # (n,) int32: entry rows sorted by this chunk's value
    offsets: np.ndarray  # (2**width + 1,) int32: rows of value v are perm[offsets[v]:offsets[v + 1]]


class PdqIndex:
    """PDQ hashes ((n, 32) uint8, hex byte order) with int64 ids; range queries are exact and inclusive."""

    def __init__(self, hashes: np.ndarray, ids: np.ndarray, kind: Kind, tables: list[_Table] | None = None) -> None:
        self._hashes = hashes
        self._ids = ids
        self.kind: Kind = kind
        self._tables = tables or []
        self._flat: faiss.IndexBinaryFlat | None = None
        if kind == "flat":
            self._flat = faiss.IndexBinaryFlat(BITS)
            if len(hashes):
                self._flat.add(np.ascontiguousarray(hashes))

    @classmethod
    def build(cls, hashes: np.ndarray, ids: np.ndarray, *, kind: Kind | None = None) -> PdqIndex:
        """Index the hashes; ``kind`` None picks by size (flat up to FLAT_MAX entries, else mih)."""
        hashes, ids = _check(hashes, ids)
        kind = kind or ("flat" if len(hashes) <= FLAT_MAX else "mih")
        if kind == "flat":
            return cls(hashes, ids, "flat")
        if kind != "mih":
            raise ValueError(f"unknown PDQ index kind {kind!r}")
        if len(hashes) >= 2**31:
            raise ValueError("mih tables hold int32 rows: at most 2**31 - 1 entries")
        return cls(hashes, ids, "mih", _build_tables(hashes))

    def add(self, hashes: np.ndarray, ids: np.ndarray) -> None:
        """Append entries. Flat grows in place; mih rebuilds its tables (sets are imported rarely)."""
        hashes, ids = _check(hashes, ids)
        if not len(hashes):
            return
        self._hashes = np.concatenate([self._hashes, hashes])
        self._ids = np.concatenate([self._ids, ids])
        if self._flat is not None:
            self._flat.add(hashes)
        else:
            self._tables = _build_tables(self._hashes)

    def __len__(self) -> int:
        return len(self._ids)

    def nbytes(self) -> int:
        """Memory held by the index's arrays (the flat kind keeps a second copy inside FAISS)."""
        total = self._hashes.nbytes + self._ids.nbytes + sum(t.perm.nbytes + t.offsets.nbytes for t in self._tables)
        return total + (self._hashes.nbytes if self._flat is not None else 0)

    def range_query(self, queries: np.ndarray, threshold: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every (query row, entry id, distance) with distance <= threshold, sorted by query then id."""
        queries = _as_hashes(queries)
        if not 0 <= threshold <= BITS:
            raise ValueError(f"threshold must be within 0..{BITS}, got {threshold}")
        if not len(queries) or not len(self):
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty.copy(), np.zeros(0, dtype=np.int32)
        if self._flat is not None:
            qi, rows, dist = _flat_search(self._flat, queries, threshold)
        else:
            plan = _plan([t.chunk for t in self._tables], len(self), threshold)
            if plan is None:  # probing would cost more than a scan: scan, still exact
                qi, rows, dist = _flat_search(_flat_of(self._hashes), queries, threshold)
            else:
                qi, rows, dist = self._mih_search(queries, threshold, plan)
        ids = self._ids[rows]
        order = np.lexsort((ids, qi))
        return qi[order], ids[order], dist[order]

    def _mih_search(
        self, queries: np.ndarray, threshold: int, plan: list[int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        masks = [_flip_masks(t.chunk.width, budget) for t, budget in zip(self._tables, plan, strict=True)]
        blocks = range(0, len(queries), QUERY_BLOCK)

        def run(start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            qi, rows, dist = self._mih_block(queries[start : start + QUERY_BLOCK], threshold, masks)
            return qi + start, rows, dist

        # numpy releases the GIL in gathers and ufuncs, so threads scale across cores.
        with ThreadPoolExecutor(max_workers=max(1, min(os.cpu_count() or 1, len(blocks)))) as pool:
            parts = list(pool.map(run, blocks))
        qi, rows, dist = zip(*parts, strict=True)
        return np.concatenate(qi), np.concatenate(rows), np.concatenate(dist)

    def _mih_block(
        self, queries: np.ndarray, threshold: int, masks: list[np.ndarray | None]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for table, flips in zip(self._tables, masks, strict=True):
            if flips is None:
                continue
            probes = (_chunk_values(queries, table.chunk)[:, None] ^ flips[None, :]).ravel()
            # Both bounds of a bucket in one gather: the second read hits the cache line of the first.
            bounds = np.empty((len(probes), 2), dtype=np.int64)
            bounds[:, 0] = probes
            np.add(probes, 1, out=bounds[:, 1])
            bounds = np.take(table.offsets, bounds).astype(np.int64)
            lo = bounds[:, 0].reshape(len(queries), -1)
            counts = (bounds[:, 1] - bounds[:, 0]).reshape(len(queries), -1)
            totals = counts.sum(axis=1)
            for first, last in _groups(totals):
                found.append(self._verify(table, queries, first, last, lo, counts, totals, threshold))
        qi = np.concatenate([f[0] for f in found]) if found else np.zeros(0, dtype=np.int64)
        rows = np.concatenate([f[1] for f in found]) if found else np.zeros(0, dtype=np.int64)
        dist = np.concatenate([f[2] for f in found]) if found else np.zeros(0, dtype=np.int32)
        # An entry close in several chunks is found once per chunk: keep one.
        _, unique = np.unique(qi * len(self) + rows, return_index=True)
        return qi[unique], rows[unique], dist[unique]

    def _verify(
        self,
        table: _Table,
        queries: np.ndarray,
        first: int,
        last: int,
        lo: np.ndarray,
        counts: np.ndarray,
        totals: np.ndarray,
        threshold: int,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Candidates of queries first..last-1 from their buckets, kept when within the threshold."""
        lo, counts = lo[first:last].ravel(), counts[first:last].ravel()
        # Ragged gather: positions lo[k] .. lo[k] + counts[k] - 1 of every bucket, flat.
        shift = np.repeat(lo - (np.cumsum(counts) - counts), counts)
        rows = np.take(table.perm, np.arange(len(shift), dtype=np.int64) + shift).astype(np.int64)
        qi = np.repeat(np.arange(first, last, dtype=np.int64), totals[first:last])
        # np.take is several times faster than fancy indexing for row gathers.
        diff = np.take(self._hashes.view(np.uint64), rows, axis=0)
        np.bitwise_xor(diff, np.take(queries.view(np.uint64), qi, axis=0), out=diff)
        bits = np.bitwise_count(diff)
        dist = bits[:, 0].astype(np.int32) + bits[:, 1] + bits[:, 2] + bits[:, 3]
        keep = dist <= threshold
        return qi[keep], rows[keep], dist[keep]

    def save(self, path: Path) -> None:
        """Write to directory ``path`` (replaced if present): a sibling temporary, then a rename."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        np.save(tmp / "hashes.npy", self._hashes)
        np.save(tmp / "ids.npy", self._ids)
        chunks = [[t.chunk.start, t.chunk.width] for t in self._tables]
        if self._tables:
            np.save(tmp / "perm.npy", np.stack([t.perm for t in self._tables]))
            np.save(tmp / "offsets.npy", np.concatenate([t.offsets for t in self._tables]))
        meta = {"format": FORMAT, "kind": self.kind, "count": len(self), "chunks": chunks}
        (tmp / "meta.json").write_text(json.dumps(meta))
        if path.exists():
            shutil.rmtree(path)
        tmp.rename(path)

    @classmethod
    def load(cls, path: Path) -> PdqIndex:
        """Read a saved index. Tables are memory-mapped: loading is instant and pages are shared."""
        path = Path(path)
        meta = json.loads((path / "meta.json").read_text())
        if meta.get("format") != FORMAT or meta.get("kind") not in ("flat", "mih"):
            raise ValueError(f"{path}: not a PDQ index of format {FORMAT}")
        hashes = np.load(path / "hashes.npy", mmap_mode="r")
        ids = np.load(path / "ids.npy", mmap_mode="r")
        count = int(meta["count"])
        if hashes.shape != (count, 32) or ids.shape != (count,):
            raise ValueError(f"{path}: arrays do not match the recorded count {count}")
        if meta["kind"] == "flat":
            return cls(np.array(hashes), np.array(ids), "flat")
        chunks = [_Chunk(int(s), int(w)) for s, w in meta["chunks"]]
        perm = np.load(path / "perm.npy", mmap_mode="r")
        offsets = np.load(path / "offsets.npy", mmap_mode="r")
        if perm.shape != (len(chunks), count) or len(offsets) != sum(2**c.width + 1 for c in chunks):
            raise ValueError(f"{path}: tables do not match the recorded layout")
        tables, base = [], 0
        for i, chunk in enumerate(chunks):
            size = 2**chunk.width + 1
            tables.append(_Table(chunk, perm[i], offsets[base : base + size]))
            base += size
        return cls(hashes, ids, "mih", tables)


def _groups(totals: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive query ranges of at most CANDIDATE_CAP candidates (a single query may exceed it)."""
    if int(totals.sum()) <= CANDIDATE_CAP:
        return [(0, len(totals))]
    groups, first, held = [], 0, 0
    for i, total in enumerate(totals.tolist()):
        if held and held + total > CANDIDATE_CAP:
            groups.append((first, i))
            first, held = i, 0
        held += total
    groups.append((first, len(totals)))
    return groups


def _check(hashes: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hashes = _as_hashes(hashes)
    ids = np.ascontiguousarray(ids, dtype=np.int64)
    if ids.shape != (len(hashes),):
        raise ValueError(f"{len(hashes)} hashes but ids of shape {ids.shape}")
    return hashes, ids


def _as_hashes(hashes: np.ndarray) -> np.ndarray:
    hashes = np.ascontiguousarray(hashes, dtype=np.uint8)
    if hashes.ndim != 2 or hashes.shape[1] != 32:
        raise ValueError(f"PDQ hashes must be (n, 32) uint8, got shape {hashes.shape}")
    return hashes


def _flat_of(hashes: np.ndarray) -> faiss.IndexBinaryFlat:
    index = faiss.IndexBinaryFlat(BITS)
    index.add(np.ascontiguousarray(hashes))
    return index


def _flat_search(
    index: faiss.IndexBinaryFlat, queries: np.ndarray, threshold: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # FAISS keeps distances strictly below the radius: +1 makes the threshold inclusive.
    lims, dist, rows = index.range_search(queries, threshold + 1)
    qi = np.repeat(np.arange(len(queries), dtype=np.int64), np.diff(lims).astype(np.int64))
    return qi, rows.astype(np.int64), dist.astype(np.int32)


def _layout(n: int) -> list[_Chunk]:
    """Chunk widths for n entries: the cheapest split for DESIGN_THRESHOLD with tables of bounded size."""
    # Wider chunks mean fewer candidates but more probes and 2**width offsets; about n slots is the knee.
    max_width = min(MAX_CHUNK_BITS, max(16, math.ceil(math.log2(max(n, 2))) + 1))
    best: tuple[float, list[_Chunk]] | None = None
    for m in range(math.ceil(BITS / max_width), 33):
        chunks = _split(m)
        cost = _plan_cost(chunks, n, DESIGN_THRESHOLD)[1]
        if best is None or cost < best[0]:
            best = (cost, chunks)
    assert best is not None
    return best[1]


def _split(m: int) -> list[_Chunk]:
    base, extra = divmod(BITS, m)
    widths = [base + 1] * extra + [base] * (m - extra)
    starts = np.cumsum([0, *widths[:-1]])
    return [_Chunk(int(s), w) for s, w in zip(starts, widths, strict=True)]


def _plan_cost(chunks: list[_Chunk], n: int, threshold: int) -> tuple[list[int], float]:
    """Per-chunk flip budgets t_i with sum(t_i + 1) = threshold + 1, greedily cheapest; and their cost.

    Cost of probing t bits in a chunk of w bits: C(w, t) new probes, each a lookup plus n / 2**w
    expected candidates to verify (uniform hashes).
    """
    budgets = [-1] * len(chunks)
    total = 0.0

    def step(i: int) -> float:
        width = chunks[i].width
        return math.comb(width, budgets[i] + 1) * (1 + n / 2**width)

    for _ in range(threshold + 1):
        i = min(range(len(chunks)), key=step)
        total += step(i)
        budgets[i] += 1
    return budgets, total


def _plan(chunks: list[_Chunk], n: int, threshold: int) -> list[int] | None:
    """Budgets for a query, or None when a flat scan is cheaper (random probes cost ~16 sequential reads)."""
    budgets, cost = _plan_cost(chunks, n, threshold)
    return None if cost * 16 > n else budgets


@lru_cache(maxsize=64)
def _flip_masks(width: int, budget: int) -> np.ndarray | None:
    """Every value of ``width`` bits with at most ``budget`` bits set (None: chunk not probed)."""
    if budget < 0:
        return None
    masks = [sum(1 << b for b in bits) for k in range(budget + 1) for bits in combinations(range(width), k)]
    return np.array(masks, dtype=np.int64)


def _chunk_values(hashes: np.ndarray, chunk: _Chunk) -> np.ndarray:
    """The chunk's bits of each hash as an int64 (MSB-first, the hex order)."""
    first = chunk.start // 8
    window = np.zeros(len(hashes), dtype=np.int64)
    for k in range(4):  # a chunk of <= 25 bits at any bit offset lies within 4 bytes
        byte = first + k
        column = hashes[:, byte].astype(np.int64) if byte < 32 else 0
        window = (window << 8) | column
    shift = 32 - (chunk.start % 8) - chunk.width
    return (window >> shift) & ((1 << chunk.width) - 1)


def _build_tables(hashes: np.ndarray) -> list[_Table]:
    # argsort releases the GIL: one chunk per core.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return list(pool.map(lambda chunk: _build_table(hashes, chunk), _layout(len(hashes))))


def _build_table(hashes: np.ndarray, chunk: _Chunk) -> _Table:
    values = _chunk_values(hashes, chunk)
    perm = np.argsort(values, kind="stable").astype(np.int32)
    offsets = np.zeros(2**chunk.width + 1, dtype=np.int32)
    np.cumsum(np.bincount(values, minlength=2**chunk.width), out=offsets[1:])
    return _Table(chunk, perm, offsets)
