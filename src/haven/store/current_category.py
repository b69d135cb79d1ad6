"""Each content's current category, kept on the content row.

The current category of a content is its latest decision (ties: the later insert). Ranking the whole
decision history on every grid page, report and export would not stay fast at 100,000 items, so the
category and source of that latest decision are copied onto ``content`` (``current_category``,
``category_source``). Decisions added through the ORM refresh it on flush (the listener below), so no
caller can forget; bulk Core inserts and deletes call ``refresh_categories`` / ``refresh_case_categories``
themselves in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import ColumnElement, ScalarSelect, Table, bindparam, event, select, update
from sqlalchemy.orm import Session, UOWTransaction

from haven.store.models import Content, Decision

ID_CHUNK = 500
_CONTENT = cast(Table, Content.__table__)
"""The table itself: an executemany UPDATE keyed by a bound id (the ORM would want primary-key dicts)."""


def is_categorized() -> ColumnElement[bool]:
    """Contents that have a current category to report or share: an undo back to "not yet reviewed"
    (source ``undo``) leaves none."""
    return Content.current_category.is_not(None) & (Content.category_source != "undo")


def refresh_categories(session: Session, content_ids: Iterable[int]) -> None:
    """Copy each content's latest decision (category, source) onto the content row."""
    ids = sorted(set(content_ids))
    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start : start + ID_CHUNK]
        latest: dict[int, tuple[str | None, str | None]] = dict.fromkeys(chunk, (None, None))
        # Ascending: the last row seen for a content is its current decision.
        for content_id, category, source in session.execute(
            select(Decision.content_id, Decision.category, Decision.source)
            .where(Decision.content_id.in_(chunk))
            .order_by(Decision.content_id, Decision.decided_at, Decision.id)
        ):
            latest[content_id] = (category, source)
        session.execute(
            update(_CONTENT)
            .where(_CONTENT.c.id == bindparam("cid"))
            .values(current_category=bindparam("cat"), category_source=bindparam("src")),
            [{"cid": cid, "cat": cat, "src": src} for cid, (cat, src) in latest.items()],
        )


def refresh_case_categories(session: Session, case_id: int) -> None:
    """Recompute the current category of every content of a case (after bulk decision changes)."""

    def latest(column: str) -> ScalarSelect[Any]:
        return (
            select(getattr(Decision, column))
            .where(Decision.content_id == Content.id)
            .order_by(Decision.decided_at.desc(), Decision.id.desc())
            .limit(1)
            .scalar_subquery()
        )

    session.execute(
        update(Content)
        .where(Content.case_id == case_id)
        .values(current_category=latest("category"), category_source=latest("source"))
        .execution_options(synchronize_session=False)
    )


@event.listens_for(Session, "after_flush")
def _refresh_after_flush(session: Session, _context: UOWTransaction) -> None:
    # session.new still lists what this flush inserted (after_flush runs before it is cleared).
    touched = {obj.content_id for obj in session.new if isinstance(obj, Decision)}
    if touched:
        refresh_categories(session, touched)
