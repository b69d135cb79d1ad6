"""`haven search-text REF QUERY`: pictures of a case whose OCR text holds every word of the query, best first.

The query is reduced to words (letters and digits); a word ending in ``*`` matches as a prefix. Both back
ends get the same meaning (all words, no stemming): SQLite FTS5 ranked by bm25, PostgreSQL a ``simple``
tsquery ranked by ts_rank. Scores are comparable within one result list, not across back ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from haven.cases import get_case
from haven.errors import HavenError
from haven.store.models import Occurrence

_TERM = re.compile(r"(\w+)(\*?)")
MARK_START, MARK_END = "[", "]"


@dataclass(frozen=True)
class Term:
    word: str
    prefix: bool


@dataclass(frozen=True)
class TextHit:
    sha256: str
    path: str | None
    score: float
    snippet: str
    confidence: float | None
    engine: str
    language: str

    def as_json(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "path": self.path,
            "score": round(self.score, 6),
            "snippet": self.snippet,
            "confidence": self.confidence,
            "engine": self.engine,
            "language": self.language,
        }


def parse_query(query: str) -> list[Term]:
    terms = [Term(word.lower(), star == "*") for word, star in _TERM.findall(query)]
    if not terms:
        raise HavenError(f"nothing to search for in {query!r}: give at least one word")
    return terms


def search_text(session: Session, case_ref: str, query: str, limit: int = 50) -> list[TextHit]:
    case_id = get_case(session, case_ref).id
    terms = parse_query(query)
    if session.get_bind().dialect.name == "postgresql":
        rows = _postgresql(session, case_id, terms, limit)
    else:
        rows = _sqlite(session, case_id, terms, limit)
    paths = _first_paths(session, [row.content_id for row in rows])
    return [
        TextHit(
            row.sha256,
            paths.get(row.content_id),
            float(row.score),
            row.snippet,
            row.confidence,
            row.engine,
            row.language,
        )
        for row in rows
    ]


def _sqlite(session: Session, case_id: int, terms: list[Term], limit: int) -> list[Any]:
    # Every term quoted: FTS5 operators (AND, NEAR, column filters) in a user's words are not syntax.
    match = " ".join(f'"{t.word}"' + ("*" if t.prefix else "") for t in terms)
    statement = text(
        "SELECT ct.content_id, c.sha256, ct.confidence, ct.engine, ct.language, "
        "-bm25(content_text_fts) AS score, "
        "snippet(content_text_fts, 0, :start, :end, '…', 12) AS snippet "
        "FROM content_text_fts JOIN content_text ct ON ct.id = content_text_fts.rowid "
        "JOIN content c ON c.id = ct.content_id "
        "WHERE content_text_fts MATCH :match AND c.case_id = :case_id "
        "ORDER BY bm25(content_text_fts), ct.content_id LIMIT :limit"
    )
    params = {"match": match, "case_id": case_id, "limit": limit, "start": MARK_START, "end": MARK_END}
    return list(session.execute(statement, params))


def _postgresql(session: Session, case_id: int, terms: list[Term], limit: int) -> list[Any]:
    # Words are letters and digits only (parse_query), so the tsquery text cannot carry operators.
    tsquery = " & ".join(t.word + (":*" if t.prefix else "") for t in terms)
    statement = text(
        "SELECT ct.content_id, c.sha256, ct.confidence, ct.engine, ct.language, "
        "ts_rank(ct.text_search, q) AS score, "
        "ts_headline('simple', ct.text, q, :options) AS snippet "
        "FROM content_text ct JOIN content c ON c.id = ct.content_id, to_tsquery('simple', :tsquery) AS q "
        "WHERE ct.text_search @@ q AND c.case_id = :case_id "
        "ORDER BY score DESC, ct.content_id LIMIT :limit"
    )
    options = f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=12, MinWords=4, ShortWord=0"
    params = {"tsquery": tsquery, "case_id": case_id, "limit": limit, "options": options}
    return list(session.execute(statement, params))


def _first_paths(session: Session, content_ids: list[int]) -> dict[int, str]:
    if not content_ids:
        return {}
    first = (
        select(Occurrence.content_id, func.min(Occurrence.path))
        .where(Occurrence.content_id.in_(content_ids))
        .group_by(Occurrence.content_id)
    )
    return {content_id: path for content_id, path in session.execute(first) if content_id is not None}
