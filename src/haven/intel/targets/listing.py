"""A case's targets as plain data: the `haven intel targets REF --json` shape.

``[{id, name, notes, locked, identifiers: [{type, value, normalized, country, reason}], reasons: [{reason,
score, between: [normalized, normalized], evidence}], cases: [{reference, reasons, shared, score}]}]``,
largest first. ``cases``: other cases holding one of the target's identifiers (``identifier``, with the
shared normalized values) or a record splink matched to one of its records (``fuzzy``, with the best match
probability): the lead "this customer also appears in case X". Nothing of the other case is shown but its
reference, and with ``user`` given, not even that when the user may not see that case (``RESTRICTED``): the
existence of a case is not revealed to non-members (the web app answers 404 to them too).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from haven.intel import access
from haven.store.models import Case, Identifier, IdentifierOccurrence, Target, TargetLink, TargetMember

BATCH = 500
RESTRICTED = "(a case you are not a member of)"


def list_targets(session: Session, case: Case, user: str | None = None) -> list[dict[str, Any]]:
    targets: dict[int, dict[str, Any]] = {
        t.id: {"id": t.id, "name": t.name, "notes": t.notes, "locked": t.locked, "identifiers": [], "reasons": [],
               "cases": []}
        for t in session.scalars(select(Target).where(Target.case_id == case.id).order_by(Target.id))
    }  # fmt: skip
    target_of: dict[int, int] = {}
    normalized: dict[int, str] = {}
    rows = session.execute(
        select(
            TargetMember.target_id,
            TargetMember.reason,
            Identifier.id,
            Identifier.type,
            Identifier.value,
            Identifier.normalized,
            Identifier.country,
        )
        .join(Identifier, Identifier.id == TargetMember.identifier_id)
        .where(TargetMember.case_id == case.id)
        .order_by(Identifier.type, Identifier.normalized)
    )
    for target_id, reason, identifier_id, kind, value, norm, country in rows:
        target_of[identifier_id] = target_id
        normalized[identifier_id] = norm
        targets[target_id]["identifiers"].append(
            {"type": kind, "value": value, "normalized": norm, "country": country, "reason": reason}
        )
    _add_reasons(session, case.id, targets, target_of, normalized)
    _add_cases(session, case.id, targets, target_of, normalized)
    if user is not None:
        _restrict(session, targets, user)
    return sorted(targets.values(), key=lambda t: (-len(t["identifiers"]), t["id"]))


def _add_reasons(
    session: Session, case_id: int, targets: dict[int, dict[str, Any]], target_of: dict[int, int],
    normalized: dict[int, str],
) -> None:  # fmt: skip
    links = session.execute(
        select(TargetLink)
        .where(TargetLink.case_id == case_id, TargetLink.other_case_id.is_(None))
        .order_by(TargetLink.id)
    ).scalars()
    for link in links:
        target = target_of.get(link.identifier_id)
        if target is None or target_of.get(link.other_identifier_id or -1) != target:
            continue  # a link an analyst undid (split) is no reason for this target any more
        targets[target]["reasons"].append(
            {
                "reason": link.reason,
                "score": link.score,
                "between": [normalized[link.identifier_id], normalized[link.other_identifier_id or -1]],
                "evidence": json.loads(link.evidence),
            }
        )


def _add_cases(
    session: Session, case_id: int, targets: dict[int, dict[str, Any]], target_of: dict[int, int],
    normalized: dict[int, str],
) -> None:  # fmt: skip
    found: dict[tuple[int, str], dict[str, Any]] = {}

    def entry(target: int, reference: str) -> dict[str, Any]:
        return found.setdefault(
            (target, reference), {"reference": reference, "reasons": [], "shared": [], "score": 0.0}
        )

    ids = sorted(target_of)
    for start in range(0, len(ids), BATCH):
        rows = session.execute(
            select(IdentifierOccurrence.identifier_id, Case.reference)
            .join(Case, Case.id == IdentifierOccurrence.case_id)
            .where(
                IdentifierOccurrence.identifier_id.in_(ids[start : start + BATCH]),
                IdentifierOccurrence.case_id != case_id,
            )
            .distinct()
        )
        for identifier_id, reference in rows:
            item = entry(target_of[identifier_id], reference)
            if "identifier" not in item["reasons"]:
                item["reasons"].append("identifier")
            item["shared"].append(normalized[identifier_id])
            item["score"] = 1.0
    leads = session.execute(
        select(TargetLink.identifier_id, TargetLink.score, Case.reference)
        .join(Case, Case.id == TargetLink.other_case_id)
        .where(TargetLink.case_id == case_id, TargetLink.other_case_id.is_not(None))
    )
    for identifier_id, score, reference in leads:
        if identifier_id not in target_of:
            continue
        item = entry(target_of[identifier_id], reference)
        if "fuzzy" not in item["reasons"]:
            item["reasons"].append("fuzzy")
        item["score"] = max(item["score"], score)
    for (target, _reference), item in sorted(found.items(), key=lambda kv: kv[0]):
        item["shared"].sort()
        targets[target]["cases"].append(item)


def _restrict(session: Session, targets: dict[int, dict[str, Any]], user: str) -> None:
    visible: dict[str, bool] = {}
    for target in targets.values():
        for lead in target["cases"]:
            reference = lead["reference"]
            if reference not in visible:
                other = session.scalar(select(Case).where(Case.reference == reference))
                visible[reference] = other is not None and access.may_see(session, other, user)
            if not visible[reference]:
                lead["reference"] = RESTRICTED
