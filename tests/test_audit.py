"""The audit chain detects edited, deleted and truncated records."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from haven import audit
from haven.store.models import AuditEvent


def _write_chain(store, n: int = 4) -> None:
    with store.session() as session:
        for i in range(n):
            audit.record(session, chain="case:A", user="alice", action=f"step{i}", detail={"i": i, "ü": "ö"})
        audit.record(session, chain="global", user="bob", action="hashset.import", detail={"name": "x"})


def test_intact_chain_verifies(store) -> None:
    _write_chain(store)
    with store.session() as session:
        assert audit.verify_chain(session, "case:A") == (4, None)
        assert audit.verify_chain(session, "global") == (1, None)
        assert audit.chains(session) == ["case:A", "global"]


def test_edited_detail_is_detected_at_that_record(store) -> None:
    _write_chain(store)
    with store.session() as session:
        session.execute(
            update(AuditEvent).where(AuditEvent.chain == "case:A", AuditEvent.seq == 3).values(detail='{"i":99}')
        )
    with store.session() as session:
        count, problem = audit.verify_chain(session, "case:A")
    assert count == 2
    assert problem is not None and problem.seq == 3 and "edited" in problem.reason


def test_deleted_middle_record_is_detected(store) -> None:
    _write_chain(store)
    with store.session() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.chain == "case:A", AuditEvent.seq == 2))
    with store.session() as session:
        _, problem = audit.verify_chain(session, "case:A")
    assert problem is not None and problem.seq == 2 and "missing" in problem.reason


def test_deleted_newest_record_is_detected_through_the_head(store) -> None:
    _write_chain(store)
    with store.session() as session:
        session.execute(delete(AuditEvent).where(AuditEvent.chain == "case:A", AuditEvent.seq == 4))
    with store.session() as session:
        _, problem = audit.verify_chain(session, "case:A")
    assert problem is not None and "deleted" in problem.reason


def test_rehashed_forgery_still_breaks_the_following_record(store) -> None:
    """Recomputing the edited record's own hash is not enough: the next record points at the old one."""
    _write_chain(store)
    with store.session() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.chain == "case:A", AuditEvent.seq == 2))
        event.user = "mallory"
        event.hash = audit.event_hash(
            event.chain, event.seq, event.at, event.user, event.action, event.detail, event.prev_hash
        )
    with store.session() as session:
        _, problem = audit.verify_chain(session, "case:A")
    assert problem is not None and problem.seq == 3
