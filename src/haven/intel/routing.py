"""Where every target and lead of a case should go: a destination country, the reasons, a confidence.

Evidence, per identifier (the value itself, ``haven.intel.country``) and per structured record it came
from (``haven.intel.addresses``), each with a weight saying how much it places a *person* in a country:

- address 0.70: a country or postal address written in the record (customer list, account row);
- phone 0.80: the number's region (subscribers mostly live where their operator is; roaming, virtual numbers);
- iban 0.60: the account's bank country;
- ip 0.50: the country the address block is assigned to (a VPN, proxy, Tor exit or hosting provider would
  place the person elsewhere); 0.15 when flagged: in a shipped CDN/VPN/resolver range
  (``haven.intel.hosting``) or the words around it say vpn/proxy/tor/hosting;
- cctld 0.20: the country-code domain of an e-mail, domain or URL: weak (anyone may register ccTLDs).

Combining: for each country, the strongest item of each basis counts once, and the bases combine as
independent signals: ``support = 1 - Π(1 - weight)``. The destination is the country with the most support
(ties: the strongest single item, then the code). Its confidence is ``support × support / Σ support``: a
single country keeps its support, two countries of equal support halve it. The other countries are
listed as conflicts with their support, so an analyst sees the disagreement rather than a verdict.
A target is routed on the evidence of all its identifiers and of the records they came from.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from haven.intel.addresses import countries_in_record
from haven.intel.agencies import Directory
from haven.intel.country import Located, countries_of_ips, country_name, locate
from haven.intel.hosting import context_words, shipped_range
from haven.store.models import Case, Identifier, IdentifierOccurrence, IntelRecord, Target, TargetMember

WEIGHTS: dict[str, float] = {
    "address": 0.70,
    "phone": 0.80,
    "iban": 0.60,
    "ip": 0.50,
    "ip-flagged": 0.15,
    "cctld": 0.20,
}
IP_CAVEAT = (
    "IP: the country the address is assigned to; a VPN, proxy, Tor exit or hosting provider would place the "
    "person elsewhere. Haven flags only a small shipped list (Cloudflare, public DNS resolvers) and words "
    "around the address; an unflagged address may still be any of these"
)
PHONE_CAVEAT = "phone: the number's home region; roaming, ported and virtual numbers exist"
CCTLD_CAVEAT = "ccTLD: weak evidence; anyone may register many country-code domains"
IP_TYPES = ("ipv4", "ipv6")


@dataclass(frozen=True, slots=True)
class Evidence:
    country: str
    basis: str  # address | phone | iban | ip | cctld
    weight: float
    source: str  # what said it: "phone +4420…", "record row:17 column country"
    identifier_id: int | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "country": self.country,
            "basis": self.basis,
            "weight": self.weight,
            "source": self.source,
            "identifier": self.identifier_id,
            "note": self.note,
        }


@dataclass
class Destination:
    country: str | None
    confidence: float
    evidence: list[Evidence]
    conflicts: list[dict[str, Any]]
    caveats: list[str]
    support: dict[str, float] = field(default_factory=dict)

    def as_dict(self, directory: Directory) -> dict[str, Any]:
        return {
            "country": self.country,
            "name": country_name(self.country),
            "confidence": self.confidence,
            "agency": directory.recipient(self.country),
            "evidence": [e.as_dict() for e in self.evidence],
            "conflicts": self.conflicts,
            "caveats": self.caveats,
        }


class IdentifierFacts(NamedTuple):
    """The columns of an identifier routing reads (plain rows: a large case has hundreds of thousands)."""

    id: int
    type: str
    normalized: str
    value: str
    country: str | None
    detail: str


@dataclass
class Lead:
    identifier: IdentifierFacts
    target_id: int | None
    occurrences: int
    first_observed: datetime | None
    last_observed: datetime | None
    evidence: list[Evidence]
    destination: Destination


@dataclass
class RoutedTarget:
    target: Target
    identifier_ids: list[int]
    destination: Destination


@dataclass
class Routing:
    case: Case
    targets: list[RoutedTarget]
    leads: list[Lead]

    def lead_map(self) -> dict[int, Lead]:
        return {lead.identifier.id: lead for lead in self.leads}


def combine(evidence: list[Evidence]) -> Destination:
    """The destination the evidence supports (see the module docstring for the arithmetic)."""
    strongest: dict[str, dict[str, float]] = defaultdict(dict)
    for item in evidence:
        per_basis = strongest[item.country]
        per_basis[item.basis] = max(per_basis.get(item.basis, 0.0), item.weight)
    support = {country: 1.0 - math.prod(1.0 - w for w in bases.values()) for country, bases in strongest.items()}
    caveats = _caveats(evidence)
    if not support:
        return Destination(None, 0.0, evidence, [], caveats, {})
    ranked = sorted(support, key=lambda c: (-support[c], -max(strongest[c].values()), c))
    best = ranked[0]
    confidence = support[best] * support[best] / sum(support.values())
    conflicts = [
        {"country": c, "name": country_name(c), "support": round(support[c], 2), "bases": sorted(strongest[c])}
        for c in ranked[1:]
    ]
    ordered = sorted(evidence, key=lambda e: (e.country != best, -e.weight, e.basis, e.source))
    return Destination(best, round(confidence, 2), ordered, conflicts, caveats, support)


def route_case(session: Session, case: Case) -> Routing:
    """Route every identifier of the case (a lead) and every target."""
    identifiers = _case_identifiers(session, case.id)
    stats = _occurrence_stats(session, case.id)
    membership = dict(
        session.execute(
            select(TargetMember.identifier_id, TargetMember.target_id).where(TargetMember.case_id == case.id)
        ).all()
    )
    evidence = _identifier_evidence(session, case.id, identifiers)
    leads = []
    for identifier in identifiers:
        count, first, last = stats.get(identifier.id, (0, None, None))
        own = evidence.get(identifier.id, [])
        leads.append(Lead(identifier, membership.get(identifier.id), count, _utc(first), _utc(last), own, combine(own)))
    members: dict[int, list[int]] = defaultdict(list)
    for identifier_id, target_id in membership.items():
        members[target_id].append(identifier_id)
    targets = []
    for target in session.scalars(select(Target).where(Target.case_id == case.id).order_by(Target.id)):
        ids = sorted(members.get(target.id, []))
        pooled = [item for i in ids for item in evidence.get(i, [])]
        targets.append(RoutedTarget(target, ids, combine(_dedupe(pooled))))
    return Routing(case, targets, leads)


def routing_json(routing: Routing, directory: Directory) -> dict[str, Any]:
    """The `haven intel route REF --json` document (layout: docs/user-guide.md)."""
    countries: dict[str | None, dict[str, int]] = defaultdict(lambda: {"targets": 0, "leads": 0, "unlinked_leads": 0})
    for routed in routing.targets:
        countries[routed.destination.country]["targets"] += 1
    for lead in routing.leads:
        countries[lead.destination.country]["leads"] += 1
        if lead.target_id is None:
            countries[lead.destination.country]["unlinked_leads"] += 1
    summary = [
        {
            "country": code,
            "name": country_name(code),
            **countries[code],
            "agency": None if code is None else directory.recipient(code),
        }
        for code in sorted(countries, key=lambda c: (c is None, c or ""))
    ]
    return {
        "case": routing.case.reference,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "weights": WEIGHTS,
        "countries": summary,
        "targets": [
            {
                "target": r.target.id,
                "name": r.target.name,
                "identifiers": len(r.identifier_ids),
                "destination": r.destination.as_dict(directory),
            }
            for r in routing.targets
        ],
        "leads": [
            {
                "identifier": lead.identifier.id,
                "type": lead.identifier.type,
                "value": lead.identifier.value,
                "normalized": lead.identifier.normalized,
                "target": lead.target_id,
                "occurrences": lead.occurrences,
                "first_observed": _iso(lead.first_observed),
                "last_observed": _iso(lead.last_observed),
                "destination": lead.destination.as_dict(directory),
            }
            for lead in routing.leads
        ],
    }


# ---------------------------------------------------------------- gathering


def _case_identifiers(session: Session, case_id: int) -> list[IdentifierFacts]:
    in_case = or_(
        Identifier.id.in_(select(IdentifierOccurrence.identifier_id).where(IdentifierOccurrence.case_id == case_id)),
        Identifier.id.in_(select(TargetMember.identifier_id).where(TargetMember.case_id == case_id)),
    )
    columns = (Identifier.id, Identifier.type, Identifier.normalized, Identifier.value, Identifier.country)
    rows = session.execute(select(*columns, Identifier.detail).where(in_case).order_by(Identifier.id))
    return [IdentifierFacts(*row) for row in rows]


def _occurrence_stats(session: Session, case_id: int) -> dict[int, tuple[int, datetime | None, datetime | None]]:
    rows = session.execute(
        select(
            IdentifierOccurrence.identifier_id,
            func.count(),
            func.min(IdentifierOccurrence.observed_at),
            func.max(IdentifierOccurrence.observed_at),
        )
        .where(IdentifierOccurrence.case_id == case_id)
        .group_by(IdentifierOccurrence.identifier_id)
    )
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def _identifier_evidence(
    session: Session, case_id: int, identifiers: list[IdentifierFacts]
) -> dict[int, list[Evidence]]:
    evidence: dict[int, list[Evidence]] = defaultdict(list)
    ips = [i for i in identifiers if i.type in IP_TYPES]
    flags = _ip_context_flags(session, case_id)
    for identifier, country in zip(ips, countries_of_ips(i.normalized for i in ips), strict=True):
        located = locate(identifier.type, identifier.normalized, _detail(identifier))
        if located.country is None or country is None:
            continue
        evidence[identifier.id].append(_ip_evidence(identifier, country, flags.get(identifier.id, set())))
    for identifier in identifiers:
        if identifier.type in IP_TYPES:
            continue
        if identifier.type == "phone" and identifier.country:
            # Extraction stored the number's region (country_of); validating a number again is the slow part.
            located = Located(identifier.country, "phone")
        else:
            located = locate(identifier.type, identifier.normalized, _detail(identifier))
        if located.country is not None and located.basis is not None:
            evidence[identifier.id].append(_value_evidence(identifier, located))
    for identifier_id, items in _record_evidence(session, case_id).items():
        evidence[identifier_id].extend(items)
    return evidence


def _ip_evidence(identifier: IdentifierFacts, country: str, words: set[str]) -> Evidence:
    flags = []
    shipped = shipped_range(identifier.normalized)
    if shipped:
        flags.append(f"in a shipped range: {shipped}")
    if words:
        flags.append(f"the evidence around it says: {', '.join(sorted(words))}")
    basis_weight = WEIGHTS["ip-flagged"] if flags else WEIGHTS["ip"]
    note = "; ".join(flags) if flags else "assigned country"
    return Evidence(country, "ip", basis_weight, f"{identifier.type} {identifier.value}", identifier.id, note)


def _value_evidence(identifier: IdentifierFacts, located: Located) -> Evidence:
    assert located.country is not None and located.basis is not None
    return Evidence(
        located.country,
        located.basis,
        WEIGHTS[located.basis],
        f"{identifier.type} {identifier.value}",
        identifier.id,
        located.note,
    )


def _ip_context_flags(session: Session, case_id: int) -> dict[int, set[str]]:
    rows = session.execute(
        select(IdentifierOccurrence.identifier_id, IdentifierOccurrence.context, IdentifierOccurrence.field)
        .join(Identifier, Identifier.id == IdentifierOccurrence.identifier_id)
        .where(IdentifierOccurrence.case_id == case_id, Identifier.type.in_(IP_TYPES))
    )
    flags: dict[int, set[str]] = defaultdict(set)
    for identifier_id, context, field_name in rows:
        flags[identifier_id].update(context_words(context), context_words(field_name))
    return {k: v for k, v in flags.items() if v}


def _record_evidence(session: Session, case_id: int) -> dict[int, list[Evidence]]:
    """Countries in the records each identifier came from (rows whose (content, record) it shares)."""
    rows = session.execute(
        select(IdentifierOccurrence.identifier_id, IntelRecord.id, IntelRecord.record, IntelRecord.fields)
        .join(
            IntelRecord,
            and_(
                IntelRecord.content_id == IdentifierOccurrence.content_id,
                IntelRecord.record == IdentifierOccurrence.record,
            ),
        )
        .where(IdentifierOccurrence.case_id == case_id, IntelRecord.case_id == case_id)
        .distinct()
    )
    parsed: dict[int, list[Evidence]] = {}
    evidence: dict[int, list[Evidence]] = defaultdict(list)
    for identifier_id, record_id, record, fields in rows:
        if record_id not in parsed:
            parsed[record_id] = _record_countries(record_id, record, fields)
        evidence[identifier_id].extend(parsed[record_id])
    return evidence


def _record_countries(record_id: int, record: str, fields: str) -> list[Evidence]:
    try:
        values = json.loads(fields)
    except ValueError:
        return []
    if not isinstance(values, dict):
        return []
    return [
        Evidence(
            found.country,
            "address",
            WEIGHTS["address"],
            f"record {record} column {found.column} (#{record_id})",
            None,
            found.text,
        )
        for found in countries_in_record(values)
    ]


def _dedupe(evidence: list[Evidence]) -> list[Evidence]:
    """One item per (country, basis, source): a record shared by several identifiers counts once."""
    seen: dict[tuple[str, str, str], Evidence] = {}
    for item in evidence:
        seen.setdefault((item.country, item.basis, item.source), item)
    return list(seen.values())


def _caveats(evidence: list[Evidence]) -> list[str]:
    bases = {e.basis for e in evidence}
    caveats = []
    if "ip" in bases:
        caveats.append(IP_CAVEAT)
    if "phone" in bases:
        caveats.append(PHONE_CAVEAT)
    if "cctld" in bases:
        caveats.append(CCTLD_CAVEAT)
    if not evidence:
        caveats.append("nothing in these identifiers or their records names a country")
    return caveats


def _detail(identifier: IdentifierFacts) -> dict[str, Any]:
    try:
        value = json.loads(identifier.detail or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None
