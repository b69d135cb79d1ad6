"""The bag-of-words index over every case's stored scene features, kept under ``$HAVEN_HOME/indexes``.

Loaded and brought up to date on each use: pictures analysed since it was saved are quantised and added,
pictures whose rows are gone (a case deleted) are dropped, and it is saved again. The vocabulary is
learnt again (and every picture re-quantised) only when the index is missing or damaged, or when the
collection has grown to more than ``RETRAIN_GROWTH`` times what the vocabulary was learnt on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven.scenes.features import VERSION
from haven.scenes.index import BowIndex, add_pictures, train_vocabulary, training_sample, vocabulary_size
from haven.store.models import Content
from haven.store.models import SceneFeatures as SceneFeaturesRow

INDEX_VERSION = 1
"""Part of the file name: bump when what the index holds or how it is built changes."""
RETRAIN_GROWTH = 4
TRAINING_PICTURES = 2000
"""Pictures the vocabulary is learnt from (a seeded sample when there are more)."""
BATCH = 500


def index_path(index_dir: Path) -> Path:
    return Path(index_dir) / f"scenes-{VERSION}-{INDEX_VERSION}.npz"


def scene_index(session: Session, index_dir: Path | None) -> BowIndex | None:
    """The up-to-date index (None: nothing indexable yet). Saved into ``index_dir`` when given."""
    current = session.execute(
        select(SceneFeaturesRow.id, Content.case_id)
        .join(Content, Content.id == SceneFeaturesRow.content_id)
        .where(SceneFeaturesRow.version == VERSION, SceneFeaturesRow.keypoints > 0)
        .order_by(SceneFeaturesRow.id)
    ).all()
    ids = np.array([r[0] for r in current], dtype=np.int64)
    case_of = {int(r[0]): int(r[1]) for r in current}
    index = _load(index_dir)
    changed = False
    if index is not None:
        # A key counts only with the same case: SQLite may reuse the ids of deleted rows.
        present = np.array([case_of.get(int(k)) == int(g) for k, g in zip(index.keys, index.groups, strict=True)], bool)
        if not present.all():
            index.keep(present)
            changed = True
        if len(ids) > RETRAIN_GROWTH * max(len(index), 1):
            index = None
    if index is None:
        index = _train(session, ids)
        if index is None:
            return None
        changed = True
    new = ids[~np.isin(ids, index.keys)].tolist()
    for start in range(0, len(new), BATCH):
        part = new[start : start + BATCH]
        descriptors = _descriptors(session, part)
        add_pictures(index, part, [case_of[i] for i in part], [descriptors[i] for i in part])
        changed = True
    if changed and index_dir is not None:
        index.save(index_path(index_dir))
    return index


def _load(index_dir: Path | None) -> BowIndex | None:
    if index_dir is None or not index_path(index_dir).is_file():
        return None
    try:
        return BowIndex.load(index_path(index_dir))
    except (OSError, ValueError, KeyError):
        return None  # damaged or from another version: learnt again and replaced


def _train(session: Session, ids: np.ndarray) -> BowIndex | None:
    if not len(ids):
        return None
    rng = np.random.default_rng(INDEX_VERSION)
    chosen = np.sort(rng.choice(ids, size=min(len(ids), TRAINING_PICTURES), replace=False)).tolist()
    sets = list(_descriptors(session, chosen).values())
    sample = training_sample(sets)
    if len(sample) < 16:
        return None
    estimated = sum(len(d) for d in sets) * len(ids) // max(len(chosen), 1)
    return BowIndex(train_vocabulary(sample, vocabulary_size(estimated)))


def _descriptors(session: Session, row_ids: list[int]) -> dict[int, np.ndarray]:
    found: dict[int, np.ndarray] = {}
    for start in range(0, len(row_ids), BATCH):
        rows = session.execute(
            select(SceneFeaturesRow.id, SceneFeaturesRow.descriptors).where(
                SceneFeaturesRow.id.in_(row_ids[start : start + BATCH])
            )
        )
        for row_id, blob in rows:
            found[int(row_id)] = np.frombuffer(blob, dtype=np.uint8).reshape(-1, 128)
    return found
