"""Who may see a case's intelligence, and the audit record every intel action leaves.

Identifiers name people under investigation: only members of the case see them. A case with no members
at all is a single analyst's store (nobody has been given accounts), where the local operator is the
investigator; as soon as anyone is a member, membership decides, for the CLI as for the web app.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from haven import audit
from haven.cases import case_chain, get_case
from haven.errors import HavenError
from haven.store.models import AppUser, Case, CaseMember


class NotAMemberError(HavenError):
    def __init__(self, reference: str, user: str) -> None:
        super().__init__(
            f"'{user}' is not a member of case '{reference}': its intelligence is shown only to members "
            f"(an administrator can add you: haven case add-member {reference} {user})"
        )


def may_see(session: Session, case: Case, user: str) -> bool:
    has_members = session.scalar(select(exists().where(CaseMember.case_id == case.id)))
    if not has_members:
        return True
    member = session.scalar(
        select(
            exists().where(
                CaseMember.case_id == case.id,
                AppUser.id == CaseMember.user_id,
                AppUser.name == user,
                AppUser.disabled.is_(False),
            )
        )
    )
    return bool(member)


def intel_case(session: Session, reference: str, user: str) -> Case:
    """The case ``reference`` if ``user`` may see its intelligence; NotAMemberError otherwise."""
    case = get_case(session, reference)
    if not may_see(session, case, user):
        raise NotAMemberError(reference, user)
    return case


def record(session: Session, *, reference: str | None, user: str, action: str, detail: dict[str, Any]) -> None:
    """Audit one intel action (``intel.<action>``) on the case's chain, or the global chain without a case."""
    chain = case_chain(reference) if reference else audit.GLOBAL_CHAIN
    audit.record(session, chain=chain, user=user, action=f"intel.{action}", detail=detail)
