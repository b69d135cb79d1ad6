"""Scene features to and from store rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from haven.scenes.features import VERSION, SceneFeatures, from_bytes
from haven.store.bulk import insert_ignore
from haven.store.models import SceneFeatures as SceneFeaturesRow


@dataclass(frozen=True)
class ScanResult:
    content_id: int
    features: SceneFeatures | None
    error: str | None


def save_scans(session: Session, results: Sequence[ScanResult]) -> None:
    """A batch of rows in the caller's transaction (a redone batch adds nothing)."""
    rows: list[dict[str, Any]] = []
    for result in results:
        found = result.features
        rows.append(
            {
                "content_id": result.content_id,
                "version": VERSION,
                "width": found.width if found else 0,
                "height": found.height if found else 0,
                "scale": found.scale if found else 1.0,
                "keypoints": len(found) if found else 0,
                "points": found.points_bytes() if found else b"",
                "descriptors": found.descriptors_bytes() if found else b"",
                "error": result.error,
            }
        )
    insert_ignore(session, SceneFeaturesRow, rows, ("content_id", "version"))


def load_features(session: Session, row_ids: Sequence[int]) -> dict[int, SceneFeatures]:
    """Stored features by row id (rows of other versions or with errors are never indexed)."""
    found: dict[int, SceneFeatures] = {}
    ids = list(row_ids)
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(
                SceneFeaturesRow.id,
                SceneFeaturesRow.points,
                SceneFeaturesRow.descriptors,
                SceneFeaturesRow.width,
                SceneFeaturesRow.height,
                SceneFeaturesRow.scale,
            ).where(SceneFeaturesRow.id.in_(ids[start : start + 500]))
        )
        for row_id, points, descriptors, width, height, scale in rows:
            found[row_id] = from_bytes(points, descriptors, width, height, scale)
    return found
