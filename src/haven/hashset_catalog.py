"""Hash sets already imported: listing, describing and removing them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from haven import audit
from haven.errors import HavenError
from haven.matching.status import update_statuses
from haven.store.current_category import refresh_case_categories
from haven.store.models import Content, Decision, HashEntry, HashEntryFrame, HashSet, Match


class HashSetNotFoundError(HavenError):
    def __init__(self, name: str) -> None:
        super().__init__(f"no hash set named '{name}' (see: haven hashset list)")


def describe_sets(session: Session) -> list[dict[str, Any]]:
    """Every set with its entry counts by hash type and how many contents it matched."""
    entry_counts = {
        set_id: (total, md5, sha1, sha256, pdq, photodna)
        for set_id, total, md5, sha1, sha256, pdq, photodna in session.execute(
            select(
                HashEntry.set_id,
                func.count(),
                func.count(HashEntry.md5),
                func.count(HashEntry.sha1),
                func.count(HashEntry.sha256),
                func.count(HashEntry.pdq),
                func.count(HashEntry.photodna),
            ).group_by(HashEntry.set_id)
        )
    }
    videos = dict(
        session.execute(
            select(HashEntry.set_id, func.count(func.distinct(HashEntryFrame.entry_id)))
            .join(HashEntryFrame, HashEntryFrame.entry_id == HashEntry.id)
            .group_by(HashEntry.set_id)
        ).all()
    )
    matched = dict(
        session.execute(select(Match.set_id, func.count(func.distinct(Match.content_id))).group_by(Match.set_id)).all()
    )
    described = []
    for hash_set in session.scalars(select(HashSet).order_by(HashSet.name)):
        total, md5, sha1, sha256, pdq, photodna = entry_counts.get(hash_set.id, (0, 0, 0, 0, 0, 0))
        described.append(
            {
                "name": hash_set.name,
                "kind": hash_set.kind,
                "format": hash_set.format,
                "scheme": hash_set.scheme,
                "entries": total,
                "by_hash": {"md5": md5, "sha1": sha1, "sha256": sha256, "pdq": pdq, "photodna": photodna},
                "videos": videos.get(hash_set.id, 0),
                "skipped_at_import": hash_set.skipped_count,
                "matched_contents": matched.get(hash_set.id, 0),
                "file_name": hash_set.file_name,
                "file_sha256": hash_set.file_sha256,
                "imported_at": hash_set.imported_at.isoformat(timespec="seconds"),
                "imported_by": hash_set.imported_by,
                **_provenance(hash_set),
            }
        )
    return described


def _provenance(hash_set: HashSet) -> dict[str, Any]:
    """Who a set imported from a signed share package came from (nothing for other formats)."""
    if hash_set.signer_fingerprint is None:
        return {}
    shared_at = hash_set.shared_at
    return {
        "agency": hash_set.agency,
        "case_reference": hash_set.case_reference,
        "shared_at": shared_at.isoformat(timespec="seconds") if shared_at else None,
        "signer_fingerprint": hash_set.signer_fingerprint,
    }


def describe_set(session: Session, name: str) -> dict[str, Any]:
    for described in describe_sets(session):
        if described["name"] == name:
            return described
    raise HashSetNotFoundError(name)


def remove_hashset(session: Session, name: str, *, user: str) -> dict[str, int]:
    """Delete a set, its entries and matches, and the pre-categorizations it made; statuses are re-derived.

    A person's decisions are kept. The audit log keeps what was removed.
    """
    hash_set = session.scalar(select(HashSet).where(HashSet.name == name))
    if hash_set is None:
        raise HashSetNotFoundError(name)
    affected_cases = set(
        session.scalars(
            select(Content.case_id).join(Match, Match.content_id == Content.id).where(Match.set_id == hash_set.id)
        )
    )
    matches = session.scalar(select(func.count(Match.id)).where(Match.set_id == hash_set.id)) or 0
    decisions = session.execute(
        delete(Decision).where(Decision.source == "hashset", Decision.source_detail == name)
    ).rowcount
    entries = session.scalar(select(func.count(HashEntry.id)).where(HashEntry.set_id == hash_set.id)) or 0
    session.execute(delete(Match).where(Match.set_id == hash_set.id))
    entry_ids = select(HashEntry.id).where(HashEntry.set_id == hash_set.id)
    session.execute(delete(HashEntryFrame).where(HashEntryFrame.entry_id.in_(entry_ids)))
    session.execute(delete(HashEntry).where(HashEntry.set_id == hash_set.id))
    session.delete(hash_set)
    session.flush()
    for case_id in affected_cases:
        update_statuses(session, case_id)
        refresh_case_categories(session, case_id)  # its pre-categorizations are gone
    removed = {
        "entries": entries,
        "matches": matches,
        "decisions": decisions or 0,
        "cases_affected": len(affected_cases),
    }
    audit.record(
        session,
        chain=audit.GLOBAL_CHAIN,
        user=user,
        action="hashset.remove",
        detail={"name": name, "file_sha256": hash_set.file_sha256, **removed},
    )
    return removed
