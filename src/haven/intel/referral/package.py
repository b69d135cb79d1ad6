"""What a referral to one country carries, gathered from the store as one plain document.

The targets routed to the country with every identifier they hold, and the leads routed there that belong
to no target; each identifier with its first/last observed times (UTC) and evidence pointers (the SHA-256
of the content it was found in, the path and line); the contents those pointers name with their hashes and
current category; the sightings of those identifiers (issue 7's sightings import: network, time, source,
the file's hashes and what it matched — a case content or a known hash-set entry with its category); the
sender's and the recipient's contacts. Never media, never the text around an identifier (it may name a
victim), never a sighted file's name, never analyst notes. All formats (STIX, JSON, HTML) render this.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from haven.errors import HavenError
from haven.intel.agencies import Directory
from haven.intel.country import country_name
from haven.intel.routing import Lead, Routing, route_case
from haven.store.models import (
    Case,
    Content,
    HashEntry,
    HashSet,
    Identifier,
    IdentifierOccurrence,
    Sighting,
    SightingMatch,
)

FORMAT_NAME = "haven-referral"
FORMAT_VERSION = 1
CHUNK = 500  # identifiers per IN (...) query


def referral_document(
    session: Session, case: Case, country: str, directory: Directory, *, user: str, tlp: str
) -> dict[str, Any]:
    """The referral of ``case`` for ``country`` (alpha-2); HavenError when nothing is routed there."""
    if directory.sender is None:
        raise HavenError(
            "a referral names its sender: add a [sender] section to the agency directory "
            "(see: haven intel agencies import FILE)"
        )
    routing = route_case(session, case)
    targets = [r for r in routing.targets if r.destination.country == country]
    leads = routing.lead_map()
    chosen = {i for r in targets for i in r.identifier_ids}
    chosen |= {
        lead.identifier.id for lead in routing.leads if lead.target_id is None and lead.destination.country == country
    }
    if not chosen:
        raise HavenError(
            f"nothing in case '{case.reference}' is routed to {country} (see: haven intel route {case.reference})"
        )
    sightings, sighted_contents = _sightings(session, case.id, sorted(chosen))
    occurrences, contents = _evidence(session, case.id, sorted(chosen), sighted_contents)
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "case": case.reference,
        "country": country,
        "country_name": country_name(country),
        "tlp": tlp,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "created_by": user,
        "sender": directory.sender.as_dict(),
        "recipient": directory.recipient(country),
        "targets": [
            {
                "target": r.target.id,
                "name": r.target.name or f"Target {r.target.id}",
                "confidence": r.destination.confidence,
                "evidence": [e.as_dict() for e in r.destination.evidence],
                "conflicts": r.destination.conflicts,
                "caveats": r.destination.caveats,
                "identifiers": r.identifier_ids,
            }
            for r in targets
        ],
        "identifiers": [_identifier(leads[i], occurrences.get(i, [])) for i in sorted(chosen)],
        "contents": contents,
        "sightings": sightings,
    }


def _identifier(lead: Lead, occurrences: list[dict[str, Any]]) -> dict[str, Any]:
    identifier = lead.identifier
    return {
        "id": identifier.id,
        "type": identifier.type,
        "value": identifier.value,
        "normalized": identifier.normalized,
        "country": identifier.country,
        "target": lead.target_id,
        "destination": lead.destination.country,
        "confidence": lead.destination.confidence,
        "first_observed": _iso(lead.first_observed),
        "last_observed": _iso(lead.last_observed),
        "occurrences": occurrences,
    }


def _evidence(
    session: Session, case_id: int, identifier_ids: list[int], extra_contents: set[int]
) -> tuple[dict[int, list[dict[str, Any]]], list[dict[str, Any]]]:
    occurrences: dict[int, list[dict[str, Any]]] = defaultdict(list)
    content_ids: set[int] = set(extra_contents)
    for chunk in _chunks(identifier_ids):
        rows = session.execute(
            select(
                IdentifierOccurrence.identifier_id,
                Content.id,
                Content.sha256,
                IdentifierOccurrence.path,
                IdentifierOccurrence.line,
                IdentifierOccurrence.field,
                IdentifierOccurrence.observed_at,
            )
            .join(Content, Content.id == IdentifierOccurrence.content_id)
            .where(IdentifierOccurrence.case_id == case_id, IdentifierOccurrence.identifier_id.in_(chunk))
            .order_by(IdentifierOccurrence.identifier_id, IdentifierOccurrence.path, IdentifierOccurrence.line)
        )
        for identifier_id, content_id, sha256, path, line, field, observed_at in rows:
            content_ids.add(content_id)
            occurrences[identifier_id].append(
                {"sha256": sha256, "path": path, "line": line, "field": field, "observed_at": _iso(observed_at)}
            )
    contents: list[dict[str, Any]] = []
    for chunk in _chunks(sorted(content_ids)):
        for content in session.scalars(select(Content).where(Content.id.in_(chunk))):
            contents.append(
                {
                    "sha256": content.sha256,
                    "sha1": content.sha1,
                    "md5": content.md5,
                    "size": content.size,
                    "kind": content.kind,
                    "mime": content.mime,
                    "status": content.status,
                    "category": content.current_category,
                    "category_source": content.category_source,
                }
            )
    contents.sort(key=lambda c: str(c["sha256"]))
    return occurrences, contents


def _sightings(session: Session, case_id: int, identifier_ids: list[int]) -> tuple[list[dict[str, Any]], set[int]]:
    """Sightings of the identifiers in this case, each with what its file matched; and the matched contents.

    A sighting meets an identifier on (type, normalized), so one imported before extraction counts too."""
    found: dict[int, dict[str, Any]] = {}
    content_ids: set[int] = set()
    for chunk in _chunks(identifier_ids):
        rows = session.execute(
            select(
                Sighting,
                Identifier.id,
                SightingMatch.method,
                SightingMatch.distance,
                Content.id,
                Content.sha256,
                HashSet.name,
                HashEntry.category,
            )
            .join(
                Identifier,
                (Identifier.type == Sighting.identifier_type)
                & (Identifier.normalized == Sighting.identifier_normalized),
            )
            .outerjoin(SightingMatch, SightingMatch.sighting_id == Sighting.id)
            .outerjoin(Content, Content.id == SightingMatch.content_id)
            .outerjoin(HashSet, HashSet.id == SightingMatch.set_id)
            .outerjoin(HashEntry, HashEntry.id == SightingMatch.entry_id)
            .where(Sighting.case_id == case_id, Identifier.id.in_(chunk))
            .order_by(Sighting.id)
        )
        for sighting, identifier_id, method, distance, content_id, sha256, set_name, set_category in rows:
            item = found.get(sighting.id)
            if item is None:
                item = found[sighting.id] = {
                    "identifier": identifier_id,
                    "network": sighting.network,
                    "observed_at": _iso(sighting.observed_at),
                    "source": sighting.source,
                    "md5": sighting.md5,
                    "sha1": sighting.sha1,
                    "sha256": sighting.sha256,
                    "pdq": sighting.pdq,
                    "matches": [],
                }
            if method is None:
                continue
            # Either a case content (its category is in "contents") or a known set's entry with its category.
            item["matches"].append(
                {
                    "method": method,
                    "distance": distance,
                    "content_sha256": sha256 if content_id is not None else None,
                    "hash_set": set_name,
                    "category": set_category,
                }
            )
            if content_id is not None:
                content_ids.add(content_id)
    return list(found.values()), content_ids


def _chunks(values: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat().replace("+00:00", "Z")


def routed_countries(routing: Routing) -> list[str]:
    codes = {r.destination.country for r in routing.targets} | {lead.destination.country for lead in routing.leads}
    return sorted(c for c in codes if c)
