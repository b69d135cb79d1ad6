"""Faces to and from store rows: embeddings as float32 bytes, landmarks as JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven.faces.model import DetectedFace
from haven.store.bulk import insert_ignore
from haven.store.models import Content, Face, FaceScan


def to_bytes(embedding: np.ndarray) -> bytes:
    return np.asarray(embedding, dtype="<f4").tobytes()


def from_bytes(blobs: Sequence[bytes], dimensions: int | None = None) -> np.ndarray:
    """Stack stored embeddings into an (n, d) float32 array."""
    if not blobs:
        return np.zeros((0, dimensions or 0), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), -1).astype(np.float32)


@dataclass(frozen=True)
class ScanResult:
    content_id: int
    faces: list[DetectedFace]
    error: str | None


def save_scans(session: Session, model: str, results: Sequence[ScanResult]) -> None:
    """Faces and the scan markers of a batch, in the caller's transaction (a redone batch adds nothing)."""
    face_rows: list[dict[str, Any]] = []
    for result in results:
        for seq, face in enumerate(result.faces):
            x, y, w, h = face.box
            face_rows.append(
                {
                    "content_id": result.content_id,
                    "model": model,
                    "seq": seq,
                    "x": x,
                    "y": y,
                    "w": w,
                    "h": h,
                    "landmarks": json.dumps([list(p) for p in face.landmarks]),
                    "quality": face.quality,
                    "detector_score": face.detector_score,
                    "embedding": to_bytes(face.embedding),
                }
            )
    insert_ignore(session, Face, face_rows, ("content_id", "model", "seq"))
    scan_rows = [{"content_id": r.content_id, "model": model, "faces": len(r.faces), "error": r.error} for r in results]
    insert_ignore(session, FaceScan, scan_rows, ("content_id", "model"))


@dataclass
class CaseFaces:
    """Every face of one case and model, in face id order."""

    ids: np.ndarray
    identity_ids: list[int | None]
    embeddings: np.ndarray


def load_case_faces(session: Session, case_id: int, model: str) -> CaseFaces:
    rows = session.execute(
        select(Face.id, Face.identity_id, Face.embedding)
        .join(Content, Content.id == Face.content_id)
        .where(Content.case_id == case_id, Face.model == model)
        .order_by(Face.id)
    ).all()
    return CaseFaces(
        ids=np.array([r[0] for r in rows], dtype=np.int64),
        identity_ids=[r[1] for r in rows],
        embeddings=from_bytes([r[2] for r in rows]),
    )
