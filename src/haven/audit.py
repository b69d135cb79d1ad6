"""Append-only, hash-chained audit log.

Each record's hash covers its chain, sequence number, time, user, action, canonical JSON detail and
the previous record's hash, so editing or deleting any record breaks every hash after it. The chain
head (last seq and hash) is kept separately so that deleting the newest records is detected too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from haven.store.models import AuditEvent, AuditHead

GENESIS = "0" * 64
GLOBAL_CHAIN = "global"


def canonical(detail: dict[str, Any]) -> str:
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(chain: str, seq: int, at: str, user: str, action: str, detail: str, prev_hash: str) -> str:
    payload = json.dumps([chain, seq, at, user, action, detail, prev_hash], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def record(session: Session, *, chain: str, user: str, action: str, detail: dict[str, Any]) -> None:
    """Append one record to ``chain`` inside the caller's transaction."""
    head = session.get(AuditHead, chain, with_for_update=True)
    seq, prev = (head.seq + 1, head.hash) if head else (1, GENESIS)
    at = datetime.now(UTC).isoformat(timespec="microseconds")
    text = canonical(detail)
    digest = event_hash(chain, seq, at, user, action, text, prev)
    session.add(
        AuditEvent(chain=chain, seq=seq, at=at, user=user, action=action, detail=text, prev_hash=prev, hash=digest)
    )
    if head is None:
        session.add(AuditHead(chain=chain, seq=seq, hash=digest))
    else:
        head.seq, head.hash = seq, digest
    session.flush()


@dataclass
class ChainProblem:
    chain: str
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"audit chain '{self.chain}' broken at record {self.seq}: {self.reason}"


def verify_chain(session: Session, chain: str) -> tuple[int, ChainProblem | None]:
    """Return (records checked, first problem or None)."""
    prev, expected_seq, count = GENESIS, 1, 0
    rows = session.scalars(select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq))
    for event in rows:
        if event.seq != expected_seq:
            return count, ChainProblem(chain, expected_seq, f"record {expected_seq} is missing")
        if event.prev_hash != prev:
            return count, ChainProblem(chain, event.seq, "does not follow the previous record")
        digest = event_hash(chain, event.seq, event.at, event.user, event.action, event.detail, event.prev_hash)
        if digest != event.hash:
            return count, ChainProblem(chain, event.seq, f"edited ({event.action} by {event.user} at {event.at})")
        prev, expected_seq, count = event.hash, expected_seq + 1, count + 1
    head = session.get(AuditHead, chain)
    if head is not None and (head.seq != count or head.hash != prev):
        return count, ChainProblem(chain, count + 1, f"records after {count} were deleted (head says {head.seq})")
    if head is None and count:
        return count, ChainProblem(chain, count, "chain head is missing")
    return count, None


def chains(session: Session) -> list[str]:
    found = set(session.scalars(select(AuditHead.chain))) | set(session.scalars(select(AuditEvent.chain).distinct()))
    return sorted(found)
