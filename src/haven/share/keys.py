"""Trusted partner keys in the store: trust, revoke, list, and the lookup the importer verifies against.

Trusting is a person's decision that a public key belongs to an agency (after checking its fingerprint
with them over another channel); the agency recorded then, not whatever a package claims, is what an
imported set's provenance names. Keys are revoked, never deleted: a package signed by a revoked key is
refused with that reason, and the audit log's records keep pointing at a row that exists. Every change
is audit-logged on the global chain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import audit
from haven.errors import HavenError
from haven.share.signing import TrustedSigner, check_agency, fingerprint, load_public_key, short
from haven.store.models import TrustedKey, utcnow

PREFIX_MIN = 8  # hex digits of a fingerprint accepted to name a key
_HEX = re.compile(r"[0-9a-f]+").fullmatch


@dataclass(frozen=True)
class TrustOutcome:
    fingerprint: str
    agency: str
    change: str  # "added" | "restored" (was revoked) | "unchanged"


def trust_key(session: Session, public_key_file: Path, *, agency: str, user: str) -> TrustOutcome:
    """Record the key in ``public_key_file`` as belonging to ``agency``."""
    agency = check_agency(agency)
    raw = load_public_key(public_key_file)
    digest = fingerprint(raw)
    existing = session.scalar(select(TrustedKey).where(TrustedKey.fingerprint == digest))
    if existing is not None and existing.agency != agency:
        raise HavenError(
            f"key {short(digest)} is already recorded for agency '{existing.agency}'; "
            f"one key belongs to one agency (untrust it first if that record is wrong)"
        )
    if existing is not None and existing.revoked_at is None:
        return TrustOutcome(digest, agency, "unchanged")
    if existing is None:
        session.add(TrustedKey(fingerprint=digest, agency=agency, public_key=raw, added_by=user))
        change = "added"
    else:
        existing.revoked_at, existing.revoked_by = None, None
        change = "restored"
    session.flush()
    audit.record(
        session,
        chain=audit.GLOBAL_CHAIN,
        user=user,
        action="keys.trust",
        detail={"fingerprint": digest, "agency": agency, "change": change, "file": str(public_key_file.resolve())},
    )
    return TrustOutcome(digest, agency, change)


def untrust_key(session: Session, fingerprint_prefix: str, *, user: str) -> TrustedKey:
    """Revoke the trusted key named by its fingerprint (or a prefix of at least PREFIX_MIN digits)."""
    key = find_key(session, fingerprint_prefix)
    if key.revoked_at is not None:
        revoked = f"{key.revoked_at:%Y-%m-%d}"
        raise HavenError(f"key {short(key.fingerprint)} ({key.agency}) was already revoked on {revoked}")
    key.revoked_at, key.revoked_by = utcnow(), user
    session.flush()
    audit.record(
        session,
        chain=audit.GLOBAL_CHAIN,
        user=user,
        action="keys.untrust",
        detail={"fingerprint": key.fingerprint, "agency": key.agency},
    )
    return key


def find_key(session: Session, fingerprint_prefix: str) -> TrustedKey:
    prefix = fingerprint_prefix.strip().lower().removeprefix("sha256:")
    if len(prefix) < PREFIX_MIN or len(prefix) > 64 or not _HEX(prefix):
        raise HavenError(f"give a key's fingerprint: {PREFIX_MIN} to 64 hex digits (see: haven keys list)")
    found = list(session.scalars(select(TrustedKey).where(TrustedKey.fingerprint.startswith(prefix)).limit(2)))
    if not found:
        raise HavenError(f"no trusted key with fingerprint {prefix} (see: haven keys list)")
    if len(found) > 1:
        raise HavenError(f"fingerprint {prefix} names more than one key; give more digits")
    return found[0]


def list_keys(session: Session) -> list[TrustedKey]:
    return list(session.scalars(select(TrustedKey).order_by(TrustedKey.agency, TrustedKey.added_at)))


def trusted_signers(session: Session) -> dict[str, TrustedSigner]:
    """Every recorded key by fingerprint, revoked ones included (so a refusal can say it was revoked)."""
    return {
        key.fingerprint: TrustedSigner(key.fingerprint, key.agency, bytes(key.public_key), _aware(key.revoked_at))
        for key in session.scalars(select(TrustedKey))
    }


def record_generated(session: Session, *, fingerprint_hex: str, agency: str, private_key: Path, user: str) -> None:
    """Audit a new signing key (the store keeps no private key; the record says where it was written)."""
    audit.record(
        session,
        chain=audit.GLOBAL_CHAIN,
        user=user,
        action="keys.generate",
        detail={"fingerprint": fingerprint_hex, "agency": agency, "private_key": str(private_key.resolve())},
    )


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored as UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
