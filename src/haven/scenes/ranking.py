"""Rank indexed pictures against a query: bag-of-words shortlist, then geometric re-ranking.

Shared by ``haven search-scene`` (pictures loaded from the store) and bench/scenes.py (from memory).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from haven.scenes.features import SceneFeatures, root_sift
from haven.scenes.index import BowIndex
from haven.scenes.verify import inliers

SHORTLIST = 50
"""Pictures checked geometrically per query (~1-2 ms each): the rest keep their bag-of-words order."""


@dataclass(frozen=True)
class Candidate:
    row: int
    """Position in the index."""
    key: int
    similarity: float
    """Bag-of-words cosine, 0..1."""
    inliers: int
    """Matches one homography explains; -1: not checked (outside the shortlist)."""


def rank(
    index: BowIndex,
    query: SceneFeatures,
    load: Callable[[list[int]], dict[int, SceneFeatures]],
    *,
    groups: Iterable[int] | None = None,
    exclude_keys: Iterable[int] = (),
    shortlist: int = SHORTLIST,
) -> list[Candidate]:
    """Every eligible picture, best first: shortlisted by similarity, re-ranked by inliers.

    ``load`` gives the stored features of index keys; ``groups`` limits the search (cases); the
    query's own picture is left out through ``exclude_keys``.
    """
    if len(query) == 0 or len(index) == 0:
        return []
    query_root = root_sift(query.descriptors)
    similarity = index.scores(index.histogram(index.words(query_root)))
    eligible = np.ones(len(index), dtype=bool)
    if groups is not None:
        eligible &= np.isin(index.groups, np.fromiter(groups, dtype=np.int64))
    excluded = np.fromiter(exclude_keys, dtype=np.int64)
    if len(excluded):
        eligible &= ~np.isin(index.keys, excluded)
    rows = np.flatnonzero(eligible)
    order = rows[np.argsort(-similarity[rows], kind="stable")]
    top = order[:shortlist]
    features = load([int(index.keys[r]) for r in top])
    checked = [
        Candidate(
            int(r),
            int(index.keys[r]),
            float(similarity[r]),
            _inliers(query, features.get(int(index.keys[r])), query_root),
        )
        for r in top
    ]
    checked.sort(key=lambda c: (-c.inliers, -c.similarity))
    rest = [Candidate(int(r), int(index.keys[r]), float(similarity[r]), -1) for r in order[shortlist:]]
    return checked + rest


def _inliers(query: SceneFeatures, candidate: SceneFeatures | None, query_root: np.ndarray) -> int:
    return 0 if candidate is None or len(candidate) == 0 else inliers(query, candidate, query_root)
