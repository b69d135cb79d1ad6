"""What the local register holds, derived live from the store, and which cases hold a value.

Kinds: the identifier types (``email``, ``phone`` ...: the identifier's normalized form), ``series`` (series
names of the known-set entries a case's contents matched) and ``victim`` (face identities an analyst named).
Targets are not values of their own: a target is the set of its identifiers' keyed hashes, so it overlaps
wherever one of them does (see ``deconflict``).

No table mirrors this: ``identifier`` is unique store-wide and ``identifier_occurrence`` is indexed on
``(identifier_id, case_id)``, so "which other cases hold these 10,000 identifiers" is an index lookup each.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haven.intel.types import IDENTIFIER_TYPES
from haven.store.models import (
    AppUser,
    Case,
    CaseMember,
    Content,
    FaceIdentity,
    HashEntry,
    Identifier,
    IdentifierOccurrence,
    Match,
)

T = TypeVar("T")

SERIES = "series"
VICTIM = "victim"
TARGET = "target"
KINDS: tuple[str, ...] = (*IDENTIFIER_TYPES, SERIES, VICTIM)
"""Kinds a register file may carry (``target`` is derived, never exchanged on its own)."""
CHUNK = 900  # bound parameters per IN (...): under SQLite's old limit of 999
HASH_CHUNK = 5000  # keyed hashes per IN (...): SQLite >= 3.32 allows 32,766 parameters, PostgreSQL 65,535


@dataclass(frozen=True, slots=True)
class Value:
    """One register value: its kind and normalized form (the keyed hash is computed from both)."""

    kind: str
    normalized: str


def normalize_name(name: str) -> str:
    """Series and victim names: one spelling per name (case and spacing do not make another series)."""
    return " ".join(name.split()).casefold()


def chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    listed = list(items)
    for start in range(0, len(listed), size):
        yield listed[start : start + size]


# ---------------------------------------------------------------- identifiers


def case_identifiers(session: Session, case_id: int) -> dict[int, Value]:
    """The identifiers a case holds, by identifier id."""
    held = select(IdentifierOccurrence.identifier_id).where(IdentifierOccurrence.case_id == case_id).distinct()
    rows = session.connection().execute(
        select(Identifier.id, Identifier.type, Identifier.normalized).where(Identifier.id.in_(held.scalar_subquery()))
    )
    return {identifier_id: Value(kind, normalized) for identifier_id, kind, normalized in rows}


def case_identifier_holders(session: Session, case_id: int) -> dict[int, set[int]]:
    """Every case (this one included) holding each identifier of ``case_id``: one self-join on the
    ``(identifier_id, case_id)`` index, not one query per chunk of identifiers."""
    mine = IdentifierOccurrence.__table__.alias("mine")
    other = IdentifierOccurrence.__table__.alias("other")
    rows = session.connection().execute(
        select(other.c.identifier_id, other.c.case_id)
        .join(mine, mine.c.identifier_id == other.c.identifier_id)
        .where(mine.c.case_id == case_id)
        .distinct()
    )
    holders: dict[int, set[int]] = defaultdict(set)
    for identifier_id, holder in rows:
        holders[identifier_id].add(holder)
    return holders


def identifier_holders(session: Session, identifier_ids: Iterable[int]) -> dict[int, set[int]]:
    """Case ids holding each identifier."""
    holders: dict[int, set[int]] = defaultdict(set)
    for chunk in chunks(list(identifier_ids)):
        rows = session.connection().execute(
            select(IdentifierOccurrence.identifier_id, IdentifierOccurrence.case_id)
            .where(IdentifierOccurrence.identifier_id.in_(chunk))
            .distinct()
        )
        for identifier_id, case_id in rows:
            holders[identifier_id].add(case_id)
    return holders


def shared_identifier_ids(session: Session) -> list[int]:
    """Identifiers held by more than one case of the store."""
    return list(
        session.scalars(
            select(IdentifierOccurrence.identifier_id)
            .group_by(IdentifierOccurrence.identifier_id)
            .having(func.count(func.distinct(IdentifierOccurrence.case_id)) > 1)
        )
    )


def identifiers_of(session: Session, ids: Iterable[int]) -> dict[int, Value]:
    found: dict[int, Value] = {}
    for chunk in chunks(list(ids)):
        for row in session.execute(
            select(Identifier.id, Identifier.type, Identifier.normalized).where(Identifier.id.in_(chunk))
        ):
            found[row.id] = Value(row.type, row.normalized)
    return found


def stream_identifiers(
    session: Session, case_ids: Collection[int] | None, batch: int = 10_000
) -> Iterator[tuple[int, Value]]:
    """Every identifier the given cases hold (all cases: None), once each, in id order, streamed."""
    held = select(IdentifierOccurrence.identifier_id)
    if case_ids is not None:
        held = held.where(IdentifierOccurrence.case_id.in_(list(case_ids)))
    query = (
        select(Identifier.id, Identifier.type, Identifier.normalized)
        .where(Identifier.id.in_(held.scalar_subquery()))
        .order_by(Identifier.id)
    )
    # Core rows on the session's connection: no ORM row processing for a million identifiers.
    result = session.connection().execute(query.execution_options(yield_per=batch))
    for identifier_id, kind, normalized in result:
        yield identifier_id, Value(kind, normalized)


# ---------------------------------------------------------------- series and victims


def series_holders(session: Session) -> dict[str, set[int]]:
    """Normalized series name -> cases whose contents matched a known entry of that series."""
    rows = session.execute(
        select(Content.case_id, HashEntry.series)
        .join(Match, Match.content_id == Content.id)
        .join(HashEntry, HashEntry.id == Match.entry_id)
        .where(HashEntry.series.is_not(None))
        .distinct()
    )
    return _by_name(rows)


def victim_holders(session: Session) -> dict[str, set[int]]:
    """Normalized victim name -> cases with a face identity an analyst gave that name."""
    rows = session.execute(
        select(FaceIdentity.case_id, FaceIdentity.name)
        .where(FaceIdentity.analyst_named.is_(True), FaceIdentity.name.is_not(None))
        .distinct()
    )
    return _by_name(rows)


def _by_name(rows: Iterable[tuple[int, str]]) -> dict[str, set[int]]:
    holders: dict[str, set[int]] = defaultdict(set)
    for case_id, name in rows:
        normalized = normalize_name(name)
        if normalized:
            holders[normalized].add(case_id)
    return dict(holders)


def named_values(session: Session) -> dict[Value, set[int]]:
    """Series and victim values of the whole store, with the cases holding each."""
    found: dict[Value, set[int]] = {}
    for kind, holders in ((SERIES, series_holders(session)), (VICTIM, victim_holders(session))):
        for name, cases in holders.items():
            found[Value(kind, name)] = cases
    return found


# ---------------------------------------------------------------- cases and who may see them


def case_references(session: Session) -> dict[int, str]:
    return {case_id: reference for case_id, reference in session.execute(select(Case.id, Case.reference))}


def visible_case_ids(session: Session, user: str | None) -> set[int]:
    """Cases whose intelligence ``user`` may see (``haven.intel.access.may_see``, for every case at once)."""
    with_members = select(CaseMember.case_id).distinct().scalar_subquery()
    visible = set(session.scalars(select(Case.id).where(Case.id.not_in(with_members))))
    if user is not None:
        visible |= set(
            session.scalars(
                select(CaseMember.case_id)
                .join(AppUser, AppUser.id == CaseMember.user_id)
                .where(AppUser.name == user, AppUser.disabled.is_(False))
            )
        )
    return visible
