"""Deconfliction: who else works the same identifier, target, series or victim.

Within the store, an overlap names the other cases holding the value, but only those the user may see;
the rest are counted (``restricted_cases``), so a user learns that another unit of their own agency
works it without learning what. Against partner registers, the value's keyed hash under the key agreed
with each partner is looked up: a match shows that partner's agency and contact, never their case (a
register file does not know it).

``value_hash`` is the hash under the first matching partner's key (the one to quote when calling them),
or under this store's ``local`` key when only cases of this store overlap. A target overlaps wherever one
of its identifiers does; its hash is over its identifiers' local hashes.

Reading only: callers audit (``haven intel deconflict`` does; the web app and the report record their own).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from haven.config import load_config
from haven.intel.register.keys import AgreedKey, KeyRing, RegisterKeyError, hash_prefix
from haven.intel.register.values import (
    HASH_CHUNK,
    KINDS,
    TARGET,
    Value,
    case_identifier_holders,
    case_identifiers,
    case_references,
    chunks,
    identifier_holders,
    identifiers_of,
    named_values,
    shared_identifier_ids,
    stream_identifiers,
    visible_case_ids,
)
from haven.store.models import Case, PartnerRegister, PartnerRegisterEntry, Target, TargetMember

RESTRICTED = "another case in this store (restricted)"
_KIND_ORDER = {kind: position for position, kind in enumerate((TARGET, *KINDS))}
_HASH_BATCH = 5000


@dataclass(frozen=True, slots=True)
class PartnerHit:
    register_id: int
    agency: str
    contact: str
    value_hash: str  # under the key agreed with this partner

    def to_json(self) -> dict[str, str]:
        return {"agency": self.agency, "contact": self.contact, "value_hash": self.value_hash}


@dataclass
class Overlap:
    """One value held elsewhere. ``cases``: references the user may see; ``restricted_cases``: the others."""

    kind: str
    value_hash: str
    value: str
    cases: list[str]
    restricted_cases: int
    partners: list[PartnerHit]
    target: str | None = None  # kind "target": the local target (name, or "target N")
    identifiers: int = 0  # kind "target": how many of its identifiers overlap

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "kind": self.kind,
            "value_hash": self.value_hash,
            "cases": self.cases,
            "restricted_cases": self.restricted_cases,
            "partners": [hit.to_json() for hit in self.partners],
            "value": self.value,
        }
        if self.kind == TARGET:
            found["target"] = self.target
            found["identifiers"] = self.identifiers
        return found


@dataclass
class Deconfliction:
    overlaps: list[Overlap]
    warnings: list[str] = field(default_factory=list)  # partner registers whose key is missing here


def deconflict_case(
    session: Session, case: Case, *, user: str | None = None, ring: KeyRing | None = None
) -> list[Overlap]:
    """Overlaps of ``case`` with the store's other cases and with partner registers (for the web app and
    the report). Other cases are named only if ``user`` may see them; the caller checks ``user`` may see
    ``case`` (``haven.intel.access.intel_case``) and audits."""
    return deconflict(session, case, user=user, ring=ring).overlaps


def deconflict(session: Session, case: Case | None, *, user: str | None, ring: KeyRing | None = None) -> Deconfliction:
    """Overlaps of ``case``, or (None) every overlap in the store that involves a case ``user`` may see."""
    ring = ring or KeyRing(load_config().home)
    partners = _PartnerIndex(session, ring)
    if case is not None:
        ids = case_identifiers(session, case.id)
        holders = {ids[i]: cases for i, cases in case_identifier_holders(session, case.id).items() if i in ids}
        named = {value: cases for value, cases in named_values(session).items() if case.id in cases}
        holders.update(named)
        hits = partners.lookup(holders.keys())
        scope = {case.id}
    else:
        ids = identifiers_of(session, shared_identifier_ids(session))
        hits, hit_ids = partners.lookup_identifiers(stream_identifiers(session, None))
        ids.update(hit_ids)
        holders = _identifier_holders(session, ids)
        named = named_values(session)
        hits.update(partners.lookup(named.keys()))
        holders.update(named)
        scope = None
    visible = visible_case_ids(session, user)
    builder = _Builder(session, ring.local(), visible, case_references(session))
    overlaps = builder.values(holders, hits, case.id if case else None)
    overlaps += builder.targets(ids, holders, hits, scope)
    overlaps.sort(key=lambda o: (_KIND_ORDER.get(o.kind, 99), -len(o.partners) - len(o.cases), o.value))
    return Deconfliction(overlaps, partners.warnings)


def _identifier_holders(session: Session, ids: dict[int, Value]) -> dict[Value, set[int]]:
    return {ids[identifier_id]: cases for identifier_id, cases in identifier_holders(session, ids).items()}


class _PartnerIndex:
    """Partner registers grouped by the agreed key their hashes were made with."""

    def __init__(self, session: Session, ring: KeyRing) -> None:
        self.session = session
        self.warnings: list[str] = []
        self.keys: list[tuple[AgreedKey, dict[int, PartnerRegister]]] = []
        by_name: dict[str, list[PartnerRegister]] = defaultdict(list)
        for register in session.scalars(select(PartnerRegister).order_by(PartnerRegister.id)):
            by_name[register.key_name].append(register)
        for name, registers in by_name.items():
            try:
                key = ring.load(name)
            except RegisterKeyError:
                self.warnings.append(
                    f"{len(registers)} partner register(s) ({', '.join(sorted({r.agency for r in registers}))}) were "
                    f"imported with key '{name}', which is not in {ring.directory}: not checked"
                )
                continue
            usable = {r.id: r for r in registers if r.key_fingerprint == key.fingerprint}
            if len(usable) < len(registers):
                self.warnings.append(
                    f"key '{name}' changed since some registers were imported with it: those not checked"
                )
            if usable:
                self.keys.append((key, usable))

    def lookup(self, values: Iterable[Value]) -> dict[Value, list[PartnerHit]]:
        hits: dict[Value, list[PartnerHit]] = defaultdict(list)
        listed = list(values)
        for key, registers in self.keys:
            for batch in chunks(listed, _HASH_BATCH):
                self._probe(key, registers, {key.hash(v.kind, v.normalized): v for v in batch}, hits)
        return dict(hits)

    def lookup_identifiers(
        self, identifiers: Iterator[tuple[int, Value]]
    ) -> tuple[dict[Value, list[PartnerHit]], dict[int, Value]]:
        """Every identifier streamed past each key; returns the hits and the matching identifiers by id."""
        hits: dict[Value, list[PartnerHit]] = defaultdict(list)
        matched: dict[int, Value] = {}
        if not self.keys:
            return {}, {}
        batch: list[tuple[int, Value]] = []
        for item in identifiers:
            batch.append(item)
            if len(batch) >= _HASH_BATCH:
                self._probe_batch(batch, hits, matched)
                batch = []
        self._probe_batch(batch, hits, matched)
        return dict(hits), matched

    def _probe_batch(
        self, batch: list[tuple[int, Value]], hits: dict[Value, list[PartnerHit]], matched: dict[int, Value]
    ) -> None:
        for key, registers in self.keys:
            found = self._probe(key, registers, {key.hash(v.kind, v.normalized): v for _i, v in batch}, hits)
            matched.update((i, v) for i, v in batch if v in found)

    def _probe(
        self,
        key: AgreedKey,
        registers: dict[int, PartnerRegister],
        hashed: dict[str, Value],
        hits: dict[Value, list[PartnerHit]],
    ) -> set[Value]:
        found: set[Value] = set()
        prefixes = sorted({hash_prefix(value_hash) for value_hash in hashed})
        for chunk in chunks(prefixes, HASH_CHUNK):
            rows = self.session.connection().execute(
                # On the prefix alone: a register condition lets a planner pick a scan of that register.
                select(PartnerRegisterEntry.register_id, PartnerRegisterEntry.value_hash).where(
                    PartnerRegisterEntry.hash_prefix.in_(chunk)
                )
            )
            for register_id, value_hash in rows:
                value, register = hashed.get(value_hash), registers.get(register_id)
                if value is None or register is None:  # same first 8 bytes, other hash; or another key's register
                    continue
                hits[value].append(PartnerHit(register_id, register.agency, register.contact, value_hash))
                found.add(value)
        return found


class _Builder:
    def __init__(self, session: Session, local: AgreedKey, visible: set[int], references: dict[int, str]) -> None:
        self.session, self.local, self.visible, self.references = session, local, visible, references

    def values(
        self, holders: dict[Value, set[int]], hits: dict[Value, list[PartnerHit]], own_case: int | None
    ) -> list[Overlap]:
        overlaps = []
        for value, cases in holders.items():
            partners = _distinct(hits.get(value, []))
            if own_case is not None:
                listed = cases - {own_case}
                if not (listed or partners):
                    continue
            else:
                listed = cases
                if not (len(cases) > 1 or partners) or not cases & self.visible:
                    continue
            overlaps.append(self._overlap(value.kind, value.normalized, listed, partners))
        return overlaps

    def targets(
        self,
        ids: dict[int, Value],
        holders: dict[Value, set[int]],
        hits: dict[Value, list[PartnerHit]],
        scope: set[int] | None,
    ) -> list[Overlap]:
        """A target overlaps where any of its identifiers does (in another case, or at a partner)."""
        by_target: dict[int, tuple[int, str | None, list[Value]]] = {}
        query = select(Target.id, Target.case_id, Target.name, TargetMember.identifier_id).join(
            TargetMember, TargetMember.target_id == Target.id
        )
        query = query.where(Target.case_id.in_(list(scope if scope is not None else self.visible)))
        for target_id, case_id, name, identifier_id in self.session.execute(query):
            value = ids.get(identifier_id)
            if value is not None:
                by_target.setdefault(target_id, (case_id, name, []))[2].append(value)
        overlaps = []
        for target_id, (case_id, name, members) in by_target.items():
            others = set().union(*(holders.get(v, set()) for v in members)) - {case_id}
            partners = _distinct([hit for v in members for hit in hits.get(v, [])])
            overlapping = [v for v in members if holders.get(v, set()) - {case_id} or v in hits]
            if not overlapping:
                continue
            member_hashes = sorted(self.local.hash(v.kind, v.normalized) for v in overlapping)
            overlap = self._overlap(TARGET, "\n".join(member_hashes), others, [])  # its own hash, not a member's
            overlap.value = name or f"target {target_id}"
            overlap.target = f"{self.references.get(case_id, '?')}: {overlap.value}"
            overlap.identifiers = len(overlapping)
            overlap.partners = partners
            overlaps.append(overlap)
        return overlaps

    def _overlap(self, kind: str, normalized: str, cases: set[int], partners: list[PartnerHit]) -> Overlap:
        named = sorted(self.references[c] for c in cases if c in self.visible)
        value_hash = partners[0].value_hash if partners else self.local.hash(kind, normalized)
        return Overlap(kind, value_hash, normalized, named, len(cases) - len(named), partners)


def _distinct(hits: list[PartnerHit]) -> list[PartnerHit]:
    seen: dict[int, PartnerHit] = {}
    for hit in hits:
        seen.setdefault(hit.register_id, hit)
    return sorted(seen.values(), key=lambda h: (h.agency, h.register_id))
