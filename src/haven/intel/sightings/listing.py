"""What a case's sightings amount to: counts per import, and the listing with every match explained.

Categories are read when asked, not copied at import: a content's ``current_category`` follows the latest
decision, and a known entry's category and set name are joined from the set as it is now. Whether an
identifier is "already in the case" is also live: extraction may run after the sightings were imported.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import distinct, exists, func, select
from sqlalchemy.orm import Session

from haven.store.models import (
    Content,
    HashEntry,
    HashSet,
    Identifier,
    IdentifierOccurrence,
    Match,
    Occurrence,
    Sighting,
    SightingImport,
    SightingMatch,
)

EXACT_FIRST = {"sha256": 0, "sha1": 1, "md5": 2, "pdq": 3}


def iso_utc(moment: datetime) -> str:
    """ISO-8601 with +00:00: SQLite hands back the stored UTC times without their zone."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def _in_case(case_id: int) -> Any:
    """Sightings whose identifier extraction found in this case's evidence."""
    return exists().where(
        Identifier.type == Sighting.identifier_type,
        Identifier.normalized == Sighting.identifier_normalized,
        IdentifierOccurrence.identifier_id == Identifier.id,
        IdentifierOccurrence.case_id == case_id,
    )


def import_counts(session: Session, case_id: int, import_id: int | None = None) -> dict[str, Any]:
    """Distinct identifiers (and those in the case), sightings and contents matched, known sets hit."""
    scope = [Sighting.case_id == case_id] + ([Sighting.import_id == import_id] if import_id is not None else [])
    with_identifier = Sighting.identifier_normalized.is_not(None)
    identifiers = _distinct_pairs(session, [*scope, with_identifier])
    in_case = _distinct_pairs(session, [*scope, with_identifier, _in_case(case_id)])
    matched = select(SightingMatch).join(Sighting, Sighting.id == SightingMatch.sighting_id).where(*scope)
    on_contents = matched.where(SightingMatch.content_id.is_not(None)).subquery()
    on_known = matched.where(SightingMatch.entry_id.is_not(None)).subquery()
    sets = session.scalars(
        select(HashSet.name).distinct().join(on_known, on_known.c.set_id == HashSet.id).order_by(HashSet.name)
    ).all()
    return {
        "identifiers": identifiers,
        "identifiers_in_case": in_case,
        "sightings_matching_contents": session.scalar(select(func.count(distinct(on_contents.c.sighting_id)))) or 0,
        "contents_matched": session.scalar(select(func.count(distinct(on_contents.c.content_id)))) or 0,
        "sightings_matching_known": session.scalar(select(func.count(distinct(on_known.c.sighting_id)))) or 0,
        "known_sets": list(sets),
    }


def _distinct_pairs(session: Session, where: list[Any]) -> int:
    """Distinct (type, normalized) pairs: a subquery, as COUNT(DISTINCT a, b) is not portable to SQLite."""
    pairs = select(Sighting.identifier_type, Sighting.identifier_normalized).where(*where).distinct().subquery()
    return int(session.scalar(select(func.count()).select_from(pairs)) or 0)


def list_sightings(session: Session, case_id: int, reference: str) -> dict[str, Any]:
    """The case's imports, the summary counts, and every sighting with its matches (JSON-ready)."""
    imports = session.scalars(
        select(SightingImport).where(SightingImport.case_id == case_id).order_by(SightingImport.id)
    ).all()
    rows = session.execute(
        select(Sighting, _in_case(case_id).label("in_case"))
        .where(Sighting.case_id == case_id)
        .order_by(Sighting.observed_at.is_(None), Sighting.observed_at, Sighting.id)
    ).all()
    contents = _content_matches(session, case_id)
    known = _known_matches(session, case_id)
    file_of = {i.id: i.file_name for i in imports}
    return {
        "case": reference,
        "summary": {"imports": len(imports), "sightings": len(rows), **import_counts(session, case_id)},
        "imports": [
            {
                "file": i.file_name,
                "sha256": i.file_sha256,
                "format": i.format,
                "source": i.source,
                "imported_at": iso_utc(i.imported_at),
                "imported_by": i.imported_by,
                "records": i.records,
                "sightings": i.sightings,
                "skipped": i.skipped,
                "skipped_reasons": json.loads(i.skipped_reasons or "[]"),
            }
            for i in imports
        ],
        "sightings": [_sighting(s, bool(in_case), file_of, contents, known) for s, in_case in rows],
    }


def _sighting(
    s: Sighting,
    in_case: bool,
    file_of: dict[int, str],
    contents: dict[int, list[dict[str, Any]]],
    known: dict[int, list[dict[str, Any]]],
) -> dict[str, Any]:
    identifier = None
    if s.identifier_normalized is not None:
        identifier = {
            "type": s.identifier_type,
            "value": s.identifier_value,
            "normalized": s.identifier_normalized,
            "in_case": in_case,
        }
    return {
        "id": s.id,
        "observed_at": iso_utc(s.observed_at) if s.observed_at else None,
        "source": s.source,
        "network": s.network,
        "identifier": identifier,
        "file_name": s.file_name,
        "hashes": {k: v for k in ("md5", "sha1", "sha256", "pdq") if (v := getattr(s, k))},
        "contents": contents.get(s.id, []),
        "known": known.get(s.id, []),
        "from": {"file": file_of.get(s.import_id), "record": s.record},
    }


def _content_matches(session: Session, case_id: int) -> dict[int, list[dict[str, Any]]]:
    """Per sighting: the case contents its file is, best method per content (exact before PDQ)."""
    first_path = (
        select(Occurrence.path).where(Occurrence.content_id == Content.id).order_by(Occurrence.id).limit(1)
    ).scalar_subquery()
    rows = session.execute(
        select(
            SightingMatch.sighting_id,
            SightingMatch.method,
            SightingMatch.distance,
            Content.sha256,
            Content.status,
            Content.current_category,
            first_path,
            Content.id,
        )
        .join(Content, Content.id == SightingMatch.content_id)
        .where(SightingMatch.case_id == case_id)
    ).all()
    sets_of = _sets_of_contents(session, case_id)
    best: dict[tuple[int, str], dict[str, Any]] = {}
    for sighting_id, method, distance, sha256, status, category, path, content_id in rows:
        found = {
            "sha256": sha256,
            "method": method,
            "distance": distance,
            "status": status,
            "category": category,
            "sets": sets_of.get(content_id, []),
            "path": path,
        }
        key = (sighting_id, sha256)
        if key not in best or (EXACT_FIRST[method], distance) < (
            EXACT_FIRST[best[key]["method"]],
            best[key]["distance"],
        ):
            best[key] = found
    grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for (sighting_id, _), found in sorted(best.items(), key=lambda kv: (kv[0][0], kv[1]["distance"], kv[0][1])):
        grouped[sighting_id].append(found)
    return grouped


def _sets_of_contents(session: Session, case_id: int) -> dict[int, list[str]]:
    """Content id -> the hash sets case matching found it in, for the contents sightings matched."""
    sighted = select(SightingMatch.content_id).where(
        SightingMatch.case_id == case_id, SightingMatch.content_id.is_not(None)
    )
    rows = session.execute(
        select(Match.content_id, HashSet.name)
        .distinct()
        .join(HashSet, HashSet.id == Match.set_id)
        .where(Match.content_id.in_(sighted))
        .order_by(Match.content_id, HashSet.name)
    ).all()
    found: dict[int, list[str]] = defaultdict(list)
    for content_id, name in rows:
        found[content_id].append(name)
    return found


def _known_matches(session: Session, case_id: int) -> dict[int, list[dict[str, Any]]]:
    """Per sighting: the known hash-set entries its file is, with the set's name and kind and the category."""
    rows = session.execute(
        select(
            SightingMatch.sighting_id,
            SightingMatch.method,
            SightingMatch.distance,
            HashSet.name,
            HashSet.kind,
            HashEntry.category,
            HashEntry.series,
        )
        .join(HashEntry, HashEntry.id == SightingMatch.entry_id)
        .join(HashSet, HashSet.id == HashEntry.set_id)
        .where(SightingMatch.case_id == case_id)
        .order_by(SightingMatch.sighting_id, SightingMatch.distance, HashSet.name, HashEntry.id)
    ).all()
    grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for sighting_id, method, distance, name, kind, category, series in rows:
        grouped[sighting_id].append(
            {"set": name, "kind": kind, "category": category, "series": series, "method": method, "distance": distance}
        )
    return grouped
