"""Analyst actions on identities: name, merge, split, move. Each locks the identities it touches (so
re-runs keep them), is kept in ``face_action`` and audit-logged on the case chain."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from haven import audit
from haven.cases import case_chain, get_case
from haven.errors import HavenError
from haven.store.models import Content, Face, FaceAction, FaceIdentity


@dataclass(frozen=True)
class ActionResult:
    identity_id: int
    faces: int
    """Faces in the resulting identity."""


def name_identity(session: Session, ref: str, identity_id: int, name: str, *, model: str, user: str) -> ActionResult:
    name = name.strip()
    if not name:
        raise HavenError("a name cannot be empty")
    identity = _identity(session, ref, identity_id, model)
    previous = identity.name
    identity.name, identity.analyst_named, identity.locked = name, True, True
    _record(session, ref, identity, "name", user, {"name": name, "previous": previous})
    return ActionResult(identity.id, _count(session, identity.id))


def merge_identities(session: Session, ref: str, keep_id: int, other_id: int, *, model: str, user: str) -> ActionResult:
    """Move every face of ``other_id`` into ``keep_id`` and delete ``other_id``."""
    if keep_id == other_id:
        raise HavenError("cannot merge an identity with itself")
    keep = _identity(session, ref, keep_id, model)
    other = _identity(session, ref, other_id, model)
    moved = _faces_of(session, other.id)
    session.execute(update(Face).where(Face.identity_id == other.id).values(identity_id=keep.id))
    if keep.name is None and other.name is not None:
        keep.name, keep.analyst_named = other.name, other.analyst_named
    keep.locked = True
    detail = {"merged": other.id, "merged_name": other.name, "faces_moved": _describe(session, moved)}
    session.delete(other)
    _record(session, ref, keep, "merge", user, detail)
    return ActionResult(keep.id, _count(session, keep.id))


def split_identity(
    session: Session, ref: str, identity_id: int, face_refs: list[str], *, model: str, user: str
) -> ActionResult:
    """Move the given faces of an identity into a new identity; both are locked."""
    source = _identity(session, ref, identity_id, model)
    face_ids = resolve_faces(session, source, face_refs)
    if len(face_ids) == _count(session, source.id):
        raise HavenError("a split must leave at least one face in the identity")
    new = FaceIdentity(case_id=source.case_id, model=model, created_by=user, locked=True)
    session.add(new)
    session.flush()
    session.execute(update(Face).where(Face.id.in_(face_ids)).values(identity_id=new.id))
    source.locked = True
    _record(session, ref, source, "split", user, {"new_identity": new.id, "faces": _describe(session, face_ids)})
    return ActionResult(new.id, len(face_ids))


def move_faces(
    session: Session, ref: str, target_id: int, face_refs: list[str], *, model: str, user: str
) -> ActionResult:
    """Move faces (from any identities of the case) into ``target_id``; every identity touched is locked."""
    target = _identity(session, ref, target_id, model)
    face_ids = _resolve_in_case(session, target, face_refs)
    sources = set(session.scalars(select(Face.identity_id).where(Face.id.in_(face_ids)))) - {target.id, None}
    session.execute(update(Face).where(Face.id.in_(face_ids)).values(identity_id=target.id))
    target.locked = True
    if sources:
        session.execute(update(FaceIdentity).where(FaceIdentity.id.in_(sources)).values(locked=True))
    detail = {"faces": _describe(session, face_ids), "from": sorted(i for i in sources if i is not None)}
    _record(session, ref, target, "move", user, detail)
    return ActionResult(target.id, _count(session, target.id))


def resolve_faces(session: Session, identity: FaceIdentity, face_refs: list[str]) -> list[int]:
    """Face ids of ``identity`` named by face id or by picture SHA-256 (a prefix of 8+ hex digits)."""
    return _resolve(session, identity, face_refs, within_identity=True)


def _resolve_in_case(session: Session, identity: FaceIdentity, face_refs: list[str]) -> list[int]:
    return _resolve(session, identity, face_refs, within_identity=False)


def _resolve(session: Session, identity: FaceIdentity, face_refs: list[str], *, within_identity: bool) -> list[int]:
    refs = [r.strip() for r in face_refs if r.strip()]
    if not refs:
        raise HavenError("name at least one face (face id or picture SHA-256)")
    query = (
        select(Face.id, Face.identity_id, Content.sha256)
        .join(Content, Content.id == Face.content_id)
        .where(Content.case_id == identity.case_id, Face.model == identity.model)
    )
    if within_identity:
        query = query.where(Face.identity_id == identity.id)
    found: list[int] = []
    for ref in refs:
        if ref.isdigit():
            ids = [row.id for row in session.execute(query.where(Face.id == int(ref)))]
        elif len(ref) >= 8 and all(c in "0123456789abcdefABCDEF" for c in ref):
            ids = [row.id for row in session.execute(query.where(Content.sha256.startswith(ref.lower())))]
        else:
            raise HavenError(f"'{ref}' is neither a face id nor a picture SHA-256 (8+ hex digits)")
        if not ids:
            where = f"identity {identity.id}" if within_identity else "this case"
            raise HavenError(f"no face '{ref}' in {where}")
        found.extend(i for i in ids if i not in found)
    return found


def _identity(session: Session, ref: str, identity_id: int, model: str) -> FaceIdentity:
    case = get_case(session, ref)
    identity = session.get(FaceIdentity, identity_id)
    if identity is None or identity.case_id != case.id or identity.model != model:
        raise HavenError(f"no identity {identity_id} in case '{ref}' (list them with: haven faces {ref})")
    return identity


def _faces_of(session: Session, identity_id: int) -> list[int]:
    return list(session.scalars(select(Face.id).where(Face.identity_id == identity_id).order_by(Face.id)))


def _count(session: Session, identity_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Face).where(Face.identity_id == identity_id)) or 0


def _describe(session: Session, face_ids: list[int]) -> list[dict[str, object]]:
    """Faces by picture and box, so the record still reads right if face ids are ever renumbered."""
    rows = session.execute(
        select(Face.id, Content.sha256, Face.x, Face.y, Face.w, Face.h)
        .join(Content, Content.id == Face.content_id)
        .where(Face.id.in_(face_ids))
        .order_by(Face.id)
    )
    return [{"face": r[0], "sha256": r[1], "box": [r[2], r[3], r[4], r[5]]} for r in rows]


def _record(session: Session, ref: str, identity: FaceIdentity, action: str, user: str, detail: dict) -> None:
    detail = {"identity": identity.id, "model": identity.model, **detail}
    session.add(
        FaceAction(
            case_id=identity.case_id, action=action, identity_id=identity.id, detail=audit.canonical(detail), user=user
        )
    )
    session.flush()
    audit.record(session, chain=case_chain(ref), user=user, action=f"faces.{action}", detail=detail)
