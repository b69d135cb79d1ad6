"""PDQ matching: every content within the Hamming threshold of a known PDQ hash.

Exact (brute-force) search with FAISS's binary flat index: SIMD popcount over all entries, so the
result is identical to a brute-force scan. Issue 3 replaces this with a persisted, scalable index.
"""

from __future__ import annotations

import faiss
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven.matching.exact import count_case_matches
from haven.store.bulk import insert_ignore
from haven.store.models import Content, HashEntry, HashSet, Match

QUERY_BATCH = 4096


def hex_to_bytes(hashes: list[str]) -> np.ndarray:
    """64-hex PDQ strings -> (n, 32) uint8, the byte order FAISS binary indexes expect."""
    if not hashes:
        return np.zeros((0, 32), dtype=np.uint8)
    return np.frombuffer(bytes.fromhex("".join(hashes)), dtype=np.uint8).reshape(-1, 32)


def match_pdq(session: Session, case_id: int, *, threshold: int, min_quality: int) -> int:
    entries = session.execute(
        select(HashEntry.id, HashEntry.set_id, HashEntry.pdq)
        .join(HashSet, HashSet.id == HashEntry.set_id)
        .where(HashEntry.pdq.is_not(None), HashSet.kind == "known")
    ).all()
    if not entries:
        return 0
    contents = session.execute(
        select(Content.id, Content.pdq).where(
            Content.case_id == case_id, Content.pdq.is_not(None), Content.pdq_quality >= min_quality
        )
    ).all()
    if not contents:
        return 0
    index = faiss.IndexBinaryFlat(256)
    index.add(hex_to_bytes([pdq for _, _, pdq in entries]))
    rows = []
    for start in range(0, len(contents), QUERY_BATCH):
        batch = contents[start : start + QUERY_BATCH]
        # FAISS range search keeps distances strictly below the radius: +1 makes the threshold inclusive.
        lims, distances, labels = index.range_search(hex_to_bytes([pdq for _, pdq in batch]), threshold + 1)
        for qi, (content_id, _) in enumerate(batch):
            for pos in range(lims[qi], lims[qi + 1]):
                entry_id, set_id, _ = entries[labels[pos]]
                rows.append(
                    {
                        "content_id": content_id,
                        "entry_id": entry_id,
                        "set_id": set_id,
                        "method": "pdq",
                        "distance": int(distances[pos]),
                    }
                )
    before = count_case_matches(session, case_id)
    insert_ignore(session, Match, rows, ("content_id", "entry_id", "method"))
    return count_case_matches(session, case_id) - before
