"""The shortlist stage: a bag of visual words with tf-idf weights, over every indexed picture.

Each RootSIFT descriptor is quantised to its nearest visual word (k-means centroids learnt with faiss on
a sample of the indexed descriptors); a picture becomes a sparse histogram of words. A query is scored
against every picture at once by one sparse product (cosine of square-rooted, idf-weighted histograms:
the square root damps repeated patterns such as tiles or fabric). Only the best few are then checked
geometrically (``verify``), so a query never compares keypoints with every picture.

Word counts are kept raw so pictures can be added and removed without re-quantising the others; the idf
weights are recomputed from them when the index changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse

TRAINING_SAMPLE = 100_000
"""Descriptors the vocabulary is learnt from: plenty for 2,048 words, quick to cluster."""
MAX_WORDS = 2048
DESCRIPTORS_PER_WORD = 40
"""Small collections get fewer words (k-means needs ~40 points a centroid)."""
SEED = 20261123


def vocabulary_size(descriptors: int) -> int:
    return int(min(MAX_WORDS, max(16, descriptors // DESCRIPTORS_PER_WORD)))


def train_vocabulary(sample: np.ndarray, words: int) -> np.ndarray:
    """(words, 128) float32 centroids from RootSIFT ``sample`` (deterministic for a given sample)."""
    import faiss

    words = min(words, len(sample))
    kmeans = faiss.Kmeans(sample.shape[1], words, niter=10, seed=SEED, max_points_per_centroid=256, verbose=False)
    kmeans.train(np.ascontiguousarray(sample, dtype=np.float32))
    return np.asarray(kmeans.centroids, dtype=np.float32)


@dataclass
class BowIndex:
    vocabulary: np.ndarray
    keys: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    """One per picture: the caller's key (the stored feature row id)."""
    groups: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    """One per picture: what queries filter on (the case id)."""
    counts: sparse.csr_matrix | None = None
    _weights: sparse.csr_matrix | None = None
    _idf: np.ndarray | None = None
    _quantiser: object | None = None

    def __post_init__(self) -> None:
        if self.counts is None:
            self.counts = sparse.csr_matrix((0, len(self.vocabulary)), dtype=np.float32)

    def __len__(self) -> int:
        return len(self.keys)

    def words(self, root_descriptors: np.ndarray) -> np.ndarray:
        """The nearest visual word of each descriptor."""
        if len(root_descriptors) == 0:
            return np.zeros(0, np.int64)
        if self._quantiser is None:
            import faiss

            quantiser = faiss.IndexFlatL2(self.vocabulary.shape[1])
            quantiser.add(self.vocabulary)
            self._quantiser = quantiser
        _, nearest = self._quantiser.search(np.ascontiguousarray(root_descriptors, dtype=np.float32), 1)  # type: ignore[attr-defined]
        return nearest[:, 0].astype(np.int64)

    def histogram(self, words: np.ndarray) -> np.ndarray:
        return np.bincount(words, minlength=len(self.vocabulary)).astype(np.float32)

    def add(self, keys: np.ndarray, groups: np.ndarray, histograms: list[np.ndarray]) -> None:
        if not len(keys):
            return
        rows = sparse.csr_matrix(np.stack(histograms)) if histograms else None
        self.counts = sparse.vstack([self.counts, rows], format="csr")
        self.keys = np.concatenate([self.keys, np.asarray(keys, np.int64)])
        self.groups = np.concatenate([self.groups, np.asarray(groups, np.int64)])
        self._weights = None

    def keep(self, mask: np.ndarray) -> None:
        """Drop the pictures where ``mask`` is False (their contents or cases were deleted)."""
        assert self.counts is not None
        self.counts = self.counts[mask]
        self.keys, self.groups = self.keys[mask], self.groups[mask]
        self._weights = None

    def scores(self, histogram: np.ndarray) -> np.ndarray:
        """Cosine similarity of the query histogram with every indexed picture, in index order."""
        weights, idf = self._weighted()
        query = np.sqrt(histogram) * idf
        norm = float(np.linalg.norm(query))
        if norm == 0.0 or weights.shape[0] == 0:
            return np.zeros(weights.shape[0], np.float32)
        return np.asarray(weights @ (query / norm), dtype=np.float32).ravel()

    def _weighted(self) -> tuple[sparse.csr_matrix, np.ndarray]:
        if self._weights is None or self._idf is None:
            assert self.counts is not None
            pictures = max(1, self.counts.shape[0])
            frequency = np.bincount(self.counts.indices, minlength=self.counts.shape[1])
            self._idf = np.log(pictures / np.maximum(frequency, 1)).astype(np.float32)
            weighted = self.counts.sqrt().multiply(self._idf[None, :]).tocsr()
            norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
            norms[norms == 0] = 1.0
            self._weights = sparse.diags(1.0 / norms).dot(weighted).tocsr().astype(np.float32)
        return self._weights, self._idf

    def save(self, path: Path) -> None:
        """Into ``path`` (an .npz file), written whole then renamed."""
        assert self.counts is not None
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        with partial.open("wb") as stream:
            np.savez(
                stream,
                vocabulary=self.vocabulary,
                keys=self.keys,
                groups=self.groups,
                data=self.counts.data,
                indices=self.counts.indices,
                indptr=self.counts.indptr,
            )
        partial.replace(path)

    @classmethod
    def load(cls, path: Path) -> BowIndex:
        with np.load(path, allow_pickle=False) as saved:
            vocabulary = saved["vocabulary"]
            counts = sparse.csr_matrix(
                (saved["data"], saved["indices"], saved["indptr"]), shape=(len(saved["keys"]), len(vocabulary))
            )
            return cls(vocabulary, saved["keys"], saved["groups"], counts)


def training_sample(descriptor_sets: list[np.ndarray], limit: int = TRAINING_SAMPLE) -> np.ndarray:
    """Up to ``limit`` RootSIFT descriptors drawn evenly (seeded) from the given uint8 sets."""
    from haven.scenes.features import root_sift

    total = sum(len(d) for d in descriptor_sets)
    if total == 0:
        return np.zeros((0, 128), np.float32)
    rng = np.random.default_rng(SEED)
    fraction = min(1.0, limit / total)
    parts = [d[rng.random(len(d)) < fraction] for d in descriptor_sets if len(d)]
    return root_sift(np.concatenate(parts)) if parts else np.zeros((0, 128), np.float32)


def build_index(keys: list[int], groups: list[int], descriptor_sets: list[np.ndarray]) -> BowIndex | None:
    """A new index (vocabulary learnt from these pictures); None when there are too few descriptors."""
    sample = training_sample(descriptor_sets)
    if len(sample) < 16:
        return None
    index = BowIndex(train_vocabulary(sample, vocabulary_size(sum(len(d) for d in descriptor_sets))))
    add_pictures(index, keys, groups, descriptor_sets)
    return index


def add_pictures(index: BowIndex, keys: list[int], groups: list[int], descriptor_sets: list[np.ndarray]) -> None:
    from haven.scenes.features import root_sift

    histograms = [index.histogram(index.words(root_sift(d))) for d in descriptor_sets]
    index.add(np.array(keys, np.int64), np.array(groups, np.int64), histograms)
