"""Linking a case's identifiers into targets: re-runnable, keeping what analysts did.

One run: identifiers of one record are joined (``cooccurrence``, with its hub guard); records that
splink scores as the same person are joined too, and records matching another case's records become
leads (``fuzzy``). Targets an analyst named, annotated, merged or split are locked: their identifiers
stay where the analyst put them, a link that would join two locked targets is refused, and new
identifiers linked to exactly one locked target join it. Every other target is rebuilt; it keeps the id
of the automatic target most of its identifiers were in before, so ids stay stable between runs.

A target is a linked group of two or more identifiers, a locked target, or an identifier with a lead
into another case. The run stores its links (``target_link``) and a ``target_run`` row with the
fingerprint of what it read: ``ensure_linked`` re-runs only when that changed.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from haven import audit
from haven.intel import access
from haven.intel.targets.cooccurrence import AnchoredUnionFind, Cooccurrence, HubRules, OccurrenceRow, Unit, analyse
from haven.intel.targets.fuzzy import BLOCKING_KEYS, DEFAULT_THRESHOLD, FuzzyResult, score_pairs
from haven.intel.targets.fuzzy_features import RecordFeatures, features
from haven.store.models import (
    Case,
    Identifier,
    IdentifierOccurrence,
    IntelRecord,
    Target,
    TargetLink,
    TargetMember,
    TargetRun,
)

LINKING_VERSION = "targets-1"
"""Part of the fingerprint: a new linking method re-links every case on its next listing."""


@dataclass
class LinkSummary:
    records: int = 0
    identifiers: int = 0
    hubs: int = 0
    list_records: int = 0
    targets: int = 0
    locked_targets: int = 0
    joined_locked: int = 0
    refused: int = 0
    cooccurrence_links: int = 0
    fuzzy_links: int = 0
    leads: int = 0
    fuzzy_model: str = "priors"
    threshold: float = DEFAULT_THRESHOLD
    rules: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def fingerprint(session: Session, case_id: int, threshold: float, rules: HubRules) -> str:
    """What a run depends on: the case's occurrences, every case's records (leads), method and settings."""
    occurrences = session.execute(
        select(func.count(), func.max(IdentifierOccurrence.id)).where(IdentifierOccurrence.case_id == case_id)
    ).one()
    records = session.execute(select(func.count(), func.max(IntelRecord.id))).one()
    basis = [LINKING_VERSION, case_id, list(occurrences), list(records), threshold, rules.describe()]
    return hashlib.sha256(json.dumps(basis, default=str).encode()).hexdigest()


def last_run(session: Session, case_id: int) -> TargetRun | None:
    return session.scalar(select(TargetRun).where(TargetRun.case_id == case_id).order_by(TargetRun.id.desc()).limit(1))


def ensure_linked(
    session: Session, case: Case, user: str, *, threshold: float | None = None, rules: HubRules | None = None
) -> LinkSummary | None:
    """Link the case if its data (or any case's records) changed since the last run; None if up to date.

    ``threshold`` None: the last run's (an analyst's ``link --threshold`` stays in force), else the default.
    """
    rules = rules or HubRules()
    run = last_run(session, case.id)
    if threshold is None:
        threshold = float(json.loads(run.summary).get("threshold", DEFAULT_THRESHOLD)) if run else DEFAULT_THRESHOLD
    if run is not None and run.fingerprint == fingerprint(session, case.id, threshold, rules):
        return None
    return link_case(session, case, user, threshold=threshold, rules=rules)


def link_case(
    session: Session, case: Case, user: str, *, threshold: float = DEFAULT_THRESHOLD, rules: HubRules | None = None
) -> LinkSummary:
    rules = rules or HubRules()
    summary = LinkSummary(threshold=threshold, rules=rules.describe())
    print_ = fingerprint(session, case.id, threshold, rules)
    co = analyse(_case_occurrences(session, case.id), rules)
    summary.hubs, summary.list_records = len(co.hubs), co.list_records
    fuzzy, record_units, other_identifiers = _fuzzy(session, case.id, co, threshold, rules)
    summary.fuzzy_model, summary.records = fuzzy.model, fuzzy.records

    targets = {t.id: t for t in session.scalars(select(Target).where(Target.case_id == case.id))}
    locked = {t for t, target in targets.items() if target.locked}
    members = session.execute(
        select(TargetMember.identifier_id, TargetMember.target_id).where(TargetMember.case_id == case.id)
    ).all()
    anchors = {identifier: target for identifier, target in members if target in locked}
    previous = {identifier: target for identifier, target in members if target not in locked}
    summary.locked_targets = len(locked)

    union = AnchoredUnionFind(anchors)
    links: list[dict[str, Any]] = []
    by_cooccurrence: set[int] = set()
    for a, b, unit in co.edges():
        union.union(a, b)
        by_cooccurrence.update((a, b))
        links.append(
            _link(
                case.id, a, b, "co-occurrence", 1.0, {"content_id": unit[0], "record": unit[1], "path": co.paths[unit]}
            )
        )
    for linkable in co.units.values():
        union.add(linkable[0])  # every linkable identifier counts, even alone (a lead may make it a target)
    with_lead: set[int] = set()
    for pair in sorted(fuzzy.pairs, key=lambda p: (-p.probability, p.left, p.right)):
        left, right = record_units.get(pair.left), record_units.get(pair.right)
        if left is not None and right is not None:  # both in the case: a link
            a, b = co.units[left][0], co.units[right][0]
            union.union(a, b)
            evidence: dict[str, Any] = {"records": [_where(co, left), _where(co, right)], "model": fuzzy.model}
            links.append(_link(case.id, a, b, "fuzzy", pair.probability, evidence))
            summary.fuzzy_links += 1
            continue
        mine, theirs = (left, pair.right) if left is not None else (right, pair.left)
        if mine is None:
            continue
        other_case, other_identifier, other_record = other_identifiers[theirs]
        a = co.units[mine][0]
        with_lead.add(a)
        evidence = {"record": _where(co, mine), "other_record": other_record, "model": fuzzy.model}
        links.append(_link(case.id, a, other_identifier, "fuzzy", pair.probability, evidence, other_case))
        summary.leads += 1
    summary.refused = union.refused
    summary.cooccurrence_links = len(links) - summary.fuzzy_links - summary.leads
    summary.identifiers = len({i for unit in co.units.values() for i in unit})

    kept = _write_targets(session, case.id, user, union, anchors, previous, locked, by_cooccurrence, with_lead, summary)
    session.execute(delete(TargetLink).where(TargetLink.case_id == case.id))
    for start in range(0, len(links), 1000):
        session.execute(insert(TargetLink), links[start : start + 1000])
    summary.targets = kept
    session.add(TargetRun(case_id=case.id, fingerprint=print_, summary=audit.canonical(summary.as_json()), user=user))
    access.record(session, reference=case.reference, user=user, action="targets.link", detail=summary.as_json())
    session.flush()
    return summary


def _write_targets(
    session: Session,
    case_id: int,
    user: str,
    union: AnchoredUnionFind,
    anchors: dict[int, int],
    previous: dict[int, int],
    locked: set[int],
    by_cooccurrence: set[int],
    with_lead: set[int],
    summary: LinkSummary,
) -> int:
    """Members of locked targets stay; automatic targets are rebuilt with stable ids. Returns target count."""
    reusable = set(previous.values())
    rows: list[dict[str, Any]] = []
    automatic: list[tuple[int | None, list[int]]] = []
    groups = sorted(union.groups().values(), key=lambda g: (-len(g), g[0]))
    for group in groups:
        anchor = union.anchor_of(group[0])
        if anchor is not None:
            joiners = [i for i in group if i not in anchors]
            summary.joined_locked += len(joiners)
            rows.extend(_member(case_id, anchor, i, by_cooccurrence) for i in joiners)
            continue
        if len(group) < 2 and not (set(group) & with_lead):
            continue
        before = Counter(previous[i] for i in group if previous.get(i) in reusable)
        target_id = before.most_common(1)[0][0] if before else None
        reusable.discard(target_id)  # type: ignore[arg-type]
        automatic.append((target_id, group))

    unlocked_before = set(previous.values())
    if unlocked_before:
        session.execute(delete(TargetMember).where(TargetMember.target_id.in_(sorted(unlocked_before))))
    if reusable:
        session.execute(delete(Target).where(Target.id.in_(sorted(reusable))))
    fresh = [{"case_id": case_id, "created_by": user} for target_id, _ in automatic if target_id is None]
    new_ids = iter(
        session.scalars(insert(Target).returning(Target.id, sort_by_parameter_order=True), fresh).all() if fresh else []
    )
    for target_id, group in automatic:
        chosen = target_id if target_id is not None else next(new_ids)
        rows.extend(_member(case_id, chosen, i, by_cooccurrence) for i in group)
    for start in range(0, len(rows), 1000):
        session.execute(insert(TargetMember), rows[start : start + 1000])
    return len(automatic) + len(locked)


def _member(case_id: int, target_id: int, identifier_id: int, by_cooccurrence: set[int]) -> dict[str, Any]:
    reason = "co-occurrence" if identifier_id in by_cooccurrence else "fuzzy"
    return {"case_id": case_id, "target_id": target_id, "identifier_id": identifier_id, "reason": reason}


def _link(
    case_id: int,
    identifier_id: int,
    other_identifier_id: int | None,
    reason: str,
    score: float,
    evidence: dict[str, Any],
    other_case_id: int | None = None,
) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "identifier_id": identifier_id,
        "other_identifier_id": other_identifier_id,
        "other_case_id": other_case_id,
        "reason": reason,
        "score": score,
        "evidence": audit.canonical(evidence),
    }


def _where(co: Cooccurrence, unit: Unit) -> dict[str, Any]:
    return {"content_id": unit[0], "record": unit[1], "path": co.paths.get(unit)}


def _case_occurrences(session: Session, case_id: int) -> list[OccurrenceRow]:
    rows = session.execute(
        select(
            IdentifierOccurrence.identifier_id,
            IdentifierOccurrence.content_id,
            IdentifierOccurrence.record,
            IdentifierOccurrence.field,
            IdentifierOccurrence.path,
        )
        .where(IdentifierOccurrence.case_id == case_id, IdentifierOccurrence.record.is_not(None))
        .order_by(IdentifierOccurrence.id)
    )
    # record is never NULL here (the query says so); "" only keeps the type exact
    return [OccurrenceRow(ident, content, record or "", field, path) for ident, content, record, field, path in rows]


def _fuzzy(
    session: Session, case_id: int, co: Cooccurrence, threshold: float, rules: HubRules
) -> tuple[FuzzyResult, dict[int, Unit], dict[int, tuple[int, int | None, dict[str, Any]]]]:
    """Scored record pairs; the case's record ids -> their unit; other cases' record ids -> (case, identifier,
    where). Identifiers that are hubs (here, or in their own case) are left out of the features, so a
    shared support address cannot chain records through the fuzzy route either."""
    identifiers = _record_identifiers(session, co.hubs, rules)
    in_case: list[RecordFeatures] = []
    others: list[RecordFeatures] = []
    record_units: dict[int, Unit] = {}
    other_info: dict[int, tuple[int, int | None, dict[str, Any]]] = {}
    rows = session.execute(
        select(
            IntelRecord.id, IntelRecord.case_id, IntelRecord.content_id, IntelRecord.record, IntelRecord.fields
        ).order_by(IntelRecord.id)
    )
    for record_id, record_case, content_id, record, fields_json in rows:
        unit = (content_id, record)
        found = identifiers.get(unit, [])
        mine = record_case == case_id
        if mine and unit not in co.units:
            continue  # nothing linkable to attach a link to
        try:
            fields = json.loads(fields_json)
        except ValueError:
            continue
        row = features(record_id, record_case, mine, fields if isinstance(fields, dict) else {}, [f[:2] for f in found])
        if not row.useful():
            continue
        if mine:
            in_case.append(row)
            record_units[record_id] = unit
        else:
            others.append(row)
            first = found[0][2] if found else None
            other_info[record_id] = (record_case, first, {"record_id": record_id, "record": record})
    keys = {key: {getattr(r, key) for r in in_case} - {None} for key in BLOCKING_KEYS}
    others = [r for r in others if any(getattr(r, key) in keys[key] for key in BLOCKING_KEYS)]
    return score_pairs(in_case + others, threshold), record_units, other_info


def _record_identifiers(session: Session, hubs: set[int], rules: HubRules) -> dict[Unit, list[tuple[str, str, int]]]:
    """(type, normalized, id) of the identifiers of every record in the store, hubs left out."""
    rows = session.execute(
        select(
            IdentifierOccurrence.case_id,
            IdentifierOccurrence.content_id,
            IdentifierOccurrence.record,
            Identifier.type,
            Identifier.normalized,
            Identifier.id,
        )
        .join(Identifier, Identifier.id == IdentifierOccurrence.identifier_id)
        .where(IdentifierOccurrence.record.is_not(None))
    ).all()
    records_of: dict[tuple[int, int], set[Unit]] = defaultdict(set)
    for case_id, content_id, record, _type, _normalized, identifier_id in rows:
        records_of[(case_id, identifier_id)].add((content_id, record or ""))
    crowded = {key for key, units in records_of.items() if len(units) > rules.max_records}
    found: dict[Unit, set[tuple[str, str, int]]] = defaultdict(set)
    for case_id, content_id, record, kind, normalized, identifier_id in rows:
        if identifier_id in hubs or (case_id, identifier_id) in crowded:
            continue
        found[(content_id, record or "")].add((kind, normalized, identifier_id))
    return {unit: sorted(values) for unit, values in found.items()}
