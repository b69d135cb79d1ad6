"""Matching: exact hashes, PDQ within an inclusive threshold, statuses and pre-categorization."""

from __future__ import annotations

import hashlib
import random

from sqlalchemy import select

from haven.cases import create_case
from haven.matching.run import match_case
from haven.store.models import Content, Decision, HashEntry, HashSet, Match

EMPTY_MD5 = hashlib.md5(b"").hexdigest()


def _flip(hex_hash: str, bits: int, seed: int = 0) -> str:
    value = int(hex_hash, 16)
    for bit in random.Random(seed).sample(range(256), bits):
        value ^= 1 << bit
    return f"{value:064x}"


def _content(case_id: int, name: str, **kw) -> Content:
    data = name.encode()
    fields = {
        "case_id": case_id,
        "sha256": hashlib.sha256(data).hexdigest(),
        "md5": hashlib.md5(data).hexdigest(),
        "sha1": hashlib.sha1(data).hexdigest(),
        "size": len(data),
        "kind": "image",
    }
    fields.update(kw)
    return Content(**fields)


def _set(session, name: str, kind: str, entries: list[dict]) -> HashSet:
    hash_set = HashSet(name=name, kind=kind, format="plain", file_sha256=name * 4, imported_by="t")
    session.add(hash_set)
    session.flush()
    session.add_all(HashEntry(set_id=hash_set.id, **e) for e in entries)
    return hash_set


BASE = "f8f8f0cce0f4e84d0e370a22028f67f0b36e2ed596623e1d33e6339c4e9c9b22"


def _build(store) -> dict[str, int]:
    with store.session() as session:
        case, _ = create_case(session, "C1", user="t")
        contents = {
            "exact": _content(case.id, "exact"),
            "at31": _content(case.id, "at31", pdq=_flip(BASE, 31), pdq_quality=90),
            "at32": _content(case.id, "at32", pdq=_flip(BASE, 32, seed=1), pdq_quality=90),
            "lowq": _content(case.id, "lowq", pdq=BASE, pdq_quality=49),
            "system": _content(case.id, "system", kind="other"),
            "broken": _content(case.id, "broken", error="truncated image"),
            "new": _content(case.id, "new"),
            "empty": _content(case.id, "", size=0, kind="other"),
            "both": _content(case.id, "both"),
        }
        session.add_all(contents.values())
        session.flush()
        _set(
            session,
            "known-list",
            "known",
            [
                {"md5": contents["exact"].md5, "category": "1"},
                {"sha256": contents["both"].sha256, "category": "2"},
                {"pdq": BASE, "category": "3"},
                {"md5": EMPTY_MD5},
            ],
        )
        _set(session, "nsrl", "known-good", [{"sha1": contents["system"].sha1}, {"sha1": contents["both"].sha1}])
        return {name: c.id for name, c in contents.items()}


def test_statuses_thresholds_and_decisions(store) -> None:
    ids = _build(store)
    summary = match_case(store, "C1", user="t", threshold=31, min_quality=50)
    with store.session() as session:
        status = {name: session.get_one(Content, cid).status for name, cid in ids.items()}
        pdq_rows = session.execute(select(Match.content_id, Match.distance).where(Match.method == "pdq")).all()
        decisions = {d.content_id: (d.category, d.source, d.source_detail) for d in session.scalars(select(Decision))}
    assert status["exact"] == "known"
    assert status["at31"] == "near-known"  # the threshold is inclusive
    assert status["at32"] == "unknown"
    assert status["lowq"] == "unknown"  # quality below 50 is never matched
    assert status["system"] == "known-good"
    assert status["both"] == "known"  # known wins over known-good
    assert status["broken"] == "error"
    assert status["new"] == "unknown"
    assert status["empty"] == "unknown"  # the empty file's hash is in every set; it proves nothing
    assert pdq_rows == [(ids["at31"], 31)]
    assert decisions[ids["exact"]] == ("1", "hashset", "known-list")
    assert decisions[ids["at31"]] == ("3", "hashset", "known-list")
    assert summary.by_status["known"] == 2


def test_rematching_adds_nothing_and_keeps_user_decisions(store) -> None:
    ids = _build(store)
    match_case(store, "C1", user="t")
    with store.session() as session:
        session.add(Decision(content_id=ids["new"], category="5", source="user", decided_by="alice"))
    again = match_case(store, "C1", user="t")
    assert (again.exact_matches_added, again.pdq_matches_added, again.decisions_added) == (0, 0, 0)
    with store.session() as session:
        assert session.scalar(select(Decision.category).where(Decision.content_id == ids["new"])) == "5"
        assert len(session.scalars(select(Decision)).all()) == 4
