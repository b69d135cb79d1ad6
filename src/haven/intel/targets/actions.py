"""Analyst actions on targets: name, note, merge, split. Each locks the targets it touches (so linking
re-runs keep them), is kept in ``target_action`` and audit-logged (``intel.targets.<action>``) on the
case chain. The caller has checked the user may see the case (``haven.intel.access.intel_case``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from haven import audit
from haven.errors import HavenError
from haven.intel import access
from haven.store.models import Case, Identifier, Target, TargetAction, TargetMember


@dataclass(frozen=True)
class ActionResult:
    target_id: int
    identifiers: int
    """Identifiers in the resulting target."""


def name_target(session: Session, case: Case, target_id: int, name: str, *, user: str) -> ActionResult:
    name = name.strip()
    if not name:
        raise HavenError("a name cannot be empty")
    target = _target(session, case, target_id)
    previous = target.name
    target.name, target.locked = name, True
    _record(session, case, target, "name", user, {"name": name, "previous": previous})
    return ActionResult(target.id, _count(session, target.id))


def note_target(session: Session, case: Case, target_id: int, text: str, *, user: str) -> ActionResult:
    """Set the target's notes (the previous notes stay in the action log and the audit chain)."""
    target = _target(session, case, target_id)
    previous = target.notes
    target.notes, target.locked = (text.strip() or None), True
    _record(session, case, target, "note", user, {"notes": target.notes, "previous": previous})
    return ActionResult(target.id, _count(session, target.id))


def merge_targets(session: Session, case: Case, keep_id: int, other_id: int, *, user: str) -> ActionResult:
    """Move every identifier of ``other_id`` into ``keep_id`` and delete ``other_id``: the same person."""
    if keep_id == other_id:
        raise HavenError("cannot merge a target with itself")
    keep = _target(session, case, keep_id)
    other = _target(session, case, other_id)
    moved = _identifiers_of(session, other.id)
    session.execute(update(TargetMember).where(TargetMember.target_id == other.id).values(target_id=keep.id))
    if keep.name is None:
        keep.name = other.name
    if other.notes:
        keep.notes = f"{keep.notes}\n{other.notes}" if keep.notes else other.notes
    keep.locked = True
    detail = {"merged": other.id, "merged_name": other.name, "identifiers_moved": moved}
    session.delete(other)
    _record(session, case, keep, "merge", user, detail)
    return ActionResult(keep.id, _count(session, keep.id))


def split_target(session: Session, case: Case, target_id: int, refs: list[str], *, user: str) -> ActionResult:
    """Move the named identifiers of a target into a new target: not the same person. Both are locked."""
    source = _target(session, case, target_id)
    member_ids = resolve_identifiers(session, source, refs)
    if len(member_ids) == _count(session, source.id):
        raise HavenError("a split must leave at least one identifier in the target")
    new = Target(case_id=case.id, created_by=user, locked=True)
    session.add(new)
    session.flush()
    session.execute(
        update(TargetMember)
        .where(TargetMember.target_id == source.id, TargetMember.identifier_id.in_(member_ids))
        .values(target_id=new.id, reason="analyst")
    )
    source.locked = True
    moved = _identifiers_of(session, new.id)
    _record(session, case, source, "split", user, {"new_target": new.id, "identifiers": moved})
    return ActionResult(new.id, len(member_ids))


def resolve_identifiers(session: Session, target: Target, refs: list[str]) -> list[int]:
    """Identifier ids of ``target`` named by id, by normalized value, by ``type:normalized`` or by value."""
    wanted = [r.strip() for r in refs if r.strip()]
    if not wanted:
        raise HavenError("name at least one identifier (id, or its value)")
    rows = session.execute(
        select(Identifier.id, Identifier.type, Identifier.normalized, Identifier.value)
        .join(TargetMember, TargetMember.identifier_id == Identifier.id)
        .where(TargetMember.target_id == target.id)
    ).all()
    found: list[int] = []
    for ref in wanted:
        hits = [
            row.id
            for row in rows
            if ref in (str(row.id), row.normalized, row.value, f"{row.type}:{row.normalized}")
            or ref.lower() == row.normalized
        ]
        if not hits:
            raise HavenError(f"no identifier '{ref}' in target {target.id}")
        found.extend(h for h in hits if h not in found)
    return found


def _target(session: Session, case: Case, target_id: int) -> Target:
    target = session.get(Target, target_id)
    if target is None or target.case_id != case.id:
        raise HavenError(
            f"no target {target_id} in case '{case.reference}' (list them with: haven intel targets {case.reference})"
        )
    return target


def _identifiers_of(session: Session, target_id: int) -> list[dict[str, Any]]:
    """Identifiers by type and normalized value, so the record reads right without the identifier table."""
    rows = session.execute(
        select(Identifier.id, Identifier.type, Identifier.normalized)
        .join(TargetMember, TargetMember.identifier_id == Identifier.id)
        .where(TargetMember.target_id == target_id)
        .order_by(Identifier.type, Identifier.normalized)
    )
    return [{"identifier": r[0], "type": r[1], "normalized": r[2]} for r in rows]


def _count(session: Session, target_id: int) -> int:
    query = select(func.count()).select_from(TargetMember).where(TargetMember.target_id == target_id)
    return session.scalar(query) or 0


def _record(session: Session, case: Case, target: Target, action: str, user: str, detail: dict[str, Any]) -> None:
    detail = {"target": target.id, **detail}
    session.add(
        TargetAction(case_id=case.id, action=action, target_id=target.id, detail=audit.canonical(detail), user=user)
    )
    session.flush()
    access.record(session, reference=case.reference, user=user, action=f"targets.{action}", detail=detail)
