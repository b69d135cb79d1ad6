"""Sightings against what the store knows: the case's contents, the known hash sets, the identifiers.

Exact hashes are joined inside the database (the same indexed columns case matching uses). PDQ sightings are
searched with ``PdqIndex``: the case's matchable pictures (quality at or above the floor) for contents, and
the persisted known-PDQ index of ``haven.matching.pdq`` for hash sets, within the store's threshold.
Re-runnable: a scope's matches are deleted and found again, so new contents, new sets or a new extraction
are picked up by ``haven intel sightings match``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Integer, and_, cast, delete, insert, literal, null, select, update
from sqlalchemy.orm import Session

from haven.matching.pdq import hex_to_bytes, known_pdq_index
from haven.matching.pdq_index import PdqIndex
from haven.matching.rows import case_pdq_contents, set_ids_of
from haven.store.models import Content, HashEntry, Identifier, Sighting, SightingMatch

EXACT = ("md5", "sha1", "sha256")
MATCH_COLUMNS = ("case_id", "sighting_id", "content_id", "entry_id", "set_id", "method", "distance")
INSERT_BATCH = 5_000
_NULL = cast(null(), Integer)  # typed: PostgreSQL reads a bare NULL in a SELECT list as text


@dataclass(frozen=True)
class MatchSettings:
    threshold: int = 31  # PDQ distance still a match (config.pdq_threshold)
    min_quality: int = 50  # case pictures below this PDQ quality are never matched (config.pdq_min_quality)
    index_dir: Path | None = None  # where the known-PDQ index is kept (config.index_dir)


def match_sightings(session: Session, case_id: int, settings: MatchSettings, import_id: int | None = None) -> None:
    """(Re)match the case's sightings, or only those of one import."""
    scope = Sighting.case_id == case_id if import_id is None else Sighting.import_id == import_id
    in_scope = select(Sighting.id).where(scope)
    session.execute(delete(SightingMatch).where(SightingMatch.sighting_id.in_(in_scope)))
    _link_identifiers(session, scope)
    for method in EXACT:
        _exact_contents(session, case_id, scope, method)
        _exact_entries(session, scope, method)
    pdq_sightings = session.execute(select(Sighting.id, Sighting.pdq).where(scope, Sighting.pdq.is_not(None))).all()
    if pdq_sightings:
        ids = [sighting_id for sighting_id, pdq in pdq_sightings if pdq]
        queries = hex_to_bytes([pdq for _, pdq in pdq_sightings if pdq])
        _pdq_contents(session, case_id, ids, queries, settings)
        _pdq_entries(session, case_id, ids, queries, settings)


def _link_identifiers(session: Session, scope: ColumnElement[bool]) -> None:
    """Point each sighting at the store's identifier row of its (type, normalized), when there is one.

    Only unlinked sightings with a row to point at are written (an identifier's id never changes, and its
    deletion clears the link by the foreign key), so a large import rewrites no row for nothing."""
    same = select(Identifier.id).where(
        Identifier.type == Sighting.identifier_type, Identifier.normalized == Sighting.identifier_normalized
    )
    statement = update(Sighting).where(scope, Sighting.identifier_id.is_(None), same.exists())
    session.execute(
        statement.values(identifier_id=same.scalar_subquery()), execution_options={"synchronize_session": False}
    )


def _exact_contents(session: Session, case_id: int, scope: ColumnElement[bool], method: str) -> None:
    sighted = getattr(Sighting, method)
    query = (
        select(literal(case_id), Sighting.id, Content.id, _NULL, _NULL, literal(method), literal(0))
        .join(Content, and_(getattr(Content, method) == sighted, Content.case_id == case_id))
        .where(scope, sighted.is_not(None), Content.size > 0)
    )
    session.execute(insert(SightingMatch).from_select(MATCH_COLUMNS, query))


def _exact_entries(session: Session, scope: ColumnElement[bool], method: str) -> None:
    sighted = getattr(Sighting, method)
    query = (
        select(Sighting.case_id, Sighting.id, _NULL, HashEntry.id, HashEntry.set_id, literal(method), literal(0))
        .join(HashEntry, getattr(HashEntry, method) == sighted)
        .where(scope, sighted.is_not(None))
    )
    session.execute(insert(SightingMatch).from_select(MATCH_COLUMNS, query))


def _pdq_contents(
    session: Session, case_id: int, sighting_ids: list[int], queries: np.ndarray, settings: MatchSettings
) -> None:
    contents = case_pdq_contents(session, case_id, Content.pdq, settings.min_quality)
    if not contents:
        return
    index = PdqIndex.build(
        hex_to_bytes([pdq for _, pdq in contents]), np.array([cid for cid, _ in contents], dtype=np.int64)
    )
    rows, found, distances = index.range_query(queries, settings.threshold)
    _insert(
        session,
        [
            {"case_id": case_id, "sighting_id": sighting_ids[q], "content_id": c, "entry_id": None, "set_id": None}
            | {"method": "pdq", "distance": d}
            for q, c, d in zip(rows.tolist(), found.tolist(), distances.tolist(), strict=True)
        ],
    )


def _pdq_entries(
    session: Session, case_id: int, sighting_ids: list[int], queries: np.ndarray, settings: MatchSettings
) -> None:
    index, _ = known_pdq_index(session, settings.index_dir)
    if not len(index):
        return
    rows, entries, distances = index.range_query(queries, settings.threshold)
    set_of = set_ids_of(session, np.unique(entries).tolist())
    _insert(
        session,
        [
            {"case_id": case_id, "sighting_id": sighting_ids[q], "content_id": None, "entry_id": e, "set_id": set_of[e]}
            | {"method": "pdq", "distance": d}
            for q, e, d in zip(rows.tolist(), entries.tolist(), distances.tolist(), strict=True)
            if e in set_of  # an entry deleted since the index was saved
        ],
    )


def _insert(session: Session, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), INSERT_BATCH):
        session.connection().execute(insert(SightingMatch), rows[start : start + INSERT_BATCH])
