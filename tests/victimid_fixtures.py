"""Face identities planted in a web test case, so identity pages and actions have something to act on
without running the face model (the faces stage itself is tested in test_faces_store).

The rows are what the faces stage writes: faces of the case's pictures (box, quality, a 128-d embedding)
grouped into identities of the configured model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import func, select

from haven.faces.model import model_name
from haven.faces.rows import to_bytes
from haven.store.models import Case, Content, Face, FaceIdentity, FaceScan

if TYPE_CHECKING:  # web_fixtures imports this module for its POST examples
    from web_fixtures import WebCase


def plant_identities(web: WebCase, faces_per_identity: list[int], *, ref: str | None = None) -> list[int]:
    """New identities in the case, the i-th with ``faces_per_identity[i]`` faces on the case's pictures
    (round robin); returns their ids."""
    model = model_name(web.config.faces)
    made: list[int] = []
    with web.store.session() as session:
        case_id = session.scalar(select(Case.id).where(Case.reference == (ref or web.case_ref)))
        pictures = list(
            session.scalars(
                select(Content.id).where(Content.case_id == case_id, Content.kind == "image").order_by(Content.id)
            )
        )
        turn = 0
        for count in faces_per_identity:
            identity = FaceIdentity(case_id=case_id, model=model, created_by="faces-stage")
            session.add(identity)
            session.flush()
            for number in range(count):
                content_id = pictures[turn % len(pictures)]
                turn += 1
                seq = session.scalar(
                    select(func.coalesce(func.max(Face.seq), -1) + 1).where(
                        Face.content_id == content_id, Face.model == model
                    )
                )
                vector = np.full(128, 0.01 * (identity.id % 50) + 0.001 * number, dtype=np.float32)
                session.add(
                    Face(
                        content_id=content_id,
                        model=model,
                        seq=seq,
                        x=10 + number,
                        y=20,
                        w=40,
                        h=40,
                        landmarks="[]",
                        quality=round(0.9 - 0.01 * number, 3),
                        detector_score=1.5,
                        embedding=to_bytes(vector),
                        identity_id=identity.id,
                    )
                )
                session.flush()
                scanned = select(FaceScan.id).where(FaceScan.content_id == content_id, FaceScan.model == model)
                if session.scalar(scanned) is None:  # the picture counts as analysed, as the stage marks it
                    session.add(FaceScan(content_id=content_id, model=model, faces=1))
                    session.flush()
            made.append(identity.id)
    return made


def faces_of(web: WebCase, identity_id: int) -> list[int]:
    with web.store.session() as session:
        return list(session.scalars(select(Face.id).where(Face.identity_id == identity_id).order_by(Face.id)))


# ---------------------------------------------------------------- POST examples (web_fixtures.POST_EXAMPLES)
# Each plants fresh identities, so the action succeeds however often the matrix repeats it.


def name_example(web: WebCase) -> tuple[str, dict[str, object]]:
    (identity,) = plant_identities(web, [1])
    return "form", {"identity": str(identity), "name": "Person A"}


def merge_example(web: WebCase) -> tuple[str, dict[str, object]]:
    keep, other = plant_identities(web, [1, 1])
    return "form", {"keep": str(keep), "other": str(other)}


def split_example(web: WebCase) -> tuple[str, dict[str, object]]:
    (identity,) = plant_identities(web, [2])
    return "form", {"identity": str(identity), "face": [str(faces_of(web, identity)[-1])]}
