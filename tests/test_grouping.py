"""Near-duplicate stacks: no chaining, exclusions counted, across cases, decisions on a whole stack."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from haven.cases import create_case
from haven.matching.grouping import build_groups, groups_for_case
from haven.review.decide import decide
from haven.store.models import Content, Decision

BASE = int("f8f8f0cce0f4e84d0e370a22028f67f0b36e2ed596623e1d33e6339c4e9c9b22", 16)


def flipped(first_bit: int, last_bit: int) -> str:
    """BASE with bits [first_bit, last_bit) flipped: distances between such hashes are exact."""
    mask = sum(1 << b for b in range(first_bit, last_bit))
    return f"{BASE ^ mask:064x}"


def add(session, case_id: int, name: str, pdq: str, quality: int = 90) -> int:
    sha = hashlib.sha256(name.encode()).hexdigest()
    content = Content(
        case_id=case_id, sha256=sha, md5=sha[:32], sha1=sha[:40], size=10, kind="image", pdq=pdq, pdq_quality=quality
    )
    session.add(content)
    session.flush()
    return content.id


def test_a_chain_is_not_one_stack(store) -> None:
    with store.session() as session:
        case, _ = create_case(session, "G-1", user="t")
        # A-B-C-D: neighbours are 20 bits apart, A-C 40, A-D 60: single linkage would make one stack.
        ids = {n: add(session, case.id, n, flipped(0, bits)) for n, bits in (("A", 0), ("B", 20), ("C", 40), ("D", 60))}
        summary = build_groups(session, threshold=31)
        stacks = groups_for_case(session, case.id)
    assert summary.groups == 1 and summary.grouped_contents == 3
    (stack,) = stacks
    members = {m["sha256"] for m in stack.members}
    sha = {n: hashlib.sha256(n.encode()).hexdigest() for n in ids}
    assert not {sha["A"], sha["D"]} <= members  # never A and D together
    assert all(m["distance"] <= 31 for m in stack.members)  # everyone near the representative
    assert stack.max_distance <= 31
    assert stack.representative in (sha["B"], sha["C"])


def test_threshold_is_inclusive_and_exclusions_are_counted(store) -> None:
    with store.session() as session:
        case, _ = create_case(session, "G-2", user="t")
        add(session, case.id, "p", flipped(0, 0))
        add(session, case.id, "p31", flipped(0, 31))
        add(session, case.id, "q", flipped(100, 100))  # same hash as p, but...
        add(session, case.id, "low", flipped(0, 1), quality=40)
        add(session, case.id, "flat", flipped(0, 2), quality=0)
        add(session, case.id, "far", flipped(0, 32 + 31 + 1))
        summary = build_groups(session, threshold=31, min_quality=50)
    assert summary.excluded_low_quality == 1
    assert summary.excluded_featureless == 1
    assert summary.groups == 1 and summary.grouped_contents == 3  # p, q and p31 (at exactly 31)


def test_stacks_span_cases_and_decisions_propagate_within_the_case(store) -> None:
    with store.session() as session:
        one, _ = create_case(session, "G-3", user="t")
        two, _ = create_case(session, "G-4", user="t")
        rep = add(session, one.id, "r", flipped(0, 0))
        near = add(session, one.id, "n", flipped(0, 5))
        elsewhere = add(session, two.id, "e", flipped(0, 6))
        summary = build_groups(session, threshold=31)
        assert summary.cross_case_groups == 1
        (stack,) = groups_for_case(session, one.id)
        assert {m["case"] for m in stack.members} == {"G-3", "G-4"}
        assert groups_for_case(session, two.id)[0].id == stack.id
        result = decide(session, one, [rep], "1", "alice")
        rows = {d.content_id: (d.category, d.source) for d in session.scalars(select(Decision))}
    assert result.propagated == 1
    assert rows[rep] == ("1", "user")
    assert rows[near] == ("1", "propagated")
    assert elsewhere not in rows  # another case's categorization is its own
