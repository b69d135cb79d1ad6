"""A case's categorized contents as a signed share package (``haven export REF --format haven``).

What goes in, per content with a current category (its latest decision): MD5, SHA-1, SHA-256, PDQ,
size, category, whether that category came from a hash set (``precategorized``) or a reviewer, and,
from the known-set entries it matched, the series name and the victim/offender-identified flags. No
media ever. No paths unless asked for (``include_paths``): names on a seized device can name a victim.

Where matched entries disagree, an exact match's series wins over a perceptual one (then the oldest
entry), and a flag is true when any entry says true: a partner saying a victim was identified is
the fact that matters to the receiver, whoever else has not heard of it yet.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import __version__, audit
from haven.cases import case_chain, get_case
from haven.errors import HavenError
from haven.exports import ExportResult, categorized_contents, file_sha256, keyset_pages, media_record
from haven.matching.exact import EXACT_METHODS
from haven.share.signing import load_signing_key
from haven.share.writer import write_package
from haven.store import Store
from haven.store.models import Content, HashEntry, HashSet, Match, Occurrence

FLAGS = ("victim_identified", "offender_identified")


def export_case_package(
    store: Store, reference: str, out: Path, *, user: str, key_path: Path, include_paths: bool = False
) -> ExportResult:
    key = load_signing_key(key_path)
    with store.session() as session:
        case = get_case(session, reference)
        agency = key.agency or case.agency
        if not agency:
            raise HavenError(f"{key_path}: the signing key names no agency and case {reference} has none either")
        written = write_package(
            out,
            _case_entries(session, case.id, include_paths=include_paths),
            key=key,
            agency=agency,
            case_reference=case.reference,
            scheme=case.scheme,
            creator={"user": user, "software": f"haven {__version__}"},
            includes_paths=include_paths,
        )
        result = ExportResult(out, "haven", written.entries, 0, file_sha256(out))
        audit.record(
            session,
            chain=case_chain(reference),
            user=user,
            action="export",
            detail={
                "format": "haven",
                "out": str(out.resolve()),
                "written": written.entries,
                "left_out": 0,
                "sha256": result.sha256,
                "package_id": written.manifest.package_id,
                "payload_sha256": written.manifest.payload_sha256,
                "signer_fingerprint": key.fingerprint,
                "agency": agency,
                "includes_paths": include_paths,
            },
        )
    return result


def _case_entries(session: Session, case_id: int, *, include_paths: bool) -> Iterator[dict[str, Any]]:
    """One payload entry per categorized content, a keyset page of contents at a time, with one
    query per batch for what matched entries say and, when asked, one for paths: never one per content."""
    for rows in keyset_pages(session, categorized_contents(case_id), Content.id):
        ids = [row.id for row in rows]
        known = _known_facts(session, ids)
        paths = _paths(session, ids) if include_paths else {}
        for row in rows:
            entry: dict[str, Any] = {**media_record(row), **known.get(row.id, {})}
            if include_paths:
                entry["paths"] = paths.get(row.id, [])
            yield entry


def _known_facts(session: Session, content_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Series and identified flags from the known-set entries each content matched."""
    rows = session.execute(
        select(Match.content_id, Match.method, HashEntry.id, HashEntry.series, *(getattr(HashEntry, f) for f in FLAGS))
        .join(HashEntry, HashEntry.id == Match.entry_id)
        .join(HashSet, HashSet.id == Match.set_id)
        .where(Match.content_id.in_(content_ids), HashSet.kind == "known")
    ).all()
    facts: dict[int, dict[str, Any]] = defaultdict(dict)
    for row in sorted(rows, key=lambda r: (r.method not in EXACT_METHODS, r.id)):
        found = facts[row.content_id]
        if row.series and "series" not in found:
            found["series"] = row.series
        for flag in FLAGS:
            value = getattr(row, flag)
            if value is not None and not found.get(flag):
                found[flag] = value
    return facts


def _paths(session: Session, content_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    query = select(Occurrence.content_id, Occurrence.path).where(Occurrence.content_id.in_(content_ids))
    for content_id, path in session.execute(query.order_by(Occurrence.content_id, Occurrence.path)):
        if content_id is not None:  # always, given the filter; the column itself is nullable
            found[content_id].append(path)
    return found
