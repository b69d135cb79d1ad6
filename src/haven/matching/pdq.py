"""PDQ matching: every content within the Hamming threshold of a known PDQ hash.

The known hashes are searched with a PdqIndex (exact and inclusive, identical to brute force). Given
an ``index_dir`` the index is saved there under a fingerprint of the known PDQ entries, so matching
another case against unchanged sets loads it instead of rebuilding; a set imported, removed or
re-kinded changes the fingerprint, and the stale index is deleted.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haven.matching.pdq_index import PdqIndex
from haven.matching.rows import case_pdq_contents, insert_matches, set_ids_of
from haven.store.models import Content, HashEntry, HashSet

INDEX_VERSION = 1
"""Part of the fingerprint: bump when what an index holds or how it is built changes."""
LOAD_BATCH = 50_000
KNOWN_PDQ = (HashSet.kind == "known", HashEntry.pdq.is_not(None))
"""What is indexed: PDQ entries of known sets (known-good sets are matched exactly only)."""


def hex_to_bytes(hashes: list[str]) -> np.ndarray:
    """64-hex PDQ strings -> (n, 32) uint8, the byte order FAISS binary indexes expect."""
    if not hashes:
        return np.zeros((0, 32), dtype=np.uint8)
    return np.frombuffer(bytes.fromhex("".join(hashes)), dtype=np.uint8).reshape(-1, 32)


def match_pdq(
    session: Session,
    case_id: int,
    *,
    threshold: int,
    min_quality: int,
    index_dir: Path | None = None,
    index: PdqIndex | None = None,
) -> int:
    """``pdq`` matches for the case; ``index`` (the known-PDQ index, if the caller has it) saves a load."""
    contents = case_pdq_contents(session, case_id, Content.pdq, min_quality)
    if not contents:
        return 0
    if index is None:
        index, _ = known_pdq_index(session, index_dir)
    if not len(index):
        return 0
    query_rows, entry_ids, distances = index.range_query(hex_to_bytes([pdq for _, pdq in contents]), threshold)
    set_of = set_ids_of(session, np.unique(entry_ids).tolist())
    rows = [
        {"content_id": contents[q][0], "entry_id": e, "set_id": set_of[e], "method": "pdq", "distance": d}
        for q, e, d in zip(query_rows.tolist(), entry_ids.tolist(), distances.tolist(), strict=True)
        if e in set_of  # an entry deleted since the index was built
    ]
    return insert_matches(session, case_id, rows)


def known_pdq_index(session: Session, index_dir: Path | None) -> tuple[PdqIndex, bool]:
    """The index of every PDQ entry of a known set, and whether it was built now (False: loaded)."""
    sets = _known_sets(session)
    if index_dir is None:
        return _build(session)[0], True
    path = Path(index_dir) / f"pdq-{_fingerprint(sets)}"
    if path.is_dir():
        try:
            return PdqIndex.load(path), False
        except (OSError, ValueError, KeyError):
            pass  # damaged or from another version: rebuilt and replaced below
    index, summary = _build(session)
    # Sets imported while loading would make the index differ from its name: then it is not kept.
    if summary == _summary(sets):
        path.parent.mkdir(parents=True, exist_ok=True)
        index.save(path)
        for stale in path.parent.glob("pdq-*"):
            if stale != path:
                shutil.rmtree(stale, ignore_errors=True)
    return index, True


def _known_sets(session: Session) -> list[list[int | str]]:
    """Per known set with PDQ entries: id, file digest, and count / min / max / sum of entry ids.

    Entries are never edited in place, so a set's content is fixed by its file and its id range; the
    id aggregates also catch SQLite reusing ids after a set is removed and another imported.
    """
    rows = session.execute(
        select(
            HashSet.id,
            HashSet.file_sha256,
            func.count(HashEntry.id),
            func.min(HashEntry.id),
            func.max(HashEntry.id),
            func.sum(HashEntry.id),
        )
        .join(HashEntry, HashEntry.set_id == HashSet.id)
        .where(*KNOWN_PDQ)
        .group_by(HashSet.id, HashSet.file_sha256)
        .order_by(HashSet.id)
    ).all()
    return [[int(i), str(digest), int(n), int(lo), int(hi), int(total)] for i, digest, n, lo, hi, total in rows]


def _fingerprint(sets: list[list[int | str]]) -> str:
    return hashlib.sha256(json.dumps({"version": INDEX_VERSION, "sets": sets}).encode()).hexdigest()[:32]


def _summary(sets: list[list[int | str]]) -> tuple[int, int]:
    return sum(int(s[2]) for s in sets), sum(int(s[5]) for s in sets)


def _build(session: Session) -> tuple[PdqIndex, tuple[int, int]]:
    """Stream the known PDQ entries into a new index; also (count, sum of ids) of what was read."""
    statement = (
        select(HashEntry.id, HashEntry.pdq)
        .join(HashSet, HashSet.id == HashEntry.set_id)
        .where(*KNOWN_PDQ)
        .order_by(HashEntry.id)
        .execution_options(yield_per=LOAD_BATCH)
    )
    hashes, ids = [], []
    for part in session.execute(statement).partitions():
        pairs = [(entry_id, pdq) for entry_id, pdq in part if pdq is not None]  # always, by the query
        ids.append(np.array([entry_id for entry_id, _ in pairs], dtype=np.int64))
        hashes.append(hex_to_bytes([pdq for _, pdq in pairs]))
    all_ids = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
    all_hashes = np.concatenate(hashes) if hashes else np.zeros((0, 32), dtype=np.uint8)
    return PdqIndex.build(all_hashes, all_ids), (len(all_ids), int(all_ids.sum()))
