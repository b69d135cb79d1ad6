"""PDQ dihedral matching: rotated or mirrored copies of known pictures.

A picture turned 90 degrees or mirrored is 100+ bits from its original's PDQ, far outside any
threshold. Ingest stores each image's 7 other dihedral hashes (``Content.pdq_dihedral``, in
``signals.pdq.OTHER_DIHEDRAL_NAMES`` order); if the content is a transform T of a known picture,
the hash for T's inverse lands within the threshold of the known hash. So the 7 hashes are
queried against the known sets' plain PDQ hashes and a hit becomes a ``pdq-dihedral`` match whose
distance is the smallest over the 7.

Contents already matching an entry by plain ``pdq`` are left alone for that entry: a straight
match is the better evidence, and a symmetric picture would otherwise match both ways.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from haven.matching.exact import count_case_matches
from haven.matching.pdq import hex_to_bytes, known_pdq_index
from haven.matching.pdq_index import PdqIndex
from haven.signals.pdq import OTHER_DIHEDRAL_NAMES
from haven.store.bulk import insert_ignore
from haven.store.models import Content, HashEntry, Match

METHOD = "pdq-dihedral"
CONTENT_BATCH = 2048
"""Contents per query batch (7 hashes each): bounds memory on very large cases."""
ID_BATCH = 10_000


def match_pdq_dihedral(
    session: Session, case_id: int, *, threshold: int, min_quality: int, index_dir: Path | None = None
) -> int:
    """Add ``pdq-dihedral`` matches for the case's contents; returns how many rows were added.

    ``index_dir`` is ``match_pdq``'s: run after it, the known-PDQ index it saved is loaded, not rebuilt.
    """
    contents = [
        (content_id, joined)
        for content_id, joined in session.execute(
            select(Content.id, Content.pdq_dihedral).where(
                Content.case_id == case_id, Content.pdq_dihedral.is_not(None), Content.pdq_quality >= min_quality
            )
        )
        if joined is not None  # always, by the query; narrows the type
    ]
    if not contents:
        return 0
    index, _ = known_pdq_index(session, index_dir)
    if not len(index):
        return 0
    nearest: dict[tuple[int, int], int] = {}
    for start in range(0, len(contents), CONTENT_BATCH):
        nearest.update(_nearest(index, contents[start : start + CONTENT_BATCH], threshold))
    straight = _plain_pdq_pairs(session, case_id)
    found = {pair: distance for pair, distance in nearest.items() if pair not in straight}
    set_of = _set_ids(session, sorted({entry_id for _, entry_id in found}))
    rows = [
        {"content_id": content_id, "entry_id": entry_id, "set_id": set_of[entry_id], "method": METHOD, "distance": d}
        for (content_id, entry_id), d in found.items()
        if entry_id in set_of  # an entry deleted since a saved index was built
    ]
    before = count_case_matches(session, case_id)
    insert_ignore(session, Match, rows, ("content_id", "entry_id", "method"))
    return count_case_matches(session, case_id) - before


def _nearest(index: PdqIndex, contents: list[tuple[int, str]], threshold: int) -> dict[tuple[int, int], int]:
    """((content id, entry id), smallest distance over the content's 7 hashes) for every hit."""
    per_content = len(OTHER_DIHEDRAL_NAMES)
    hashes = []
    for _, joined in contents:
        parts = joined.split(",")
        if len(parts) != per_content:  # a malformed row must not shift every later content's hashes
            raise ValueError(f"content pdq_dihedral holds {len(parts)} hashes, expected {per_content}")
        hashes.extend(parts)
    query_rows, entry_ids, distances = index.range_query(hex_to_bytes(hashes), threshold)
    best: dict[tuple[int, int], int] = {}
    for row, entry_id, distance in zip(query_rows.tolist(), entry_ids.tolist(), distances.tolist(), strict=True):
        key = (contents[row // per_content][0], entry_id)
        best[key] = min(distance, best.get(key, distance))
    return best


def _plain_pdq_pairs(session: Session, case_id: int) -> set[tuple[int, int]]:
    found = session.execute(
        select(Match.content_id, Match.entry_id)
        .join(Content, Content.id == Match.content_id)
        .where(Content.case_id == case_id, Match.method == "pdq")
    )
    return {(content_id, entry_id) for content_id, entry_id in found}


def _set_ids(session: Session, entry_ids: list[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for start in range(0, len(entry_ids), ID_BATCH):
        rows = session.execute(
            select(HashEntry.id, HashEntry.set_id).where(HashEntry.id.in_(entry_ids[start : start + ID_BATCH]))
        )
        found.update((entry_id, set_id) for entry_id, set_id in rows)
    return found
