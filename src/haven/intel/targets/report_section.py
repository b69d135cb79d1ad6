"""What the case report and the web app show of a case's targets: counts, and the picture.

The report stays read-only: it shows the targets as the last linking run left them (``haven intel
targets link REF`` or ``haven intel targets REF`` brings them up to date). The picture names identifiers,
so it is drawn only for a user who may see the case's intelligence (``haven.intel.access.may_see``); the
counts are always given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haven.intel import access
from haven.intel.targets.listing import list_targets
from haven.intel.targets.service import last_run
from haven.intel.targets.svg import targets_svg
from haven.store.models import Case, IdentifierOccurrence, Target


@dataclass(frozen=True)
class IntelSection:
    counts: dict[str, int]
    """report.json's ``intel`` key: ``{identifiers, targets}``."""
    svg: str | None
    """The targets picture; None when there are no targets or the user may not see them."""
    linked_at: str | None
    hidden: bool
    """True: there are targets, but the user is not a member of the case."""


def intel_counts(session: Session, case_id: int) -> dict[str, int]:
    identifiers = session.scalar(
        select(func.count(func.distinct(IdentifierOccurrence.identifier_id))).where(
            IdentifierOccurrence.case_id == case_id
        )
    )
    targets = session.scalar(select(func.count()).select_from(Target).where(Target.case_id == case_id))
    return {"identifiers": identifiers or 0, "targets": targets or 0}


def intel_section(session: Session, case_id: int, user: str | None = None) -> IntelSection:
    """Counts and picture for the report; ``user`` None: the configured local user (``HAVEN_USER``)."""
    if user is None:
        from haven.config import load_config

        user = load_config().user
    case = session.get(Case, case_id)
    assert case is not None
    counts = intel_counts(session, case_id)
    run = last_run(session, case_id)
    linked_at = _iso(run.at) if run is not None else None
    if not counts["targets"]:
        return IntelSection(counts, None, linked_at, hidden=False)
    if not access.may_see(session, case, user):
        return IntelSection(counts, None, linked_at, hidden=True)
    svg = targets_svg(list_targets(session, case, user), title=f"Targets in case {case.reference}")
    return IntelSection(counts, svg, linked_at, hidden=False)


def case_targets_svg(session: Session, reference: str, user: str) -> str:
    """The targets picture of a case for the web app: members only (NotAMemberError), audited."""
    case = access.intel_case(session, reference, user)
    targets = list_targets(session, case, user)
    access.record(session, reference=reference, user=user, action="targets.picture", detail={"targets": len(targets)})
    return targets_svg(targets, title=f"Targets in case {reference}")


def _iso(value: datetime) -> str:
    """ISO 8601 UTC; SQLite hands back naive datetimes (the store only writes UTC)."""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat(timespec="seconds")
