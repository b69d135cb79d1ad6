"""A case's identities as plain data: the `haven faces --json` shape."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from haven.cases import get_case
from haven.store.models import Content, Face, FaceIdentity


def list_identities(session: Session, ref: str, model: str, *, with_face_ids: bool = False) -> list[dict[str, Any]]:
    """Identities, largest first: ``{id, name, faces: [{sha256, box: [x, y, w, h], quality}]}``.

    Faces within an identity come best quality first. ``with_face_ids`` adds each face's ``face_id``
    (for the table view, where the analyst picks faces to split or move); the JSON shape stays exact.
    """
    case = get_case(session, ref)
    faces_of: dict[int, list[dict[str, Any]]] = {}
    identities: dict[int, dict[str, Any]] = {
        i.id: {"id": i.id, "name": i.name, "faces": faces_of.setdefault(i.id, [])}
        for i in session.scalars(
            select(FaceIdentity).where(FaceIdentity.case_id == case.id, FaceIdentity.model == model)
        )
    }
    rows = session.execute(
        select(Face.identity_id, Face.id, Content.sha256, Face.x, Face.y, Face.w, Face.h, Face.quality)
        .join(Content, Content.id == Face.content_id)
        .where(Content.case_id == case.id, Face.model == model, Face.identity_id.is_not(None))
        .order_by(Face.quality.desc(), Face.id)
    )
    for identity_id, face_id, sha256, x, y, w, h, quality in rows:
        face: dict[str, Any] = {"sha256": sha256, "box": [x, y, w, h], "quality": quality}
        if with_face_ids:
            face["face_id"] = face_id
        if identity_id in faces_of:
            faces_of[identity_id].append(face)
    found = [i for i in identities.values() if i["faces"]]
    return sorted(found, key=lambda i: (-len(i["faces"]), i["id"]))
