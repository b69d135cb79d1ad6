"""Cases and their sources (exhibits)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import audit
from haven.errors import CaseNotFoundError
from haven.schemes import get_scheme
from haven.store.models import Case, Source


def get_case(session: Session, reference: str) -> Case:
    case = session.scalar(select(Case).where(Case.reference == reference))
    if case is None:
        raise CaseNotFoundError(reference)
    return case


def create_case(
    session: Session, reference: str, *, user: str, title: str | None = None, scheme: str = "vic-us"
) -> tuple[Case, bool]:
    """Return (case, created). An existing case with the same reference is returned unchanged.

    ``scheme`` is any category scheme in the store: a preset (vic-us, vic-ca, caid-uk) or a custom one.
    """
    existing = session.scalar(select(Case).where(Case.reference == reference))
    if existing is not None:
        return existing, False
    get_scheme(session, scheme)  # raises, naming the schemes there are
    case = Case(reference=reference, title=title, scheme=scheme, created_by=user)
    session.add(case)
    session.flush()
    audit.record(
        session,
        chain=case_chain(reference),
        user=user,
        action="case.create",
        detail={"reference": reference, "title": title, "scheme": scheme},
    )
    return case, True


def case_chain(reference: str) -> str:
    return f"case:{reference}"


def register_source(session: Session, case: Case, path: Path, label: str, *, user: str) -> tuple[Source, bool]:
    """Find or register the exhibit at ``path`` (resolved). Re-registering returns the existing one."""
    location = str(path.resolve())
    source = session.scalar(select(Source).where(Source.case_id == case.id, Source.location == location))
    if source is not None:
        return source, False
    is_dir = path.is_dir()
    source = Source(
        case_id=case.id,
        label=label,
        kind="folder" if is_dir else "file",
        location=location,
        size=None if is_dir else path.stat().st_size,
        registered_by=user,
    )
    session.add(source)
    session.flush()
    audit.record(
        session,
        chain=case_chain(case.reference),
        user=user,
        action="source.register",
        detail={"label": label, "location": location, "kind": source.kind},
    )
    return source, True
