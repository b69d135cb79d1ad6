"""Referral packages: per destination country, what a receiving unit needs to act (never media).

``write_referral`` gathers the document (``package``), renders it as STIX 2.1 (``stix``), JSON or HTML
(``html``), writes it atomically (``haven.atomic``), records it in the ``referral`` table and audits it with
the file's SHA-256, all in one transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from haven.atomic import atomic_text
from haven.errors import HavenError
from haven.intel import access
from haven.intel.agencies import TLP_LEVELS, Directory, iso_alpha2
from haven.intel.referral.html import referral_html
from haven.intel.referral.package import referral_document
from haven.intel.referral.stix import stix_bundle
from haven.store import Store
from haven.store.models import Identifier, Referral

FORMATS = ("stix", "json", "html")


@dataclass(frozen=True)
class ReferralResult:
    out: Path
    country: str
    format: str
    sha256: str
    targets: int
    identifiers: int
    contents: int
    tlp: str


def write_referral(
    store: Store,
    reference: str,
    *,
    country: str,
    fmt: str,
    out: Path,
    user: str,
    directory: Directory,
    tlp: str | None = None,
) -> ReferralResult:
    """Write the referral of case ``reference`` for ``country`` as ``fmt`` to ``out``."""
    if fmt not in FORMATS:
        raise HavenError(f"unknown referral format {fmt!r} (choose from: {', '.join(FORMATS)})")
    code = iso_alpha2(country)
    if code is None:
        raise HavenError(f"{country!r} is not an ISO 3166-1 country code")
    marking = (tlp or directory.tlp).lower()
    if marking not in TLP_LEVELS:
        raise HavenError(f"TLP must be one of {', '.join(TLP_LEVELS)}, not {tlp!r}")
    with store.session() as session:
        case = access.intel_case(session, reference, user)
        document = referral_document(session, case, code, directory, user=user, tlp=marking)
        if fmt == "stix":
            ids = [i["id"] for i in document["identifiers"]]
            first_seen: dict[int, datetime] = dict(
                session.execute(select(Identifier.id, Identifier.first_seen_at).where(Identifier.id.in_(ids))).all()
            )
            text = stix_bundle(document, first_seen=first_seen)
        elif fmt == "json":
            text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        else:
            text = referral_html(document)
        with atomic_text(out, errors="surrogateescape") as stream:
            stream.write(text)
        result = ReferralResult(
            out,
            code,
            fmt,
            stream.hexdigest(),
            len(document["targets"]),
            len(document["identifiers"]),
            len(document["contents"]),
            marking,
        )
        session.add(
            Referral(
                case_id=case.id,
                country=code,
                format=fmt,
                sha256=result.sha256,
                target_count=result.targets,
                identifier_count=result.identifiers,
                tlp=marking,
                created_by=user,
            )
        )
        access.record(
            session,
            reference=reference,
            user=user,
            action="referral",
            detail={
                "country": code,
                "format": fmt,
                "out": str(out.resolve()),
                "sha256": result.sha256,
                "targets": result.targets,
                "identifiers": result.identifiers,
                "contents": result.contents,
                "tlp": marking,
                "recipient": document["recipient"]["unit"],
            },
        )
    return result
