"""Faces into identities within a case, keeping every identity an analyst touched.

Average-linkage agglomerative clustering cut at the model's clustering threshold: it needs no number
of people in advance (nobody knows it in a seized collection) and, unlike Chinese whispers or single
linkage, one borderline pair does not chain two people together (bench/faces.py compares them on LFW).
Neighbours come from a blockwise exact search capped at ``MAX_NEIGHBOURS`` per face.

Re-runs: faces of locked identities stay where the analyst put them; other faces join the nearest
locked identity when its centroid is within the threshold, and the rest are clustered afresh. A new
cluster keeps the id of the automatic identity most of its faces had before, so ids stay stable.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import dlib
import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial.distance import pdist
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from haven.faces.rows import load_case_faces
from haven.faces.vector_index import ExactIndex
from haven.store.models import Face, FaceIdentity

MAX_NEIGHBOURS = 100
LINKAGE_LIMIT = 6000
"""Largest component clustered by average linkage (its distance matrix: ~140 MB at this size)."""


@dataclass
class ClusterSummary:
    faces: int = 0
    identities: int = 0
    locked_identities: int = 0
    joined_locked: int = 0


def cluster_embeddings(embeddings: np.ndarray, threshold: float) -> list[int]:
    """A cluster label per embedding (labels are 0..k-1, in order of first appearance).

    Average linkage cut at ``threshold``, computed per connected component of the graph of faces closer
    than the threshold: an average-linkage cluster never spans two components, so this equals one global
    linkage while memory stays per component. A component too large for linkage falls back to Chinese
    whispers on its edges.
    """
    count = len(embeddings)
    if count == 0:
        return []
    pairs = _neighbour_pairs(embeddings, threshold)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(count, count))
    _, component = connected_components(graph, directed=False)
    labels = np.empty(count, dtype=np.int64)
    next_label = 0
    for members in _groups(component):
        if len(members) == 1:
            local = np.zeros(1, dtype=np.int64)
        elif len(members) <= LINKAGE_LIMIT:
            tree = linkage(pdist(embeddings[members].astype(np.float64)), "average")
            local = fcluster(tree, threshold, "distance") - 1
        else:
            local = _whispers(members, pairs)
        labels[members] = local + next_label
        next_label += int(local.max()) + 1
    relabel: dict[int, int] = {}
    return [relabel.setdefault(int(label), len(relabel)) for label in labels]


def _neighbour_pairs(embeddings: np.ndarray, threshold: float) -> np.ndarray:
    """(i, j) with i < j and distance below the threshold, at most MAX_NEIGHBOURS per face."""
    index = ExactIndex(embeddings)
    limit = threshold * threshold
    found: list[np.ndarray] = [np.zeros((0, 2), dtype=np.int64)]
    for start in range(0, len(embeddings), 1024):
        squared = index.distances_squared(index.vectors[start : start + 1024])
        for offset, row in enumerate(squared):
            i = start + offset
            near = np.flatnonzero(row < limit)
            if len(near) > MAX_NEIGHBOURS:
                near = near[np.argpartition(row[near], MAX_NEIGHBOURS - 1)[:MAX_NEIGHBOURS]]
            near = near[near > i]
            found.append(np.column_stack([np.full(len(near), i), near]))
    return np.concatenate(found)


def _groups(component: np.ndarray) -> list[np.ndarray]:
    order = np.argsort(component, kind="stable")
    bounds = np.flatnonzero(np.diff(component[order])) + 1
    return sorted(np.split(order, bounds), key=lambda members: int(members[0]))


def _whispers(members: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    position = {int(m): k for k, m in enumerate(members)}
    edges = [(k, k) for k in range(len(members))]
    edges += [(position[int(i)], position[int(j)]) for i, j in pairs if int(i) in position]
    return np.asarray(dlib.chinese_whispers(edges), dtype=np.int64)


def recluster_case(session: Session, case_id: int, model: str, threshold: float, user: str) -> ClusterSummary:
    faces = load_case_faces(session, case_id, model)
    query = select(FaceIdentity).where(FaceIdentity.case_id == case_id, FaceIdentity.model == model)
    identities = {identity.id: identity for identity in session.scalars(query)}
    locked_set = {i for i, identity in identities.items() if identity.locked}
    summary = ClusterSummary(faces=len(faces.ids), locked_identities=len(locked_set))
    assignment: dict[int, int] = {}  # face row -> identity id
    members: dict[int, list[int]] = {}
    for row, identity_id in enumerate(faces.identity_ids):
        if identity_id in locked_set:
            members.setdefault(identity_id, []).append(row)
    free = [r for r, identity_id in enumerate(faces.identity_ids) if identity_id not in locked_set]

    if members and free:
        targets = sorted(members)
        centroids = np.stack([faces.embeddings[members[t]].mean(axis=0) for t in targets])
        index = ExactIndex(centroids)
        for start in range(0, len(free), 4096):  # blocks: free faces x centroids stays small
            rows = free[start : start + 4096]
            squared = index.distances_squared(faces.embeddings[rows])
            nearest = squared.argmin(axis=1)
            for row, best, dist in zip(rows, nearest, squared[np.arange(len(rows)), nearest], strict=True):
                if dist < threshold * threshold:
                    assignment[row] = targets[int(best)]
        summary.joined_locked = len(assignment)
        free = [r for r in free if r not in assignment]

    labels = cluster_embeddings(faces.embeddings[free], threshold)
    clusters: dict[int, list[int]] = {}
    for row, label in zip(free, labels, strict=True):
        clusters.setdefault(label, []).append(row)
    # Largest clusters pick first among the automatic identities their faces had before.
    reusable = {i for i in identities if i not in locked_set}
    for rows in sorted(clusters.values(), key=len, reverse=True):
        previous: Counter[int] = Counter(
            identity
            for identity in (faces.identity_ids[r] for r in rows)
            if identity is not None and identity in reusable
        )
        if previous:
            identity_id = previous.most_common(1)[0][0]
            reusable.discard(identity_id)
        else:
            identity = FaceIdentity(case_id=case_id, model=model, created_by=user)
            session.add(identity)
            session.flush()
            identity_id = identity.id
        for row in rows:
            assignment[row] = identity_id

    _write_assignment(session, faces.ids, faces.identity_ids, assignment)
    if reusable:
        session.execute(delete(FaceIdentity).where(FaceIdentity.id.in_(sorted(reusable))))
    summary.identities = len(set(assignment.values()) | set(members))
    return summary


def _write_assignment(
    session: Session, face_ids: np.ndarray, before: list[int | None], assignment: dict[int, int]
) -> None:
    changed: dict[int, list[int]] = {}
    for row, identity_id in assignment.items():
        if before[row] != identity_id:
            changed.setdefault(identity_id, []).append(int(face_ids[row]))
    for identity_id, ids in changed.items():
        for start in range(0, len(ids), 500):
            session.execute(update(Face).where(Face.id.in_(ids[start : start + 500])).values(identity_id=identity_id))
