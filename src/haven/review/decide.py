"""Categorizing contents in review, with propagation to near-duplicate stacks, and undo.

One review action (a key press on one or many selected tiles) is one ``DecisionBatch``: the person's
decisions on the chosen contents (source "user") and the decisions propagated to the other members of
their stacks in the same case (source "propagated", ``source_detail`` = the decided content's sha256).
Undo reverts the person's last action that is not undone yet by recording new decisions that restore
each content's previous category; history is never deleted. A content somebody has re-categorized since
is left alone. Both are audit records on the case chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, aliased

from haven import audit
from haven.cases import case_chain
from haven.errors import HavenError
from haven.review.categories import PERSON_SOURCES, scheme_categories, uncategorized_code
from haven.store.current_category import refresh_categories
from haven.store.models import Content, Decision, DecisionBatch, NearGroupMember, utcnow

MAX_CONTENTS_PER_ACTION = 1000
ID_CHUNK = 500


class NothingToUndoError(HavenError):
    def __init__(self) -> None:
        super().__init__("nothing to undo")


class CaseLike(Protocol):
    """What decisions need of a case: ``haven.store.models.Case`` and the web's CaseAccess both fit."""

    @property
    def reference(self) -> str: ...

    @property
    def scheme(self) -> str: ...


@dataclass
class DecisionResult:
    batch_id: int | None
    """None when nothing changed (every content already had this category from a person)."""
    category: str
    decided: list[str] = field(default_factory=list)
    """sha256 of the contents decided directly."""
    propagated: int = 0
    unchanged: int = 0


@dataclass
class UndoResult:
    batch_id: int
    undone_batch_id: int
    category: str | None
    restored: int = 0
    kept: int = 0
    """Contents re-categorized by somebody since: left as they are."""
    categories: dict[int, str] = field(default_factory=dict)
    """content id -> the category it has again."""


def case_id_of(case: CaseLike) -> int:
    found = getattr(case, "case_id", None)
    return int(found if found is not None else case.id)  # type: ignore[attr-defined]


def decide(session: Session, case: CaseLike, content_ids: Iterable[int], category: str, user: str) -> DecisionResult:
    case_id = case_id_of(case)
    codes = [c.code for c in scheme_categories(session, case.scheme)]
    if category not in codes:
        raise HavenError(
            f"'{category}' is not a category of scheme {case.scheme} (choose from: {', '.join(codes) or 'none'})"
        )
    wanted = list(dict.fromkeys(content_ids))
    if not wanted:
        raise HavenError("nothing selected to categorize")
    if len(wanted) > MAX_CONTENTS_PER_ACTION:
        raise HavenError(f"too many contents in one action ({len(wanted)}; at most {MAX_CONTENTS_PER_ACTION})")
    state = _current_state(session, case_id, wanted)
    missing = [cid for cid in wanted if cid not in state]
    if missing:
        raise HavenError(f"{len(missing)} of the selected contents are not in case {case.reference}")

    origin = {cid: state[cid][0] for cid in wanted}  # content -> sha256 of the content the decision came from
    members = _stack_members(session, case_id, wanted)
    extra = [cid for cid in members if cid not in origin]
    state.update(_current_state(session, case_id, extra))
    for member, decided_from in members.items():
        origin.setdefault(member, state[decided_from][0])

    def changes(cid: int) -> bool:
        _, current, source = state[cid]
        return not (current == category and source in PERSON_SOURCES)

    direct = [cid for cid in wanted if changes(cid)]
    propagated = [cid for cid in origin if cid not in set(wanted) and changes(cid)]
    result = DecisionResult(None, category, decided=[state[cid][0] for cid in wanted])
    result.unchanged = len(origin) - len(direct) - len(propagated)
    result.propagated = len(propagated)
    if not direct and not propagated:
        return result

    batch = DecisionBatch(case_id=case_id, user_name=user, action="decide", category=category)
    session.add(batch)
    session.flush()
    result.batch_id = batch.id
    now = utcnow()
    rows = [_row(cid, category, "user", None, user, now, batch.id) for cid in direct]
    rows += [_row(cid, category, "propagated", origin[cid], user, now, batch.id) for cid in propagated]
    session.execute(insert(Decision), rows)
    _set_current(session, direct, category, "user")
    _set_current(session, propagated, category, "propagated")
    audit.record(
        session,
        chain=case_chain(case.reference),
        user=user,
        action="review.decide",
        detail={
            "batch": batch.id,
            "category": category,
            "contents": result.decided,
            "decided": len(direct),
            "propagated": len(propagated),
            "unchanged": result.unchanged,
        },
    )
    return result


def undo(session: Session, case: CaseLike, user: str) -> UndoResult:
    """Revert ``user``'s last categorization in the case that is not undone yet."""
    case_id = case_id_of(case)
    undone = select(DecisionBatch.undoes_id).where(DecisionBatch.undoes_id.is_not(None))
    last = session.scalar(
        select(DecisionBatch)
        .where(
            DecisionBatch.case_id == case_id,
            DecisionBatch.user_name == user,
            DecisionBatch.action == "decide",
            DecisionBatch.id.not_in(undone.where(DecisionBatch.case_id == case_id)),
        )
        .order_by(DecisionBatch.id.desc())
        .limit(1)
    )
    if last is None:
        raise NothingToUndoError
    batch_decisions = session.scalars(select(Decision).where(Decision.batch_id == last.id)).all()
    content_ids = [d.content_id for d in batch_decisions]
    current = {cid: cat for cid, (_, cat, _) in _current_state(session, case_id, content_ids).items()}
    history = _history(session, content_ids)

    batch = DecisionBatch(case_id=case_id, user_name=user, action="undo", category=None, undoes_id=last.id)
    session.add(batch)
    session.flush()
    result = UndoResult(batch.id, last.id, last.category)
    empty_code = uncategorized_code(scheme_categories(session, case.scheme)) or ""
    now = utcnow()
    rows: list[dict[str, object]] = []
    restored: list[int] = []
    for decision in batch_decisions:
        if current.get(decision.content_id) != decision.category:
            result.kept += 1
            continue
        before = _previous(history[decision.content_id], decision)
        if before is None:  # never categorized before: back to "not yet reviewed", not a person's decision
            rows.append(_row(decision.content_id, empty_code, "undo", None, user, now, batch.id))
        else:
            rows.append(
                _row(decision.content_id, before.category, before.source, before.source_detail, user, now, batch.id)
            )
        restored.append(decision.content_id)
        result.categories[decision.content_id] = before.category if before is not None else empty_code
    result.restored = len(restored)
    if rows:
        session.execute(insert(Decision), rows)
        refresh_categories(session, restored)
    audit.record(
        session,
        chain=case_chain(case.reference),
        user=user,
        action="review.undo",
        detail={
            "batch": batch.id,
            "undoes": last.id,
            "category": last.category,
            "restored": result.restored,
            "kept": result.kept,
        },
    )
    return result


def content_ids_for(session: Session, case_id: int, sha256s: Sequence[str]) -> dict[str, int]:
    """sha256 -> content id, for the case's contents among ``sha256s``."""
    found: dict[str, int] = {}
    for start in range(0, len(sha256s), ID_CHUNK):
        chunk = list(sha256s[start : start + ID_CHUNK])
        rows = session.execute(
            select(Content.sha256, Content.id).where(Content.case_id == case_id, Content.sha256.in_(chunk))
        )
        found.update(rows.all())
    return found


def _row(
    content_id: int, category: str, source: str, detail: str | None, user: str, at: object, batch_id: int
) -> dict[str, object]:
    return {
        "content_id": content_id,
        "category": category,
        "source": source,
        "source_detail": detail,
        "decided_by": user,
        "decided_at": at,
        "batch_id": batch_id,
    }


_State = dict[int, tuple[str, str | None, str | None]]


def _current_state(session: Session, case_id: int, content_ids: list[int]) -> _State:
    """content id -> (sha256, current category, its source), for the case's contents only."""
    state: _State = {}
    for start in range(0, len(content_ids), ID_CHUNK):
        chunk = content_ids[start : start + ID_CHUNK]
        for cid, sha, category, source in session.execute(
            select(Content.id, Content.sha256, Content.current_category, Content.category_source).where(
                Content.case_id == case_id, Content.id.in_(chunk)
            )
        ):
            state[cid] = (sha, category, source)
    return state


def _stack_members(session: Session, case_id: int, content_ids: list[int]) -> dict[int, int]:
    """Other members (in this case) of the stacks of ``content_ids`` -> the chosen content they follow."""
    mine, other = aliased(NearGroupMember), aliased(NearGroupMember)
    members: dict[int, int] = {}
    for start in range(0, len(content_ids), ID_CHUNK):
        chunk = content_ids[start : start + ID_CHUNK]
        for chosen, member in session.execute(
            select(mine.content_id, other.content_id)
            .join(other, other.group_id == mine.group_id)
            .join(Content, Content.id == other.content_id)
            .where(mine.content_id.in_(chunk), other.content_id != mine.content_id, Content.case_id == case_id)
            .order_by(mine.content_id, other.content_id)
        ):
            members.setdefault(member, chosen)
    return members


def _set_current(session: Session, content_ids: list[int], category: str, source: str) -> None:
    for start in range(0, len(content_ids), ID_CHUNK):
        session.execute(
            update(Content)
            .where(Content.id.in_(content_ids[start : start + ID_CHUNK]))
            .values(current_category=category, category_source=source)
            .execution_options(synchronize_session=False)
        )


def _history(session: Session, content_ids: list[int]) -> dict[int, list[Decision]]:
    """Every decision of each content, oldest first (the order that makes the last one current)."""
    history: dict[int, list[Decision]] = {cid: [] for cid in content_ids}
    for start in range(0, len(content_ids), ID_CHUNK):
        chunk = content_ids[start : start + ID_CHUNK]
        for decision in session.scalars(
            select(Decision).where(Decision.content_id.in_(chunk)).order_by(Decision.decided_at, Decision.id)
        ):
            history[decision.content_id].append(decision)
    return history


def _previous(history: list[Decision], decision: Decision) -> Decision | None:
    """The decision that was current just before ``decision`` was recorded."""
    before = None
    for earlier in history:
        if earlier.id == decision.id:
            return before
        before = earlier
    return before
