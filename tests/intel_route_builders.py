"""Rows for routing and referral tests, inserted directly through the models (targets and identifiers are
built by other parts; routing reads only the tables)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from haven.cases import create_case
from haven.intel.country import country_of
from haven.store.models import (
    Case,
    Content,
    Identifier,
    IdentifierOccurrence,
    IntelRecord,
    Target,
    TargetMember,
)


def make_case(session: Session, reference: str = "OP-ROUTE") -> Case:
    case, _ = create_case(session, reference, user="tester")
    return case


def make_content(
    session: Session, case: Case, data: bytes, *, kind: str = "text", category: str | None = None
) -> Content:
    content = Content(
        case_id=case.id,
        sha256=hashlib.sha256(data).hexdigest(),
        md5=hashlib.md5(data).hexdigest(),
        sha1=hashlib.sha1(data).hexdigest(),
        size=len(data),
        kind=kind,
        mime="text/plain" if kind == "text" else "image/jpeg",
        status="known" if category else "unknown",
        current_category=category,
        category_source="hashset" if category else None,
    )
    session.add(content)
    session.flush()
    return content


def make_identifier(
    session: Session, kind: str, normalized: str, *, value: str | None = None, **detail: Any
) -> Identifier:
    identifier = Identifier(
        type=kind,
        normalized=normalized,
        value=value or normalized,
        country=country_of(kind, normalized, detail),
        detail=json.dumps(detail, sort_keys=True),
    )
    session.add(identifier)
    session.flush()
    return identifier


def occur(
    session: Session,
    case: Case,
    identifier: Identifier,
    content: Content,
    *,
    line: int,
    record: str | None = None,
    observed_at: datetime | None = None,
    context: str | None = None,
    path: str = "EX1:/lists/customers.csv",
) -> IdentifierOccurrence:
    occurrence = IdentifierOccurrence(
        case_id=case.id,
        identifier_id=identifier.id,
        content_id=content.id,
        path=path,
        line=line,
        char_offset=0,
        field="column:x",
        record=record,
        observed_at=observed_at,
        context=context,
    )
    session.add(occurrence)
    session.flush()
    return occurrence


def make_record(session: Session, case: Case, content: Content, record: str, fields: dict[str, str]) -> None:
    session.add(IntelRecord(case_id=case.id, content_id=content.id, record=record, fields=json.dumps(fields)))
    session.flush()


def make_target(session: Session, case: Case, name: str | None, identifiers: list[Identifier]) -> Target:
    target = Target(case_id=case.id, name=name, created_by="tester")
    session.add(target)
    session.flush()
    for identifier in identifiers:
        session.add(TargetMember(case_id=case.id, target_id=target.id, identifier_id=identifier.id, reason="analyst"))
    session.flush()
    return target
