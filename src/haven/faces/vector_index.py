"""Nearest-neighbour search over face embeddings, behind a seam.

``ExactIndex`` is brute force with numpy (one matrix product per block of queries): exact, no build
cost, and fast enough for the sizes a unit holds (bench/faces.py measures it). ``HnswIndex`` (faiss
HNSW, approximate) takes over above ``EXACT_LIMIT`` faces.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

EXACT_LIMIT = 200_000
"""Above this many faces the approximate index is used (exact numpy stays under ~50 ms a query below it)."""


class FaceIndex(Protocol):
    def search(self, queries: np.ndarray, k: int, max_distance: float) -> list[list[tuple[int, float]]]:
        """Per query: up to k (row, Euclidean distance) within max_distance, nearest first."""
        ...


class ExactIndex:
    def __init__(self, vectors: np.ndarray) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.norms = np.einsum("ij,ij->i", self.vectors, self.vectors)

    def search(self, queries: np.ndarray, k: int, max_distance: float) -> list[list[tuple[int, float]]]:
        results: list[list[tuple[int, float]]] = []
        if len(self.vectors) == 0:
            return [[] for _ in range(len(queries))]
        for start in range(0, len(queries), 256):
            block = np.asarray(queries[start : start + 256], dtype=np.float32)
            squared = self.distances_squared(block)
            for row in squared:
                results.append(_nearest(row, k, max_distance))
        return results

    def distances_squared(self, queries: np.ndarray) -> np.ndarray:
        q_norms = np.einsum("ij,ij->i", queries, queries)
        squared = q_norms[:, None] + self.norms[None, :] - 2.0 * (queries @ self.vectors.T)
        return np.maximum(squared, 0.0, out=squared)


class HnswIndex:
    def __init__(self, vectors: np.ndarray, neighbours: int = 32) -> None:
        import faiss

        self.index = faiss.IndexHNSWFlat(vectors.shape[1], neighbours)
        self.index.hnsw.efConstruction = 80
        self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def search(self, queries: np.ndarray, k: int, max_distance: float) -> list[list[tuple[int, float]]]:
        self.index.hnsw.efSearch = max(64, 2 * k)
        squared, rows = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        limit = max_distance * max_distance
        return [
            [(int(r), float(np.sqrt(d))) for r, d in zip(row_ids, row_d, strict=True) if r >= 0 and d <= limit]
            for row_ids, row_d in zip(rows, squared, strict=True)
        ]


def build_index(vectors: np.ndarray) -> FaceIndex:
    return ExactIndex(vectors) if len(vectors) <= EXACT_LIMIT else HnswIndex(vectors)


def _nearest(squared: np.ndarray, k: int, max_distance: float) -> list[tuple[int, float]]:
    within = np.flatnonzero(squared <= max_distance * max_distance)
    if len(within) > k:
        within = within[np.argpartition(squared[within], k - 1)[:k]]
    order = within[np.argsort(squared[within], kind="stable")]
    return [(int(i), float(np.sqrt(squared[i]))) for i in order]
