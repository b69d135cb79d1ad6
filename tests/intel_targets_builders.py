"""Rows for the targets tests, inserted directly through the models: a case's contents, identifiers, where
they occur (record by record) and the records' fields, as the extraction stage would leave them."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from haven.cases import create_case
from haven.store.models import Case, Content, Identifier, IdentifierOccurrence, IntelRecord

Ident = tuple[str, str] | tuple[str, str, str]
"""(type, normalized) or (type, normalized, field)."""


class CaseRows:
    """One case's intel rows; ``row(...)`` adds a structured record (a customer row, a header block)."""

    def __init__(self, session: Session, reference: str) -> None:
        self.session = session
        self.case: Case = create_case(session, reference, user="tester")[0]
        self.contents: dict[str, Content] = {}
        self.lines: dict[int, int] = {}

    def content(self, name: str) -> Content:
        if name not in self.contents:
            data = f"{self.case.reference}/{name}".encode()
            content = Content(
                case_id=self.case.id,
                sha256=hashlib.sha256(data).hexdigest(),
                md5=hashlib.md5(data).hexdigest(),
                sha1=hashlib.sha1(data).hexdigest(),
                size=len(data),
                kind="document",
                mime="text/csv",
            )
            self.session.add(content)
            self.session.flush()
            self.contents[name] = content
        return self.contents[name]

    def row(self, name: str, record: str, identifiers: list[Ident], fields: dict[str, Any] | None = None) -> None:
        content = self.content(name)
        for ident in identifiers:
            kind, normalized = ident[0], ident[1]
            field = ident[2] if len(ident) > 2 else f"column:{kind}"  # type: ignore[misc]
            self.occur(content, identifier(self.session, kind, normalized), record=record, field=field)
        if fields is not None:
            self.session.add(
                IntelRecord(
                    case_id=self.case.id,
                    content_id=content.id,
                    record=record,
                    fields=json.dumps(fields, sort_keys=True),
                )
            )
        self.session.flush()

    def occur(self, content: Content, identifier_id: int, *, record: str | None, field: str | None = None) -> None:
        line = self.lines[content.id] = self.lines.get(content.id, 0) + 1
        self.session.add(
            IdentifierOccurrence(
                case_id=self.case.id,
                identifier_id=identifier_id,
                content_id=content.id,
                path=f"EX1:/{self.contents_name(content)}",
                line=line,
                char_offset=0,
                field=field,
                record=record,
            )
        )

    def contents_name(self, content: Content) -> str:
        return next(name for name, c in self.contents.items() if c.id == content.id)


def identifier(session: Session, kind: str, normalized: str, value: str | None = None) -> int:
    found = session.scalar(select(Identifier.id).where(Identifier.type == kind, Identifier.normalized == normalized))
    if found is not None:
        return found
    row = Identifier(type=kind, normalized=normalized, value=value or normalized, country=None, detail="{}")
    session.add(row)
    session.flush()
    return row.id
