"""Export this store's register for a partner; import a partner's register; list what was imported.

Export hashes every value of the chosen cases under the agreed key (a user exports only cases whose
intelligence they may see). Import is one transaction, idempotent by the file's SHA-256: the key
fingerprint, the header's MAC and (if signed) the signature are checked before any entry is read; the
entries' count and digest at the end, so a truncated or tampered file leaves no row.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from haven.cases import get_case
from haven.errors import HavenError
from haven.intel.access import NotAMemberError, record
from haven.intel.register.fileformat import (
    RegisterHeader,
    Written,
    read_entries,
    read_header,
    verify_header,
    write_register,
)
from haven.intel.register.keys import AgreedKey, hash_prefix
from haven.intel.register.values import named_values, stream_identifiers, visible_case_ids
from haven.share.keys import trusted_signers
from haven.share.signing import SigningKey, check_agency
from haven.store.models import Case, PartnerRegister, PartnerRegisterEntry

INSERT_BATCH = 10_000
_ENTRY_INSERT = insert(PartnerRegisterEntry.__table__)  # Core executemany: the ORM bulk path costs ~2x here


def export_register(
    session: Session,
    out: Path,
    *,
    key: AgreedKey,
    agency: str,
    contact: str,
    user: str,
    references: Sequence[str] = (),
    signing_key: SigningKey | None = None,
) -> Written:
    """Write the register of ``references`` (none: every case ``user`` may see) to ``out``; audited."""
    agency, contact = check_agency(agency), _check_contact(contact)
    visible = visible_case_ids(session, user)
    if references:
        cases = [get_case(session, ref) for ref in references]
        for case in cases:
            if case.id not in visible:
                raise NotAMemberError(case.reference, user)
        case_ids: set[int] | None = {case.id for case in cases}
    else:
        all_ids = set(session.scalars(select(Case.id)))
        case_ids = None if visible >= all_ids else visible
    written = write_register(
        out, _entries(session, key, case_ids), key=key, agency=agency, contact=contact, signing_key=signing_key
    )
    detail = {
        "file": str(out),
        "sha256": written.sha256,
        "entries": written.entry_count,
        "kinds": written.kinds,
        "key_fingerprint": key.fingerprint,
        "agency": agency,
        "signed_by": signing_key.fingerprint if signing_key else None,
    }
    if references:
        for ref in references:
            record(session, reference=ref, user=user, action="register.export", detail=detail)
    else:
        cases_count = len(all_ids) if case_ids is None else len(case_ids)
        record(session, reference=None, user=user, action="register.export", detail={**detail, "cases": cases_count})
    return written


def _entries(session: Session, key: AgreedKey, case_ids: set[int] | None) -> Iterator[tuple[str, str]]:
    for _id, value in stream_identifiers(session, case_ids):
        yield value.kind, key.hash(value.kind, value.normalized)
    for value, holders in sorted(named_values(session).items(), key=lambda item: (item[0].kind, item[0].normalized)):
        if case_ids is None or holders & case_ids:
            yield value.kind, key.hash(value.kind, value.normalized)


def _check_contact(contact: str) -> str:
    contact = contact.strip()
    if not contact or len(contact) > 500:
        raise HavenError("a contact (whom a partner calls on a match) must be 1 to 500 characters")
    return contact


@dataclass(frozen=True)
class Imported:
    register: PartnerRegister
    added: bool  # False: this very file was imported before


def import_register(session: Session, path: Path, *, key: AgreedKey, user: str) -> Imported:
    """Import a partner's register file with the key agreed with them; all-or-nothing, idempotent, audited."""
    header = read_header(path)
    existing = session.scalar(select(PartnerRegister).where(PartnerRegister.file_sha256 == header.sha256))
    if existing is not None:
        record(
            session,
            reference=None,
            user=user,
            action="register.import",
            detail={"file": str(path), "sha256": header.sha256, "register": existing.id, "already_imported": True},
        )
        return Imported(existing, False)
    verify_header(header, key, trusted_signers(session))
    register = PartnerRegister(
        agency=check_agency(header.agency),
        contact=_check_contact(header.contact),
        key_name=key.name,
        key_fingerprint=key.fingerprint,
        signer_fingerprint=header.signer,
        file_name=path.name,
        file_sha256=header.sha256,
        exported_at=header.created_at,
        imported_by=user,
        entry_count=header.entry_count,
    )
    session.add(register)
    session.flush()
    seen = _insert_entries(session, register.id, header)
    record(
        session,
        reference=None,
        user=user,
        action="register.import",
        detail={
            "file": str(path),
            "sha256": header.sha256,
            "register": register.id,
            "agency": register.agency,
            "entries": seen,
            "key_fingerprint": key.fingerprint,
            "signed_by": header.signer,
        },
    )
    return Imported(register, True)


def _insert_entries(session: Session, register_id: int, header: RegisterHeader) -> int:
    batch: list[dict[str, object]] = []
    seen = 0
    for kind, value_hash in read_entries(header):
        batch.append(
            {"register_id": register_id, "kind": kind, "value_hash": value_hash, "hash_prefix": hash_prefix(value_hash)}
        )
        seen += 1
        if len(batch) >= INSERT_BATCH:
            session.execute(_ENTRY_INSERT, batch)
            batch = []
    if batch:
        session.execute(_ENTRY_INSERT, batch)
    return seen


def remove_register(session: Session, register_id: int, *, user: str) -> PartnerRegister:
    """Drop a partner register and its entries (a partner's newer register replaces it); audited."""
    register = session.get(PartnerRegister, register_id)
    if register is None:
        raise HavenError(f"no partner register {register_id} (haven intel register list)")
    detail = {"register": register.id, "agency": register.agency, "sha256": register.file_sha256}
    session.execute(delete(PartnerRegisterEntry).where(PartnerRegisterEntry.register_id == register.id))
    session.delete(register)
    record(session, reference=None, user=user, action="register.remove", detail=detail)
    return register


def list_registers(session: Session, *, user: str) -> list[PartnerRegister]:
    registers = list(session.scalars(select(PartnerRegister).order_by(PartnerRegister.id)))
    record(session, reference=None, user=user, action="register.list", detail={"registers": len(registers)})
    return registers
