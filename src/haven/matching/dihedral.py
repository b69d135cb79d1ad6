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

from haven.matching.pdq import hex_to_bytes, known_pdq_index
from haven.matching.pdq_index import PdqIndex
from haven.matching.rows import case_pdq_contents, insert_matches, set_ids_of
from haven.signals.pdq import OTHER_DIHEDRAL_NAMES
from haven.store.models import Content, Match

METHOD = "pdq-dihedral"
CONTENT_BATCH = 2048
"""Contents per query batch (7 hashes each): bounds memory on very large cases."""


def match_pdq_dihedral(
    session: Session,
    case_id: int,
    *,
    threshold: int,
    min_quality: int,
    index_dir: Path | None = None,
    index: PdqIndex | None = None,
) -> int:
    """Add ``pdq-dihedral`` matches for the case's contents; returns how many rows were added.

    ``index`` is the known-PDQ index ``match_pdq`` used (else it is loaded from ``index_dir``, or built).
    """
    contents = case_pdq_contents(session, case_id, Content.pdq_dihedral, min_quality)
    if not contents:
        return 0
    if index is None:
        index, _ = known_pdq_index(session, index_dir)
    if not len(index):
        return 0
    nearest: dict[tuple[int, int], int] = {}
    for start in range(0, len(contents), CONTENT_BATCH):
        nearest.update(_nearest(index, contents[start : start + CONTENT_BATCH], threshold))
    straight = _plain_pdq_pairs(session, case_id)
    found = {pair: distance for pair, distance in nearest.items() if pair not in straight}
    set_of = set_ids_of(session, sorted({entry_id for _, entry_id in found}))
    rows = [
        {"content_id": content_id, "entry_id": entry_id, "set_id": set_of[entry_id], "method": METHOD, "distance": d}
        for (content_id, entry_id), d in found.items()
        if entry_id in set_of  # an entry deleted since a saved index was built
    ]
    return insert_matches(session, case_id, rows)


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
