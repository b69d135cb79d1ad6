"""`haven search-face`: has this face been seen before, in any case?

The query is a picture of the case (by SHA-256 or evidence path; its stored faces) or a picture file
on disk (analysed now, not stored). Every stored face of the same model, across all cases, is searched
through ``faces.vector_index``; results are ranked by embedding distance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven.case_items import find_content
from haven.cases import get_case
from haven.errors import HavenError
from haven.evidence.reading import describe_os_error, read_whole
from haven.faces.analysis import analyse_picture
from haven.faces.model import FaceModel
from haven.faces.rows import from_bytes
from haven.faces.vector_index import build_index
from haven.store.models import Case, Content, Face, FaceIdentity, FaceScan


@dataclass
class QueryFace:
    box: list[int]
    quality: float
    embedding: np.ndarray
    face_id: int | None = None


@dataclass
class SearchResult:
    item: str
    query_faces: list[QueryFace]
    matches: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "query_faces": [{"box": f.box, "quality": f.quality} for f in self.query_faces],
            "matches": self.matches,
        }


def search_face(
    session: Session, ref: str, item: str, model: FaceModel, *, limit: int = 50, max_distance: float | None = None
) -> SearchResult:
    case = get_case(session, ref)
    queries = _query_faces(session, case, item, model)
    result = SearchResult(item, queries)
    if not queries:
        return result
    threshold = model.threshold if max_distance is None else max_distance
    ids, embeddings = _all_faces(session, model.name)
    index = build_index(embeddings)
    hits = index.search(np.stack([q.embedding for q in queries]), limit + 1, threshold)
    best: dict[int, tuple[float, int]] = {}  # face id -> (distance, query number)
    for number, (query, found) in enumerate(zip(queries, hits, strict=True)):
        for row, dist in found:
            face_id = int(ids[row])
            if face_id != query.face_id and (face_id not in best or dist < best[face_id][0]):
                best[face_id] = (dist, number)
    ranked = sorted(best.items(), key=lambda kv: (kv[1][0], kv[0]))[:limit]
    details = _describe(session, [face_id for face_id, _ in ranked])
    result.matches = [
        {"query_face": number, "distance": round(dist, 4), **details[face_id]} for face_id, (dist, number) in ranked
    ]
    return result


def _all_faces(session: Session, model: str) -> tuple[np.ndarray, np.ndarray]:
    rows = session.execute(select(Face.id, Face.embedding).where(Face.model == model).order_by(Face.id)).all()
    return np.array([r[0] for r in rows], dtype=np.int64), from_bytes([r[1] for r in rows])


def _query_faces(session: Session, case: Case, item: str, model: FaceModel) -> list[QueryFace]:
    content = find_content(session, case, item)
    if content is not None:
        scanned = session.scalar(
            select(FaceScan).where(FaceScan.content_id == content.id, FaceScan.model == model.name)
        )
        if scanned is None:
            raise HavenError(f"{content.sha256[:16]} has not been analysed: run haven analyze {case.reference} --faces")
        rows = session.scalars(
            select(Face).where(Face.content_id == content.id, Face.model == model.name).order_by(Face.seq)
        )
        return [QueryFace([f.x, f.y, f.w, f.h], f.quality, from_bytes([f.embedding])[0], face_id=f.id) for f in rows]
    path = Path(item)
    if path.is_file():
        try:
            data = read_whole(str(path))
        except OSError as exc:
            raise HavenError(f"cannot read {item}: {describe_os_error(exc)}") from exc
        found = analyse_picture(data, model, 2 * getattr(getattr(model, "settings", None), "max_side", 1600))
        if found.error:
            raise HavenError(f"{item}: {found.error}")
        return [QueryFace(list(f.box), f.quality, f.embedding) for f in found.faces]
    raise HavenError(f"'{item}' is not a picture of case '{case.reference}' (SHA-256 or evidence path) nor a file")


def _describe(session: Session, face_ids: list[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for start in range(0, len(face_ids), 500):
        rows = session.execute(
            select(
                Face.id,
                Case.reference,
                Content.sha256,
                Face.x,
                Face.y,
                Face.w,
                Face.h,
                Face.quality,
                FaceIdentity.id,
                FaceIdentity.name,
            )
            .join(Content, Content.id == Face.content_id)
            .join(Case, Case.id == Content.case_id)
            .outerjoin(FaceIdentity, FaceIdentity.id == Face.identity_id)
            .where(Face.id.in_(face_ids[start : start + 500]))
        )
        for face_id, case_ref, sha256, x, y, w, h, quality, identity_id, name in rows:
            out[face_id] = {
                "case": case_ref,
                "sha256": sha256,
                "box": [x, y, w, h],
                "quality": quality,
                "identity": {"id": identity_id, "name": name},
            }
    return out
