"""Targets (issue 7): co-occurrence with its hub guard, fuzzy record linkage within and across cases
(splink), and analyst actions that survive re-runs. On SQLite and PostgreSQL; benign synthetic data."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from haven.errors import HavenError
from haven.intel.targets.actions import merge_targets, name_target, note_target, split_target
from haven.intel.targets.cooccurrence import AnchoredUnionFind, HubRules, OccurrenceRow, analyse, field_key
from haven.intel.targets.listing import list_targets
from haven.intel.targets.service import ensure_linked, link_case
from haven.store import Store
from haven.store.models import AuditEvent, TargetAction, TargetLink
from intel_targets_builders import CaseRows, identifier


def by_values(targets: list[dict[str, Any]]) -> dict[frozenset[str], dict[str, Any]]:
    return {frozenset(i["normalized"] for i in t["identifiers"]): t for t in targets}


def target_of(targets: list[dict[str, Any]], normalized: str) -> dict[str, Any] | None:
    return next((t for t in targets if any(i["normalized"] == normalized for i in t["identifiers"])), None)


def test_identifiers_of_one_record_become_one_target_chained_by_shared_identifiers(store: Store) -> None:
    with store.session() as session:
        rows = CaseRows(session, "OP-T1")
        rows.row("customers.csv", "row:2", [("email", "anna@example.org"), ("phone", "+441632960001")])
        rows.row("customers.csv", "row:3", [("email", "anna@example.org"), ("handle", "telegram/anna_k")])
        rows.row(
            "customers.csv",
            "row:4",
            [("email", "bob@example.net"), ("wallet", "btc:1BoatSLRHtKNngkdXEeobR76b53LETtpyT")],
        )
        rows.row("customers.csv", "row:5", [("email", "loner@example.com")])
        rows.occur(rows.content("chat.txt"), identifier(session, "email", "bob@example.net"), record=None)  # free text
        summary = link_case(session, rows.case, "tester")
        targets = list_targets(session, rows.case)

    assert summary.targets == 2 and summary.hubs == 0
    found = by_values(targets)
    anna = found[frozenset({"anna@example.org", "+441632960001", "telegram/anna_k"})]
    assert {i["reason"] for i in anna["identifiers"]} == {"co-occurrence"}
    assert {tuple(sorted(r["between"])) for r in anna["reasons"]} == {
        ("+441632960001", "anna@example.org"),
        ("anna@example.org", "telegram/anna_k"),
    }
    assert {r["evidence"]["record"] for r in anna["reasons"]} == {"row:2", "row:3"}
    assert all(r["evidence"]["path"] == "EX1:/customers.csv" for r in anna["reasons"])
    assert frozenset({"bob@example.net", "btc:1BoatSLRHtKNngkdXEeobR76b53LETtpyT"}) in found
    assert target_of(targets, "loner@example.com") is None  # alone in its record: not a target


def test_hub_identifiers_and_list_records_do_not_chain_a_case_together(store: Store) -> None:
    with store.session() as session:
        rows = CaseRows(session, "OP-HUB")
        for n in range(15):  # every order carries the shop's support address and the shop's NAT address
            rows.row(
                "orders.csv",
                f"row:{n + 2}",
                [
                    ("email", f"customer{n}@example.org"),
                    ("phone", f"+4416329600{n:02d}"),
                    ("email", "support@shop.example"),
                    ("ipv4", "203.0.113.7"),
                ],
            )
        rows.row(  # a mail: sender and their IP belong together, the recipients are other people
            "mail.mbox",
            "message:1:headers",
            [
                ("email", "sender@example.org", "From"),
                ("ipv4", "198.51.100.23", "X-Originating-IP"),
                ("email", "customer1@example.org", "To"),
                ("email", "customer2@example.org", "header:Cc"),
                ("domain", "news.example.net", "Path"),  # the servers in between are not the sender either
                ("email", "abuse@news.example.net", "X-Complaints-To"),
            ],
        )
        rows.row("users.json", "object:1", [("handle", f"unknown/user{n}") for n in range(40)])  # a list
        summary = link_case(session, rows.case, "tester")
        targets = list_targets(session, rows.case)

    assert summary.hubs == 2 and summary.list_records == 1
    assert target_of(targets, "support@shop.example") is None and target_of(targets, "203.0.113.7") is None
    assert len(targets) == 16  # 15 customers + the sender
    for n in range(15):
        customer = target_of(targets, f"customer{n}@example.org")
        assert customer is not None
        assert {i["normalized"] for i in customer["identifiers"]} == {f"customer{n}@example.org", f"+4416329600{n:02d}"}
    sender = target_of(targets, "sender@example.org")
    assert sender is not None and {i["normalized"] for i in sender["identifiers"]} == {
        "sender@example.org",
        "198.51.100.23",
    }
    assert target_of(targets, "unknown/user0") is None


def test_hub_rule_counts_records_and_distinct_neighbours() -> None:
    def occ(identifier: int, record: int) -> OccurrenceRow:
        return OccurrenceRow(identifier, 1, f"row:{record}", None, "EX1:/x.csv")

    rules = HubRules(max_records=3, max_neighbours=4, max_record_identifiers=5)
    # 1 is in 4 records: a hub by count. 2 is in 2 records beside 5 different identifiers: a hub by breadth.
    # 10 is in 3 records beside the same partner 11 every time: a person, not a hub.
    rows = [occ(1, r) for r in range(4)] + [occ(100 + r, r) for r in range(4)]
    rows += [occ(2, 10), occ(20, 10), occ(21, 10), occ(22, 10), occ(2, 11), occ(23, 11), occ(24, 11)]
    rows += [row for r in (20, 21, 22) for row in (occ(10, r), occ(11, r))]
    found = analyse(rows, rules)
    assert found.hubs == {1, 2}
    assert found.units[(1, "row:20")] == [10, 11]
    assert found.units[(1, "row:0")] == [100]
    assert field_key("header:Delivered-To") == "deliveredto" and field_key(None) == ""

    union = AnchoredUnionFind({1: 7, 2: 7, 3: 8})
    assert union.union(1, 4) and union.union(3, 5)
    assert not union.union(4, 5)  # would join two analysts' targets
    assert union.anchor_of(4) == 7 and union.anchor_of(5) == 8 and union.refused == 1
    assert union.find(2) == union.find(1)


def fuzzy_cases(session: Any) -> CaseRows:
    a = CaseRows(session, "OP-FUZZ-A")
    a.row(
        "shop-customers.csv",
        "row:2",
        [("email", "j.smith+shop@example.org")],
        {"Name": "Jonathan Smith", "Address": "12 High Street, Leeds", "Postcode": "LS1 4AB"},
    )
    a.row(
        "forum-users.csv",
        "row:9",
        [("phone", "+441632960555")],
        {"first name": "Jonathan", "last name": "Smith", "street": "12 High St", "city": "Leeds", "zip": "LS14AB"},
    )
    a.row(
        "shop-customers.csv",
        "row:3",
        [("email", "maria@example.es")],
        {"Name": "Maria Garcia", "Address": "4 Calle Mayor"},
    )
    a.row(
        "forum-users.csv", "row:10", [("phone", "+34600111222")], {"Name": "Maria Garcia", "Address": "99 Other Road"}
    )
    b = CaseRows(session, "OP-FUZZ-B")  # another investigation's seized customer list
    b.row(
        "list.csv",
        "row:40",
        [("email", "jsmith@mail.example")],
        {"full_name": "Jon Smith", "street": "12 High St", "city": "Leeds", "zip": "LS1 4AB"},
    )
    b.row("list.csv", "row:41", [("email", "someone@else.example")], {"full_name": "Peter Jones", "zip": "N1 9GU"})
    c = CaseRows(session, "OP-FUZZ-C")  # holds one of the very same identifiers
    c.row("notes.csv", "row:1", [("phone", "+441632960555"), ("email", "other@example.com")])
    return a


def test_fuzzy_record_linkage_links_within_the_case_and_leads_to_other_cases(store: Store) -> None:
    with store.session() as session:
        a = fuzzy_cases(session)
        summary = link_case(session, a.case, "tester")
        targets = list_targets(session, a.case)
        leads = session.scalars(select(TargetLink).where(TargetLink.other_case_id.is_not(None))).all()

    # Both of Smith's records match the other case's row (two leads); Peter Jones matches nothing.
    assert summary.fuzzy_model == "priors" and summary.fuzzy_links == 1 and summary.leads == 2
    smith = target_of(targets, "j.smith+shop@example.org")
    assert smith is not None
    assert {i["normalized"]: i["reason"] for i in smith["identifiers"]} == {
        "j.smith+shop@example.org": "fuzzy",
        "+441632960555": "fuzzy",
    }
    (reason,) = smith["reasons"]
    assert reason["reason"] == "fuzzy" and reason["score"] >= 0.9
    assert {r["record"] for r in reason["evidence"]["records"]} == {"row:2", "row:9"}
    cases = {c["reference"]: c for c in smith["cases"]}
    assert cases["OP-FUZZ-B"]["reasons"] == ["fuzzy"] and cases["OP-FUZZ-B"]["score"] >= 0.9
    assert cases["OP-FUZZ-C"] == {"reference": "OP-FUZZ-C", "reasons": ["identifier"], "shared": ["+441632960555"],
                                  "score": 1.0}  # fmt: skip
    assert {json.loads(lead.evidence)["other_record"]["record"] for lead in leads} == {"row:40"}
    # The same name with different addresses is not enough.
    assert target_of(targets, "maria@example.es") is None


def test_a_stricter_threshold_links_less(store: Store) -> None:
    with store.session() as session:
        a = fuzzy_cases(session)
        summary = link_case(session, a.case, "tester", threshold=0.999999999)
    assert summary.fuzzy_links == 0 and summary.targets == 0


def test_analyst_actions_are_kept_in_order_and_survive_relinking(store: Store) -> None:
    with store.session() as session:
        rows = CaseRows(session, "OP-ACT")
        rows.row("a.csv", "row:1", [("email", "p1@example.org"), ("phone", "+441632960101"), ("ipv4", "192.0.2.10")])
        rows.row("a.csv", "row:2", [("email", "p2@example.org"), ("phone", "+441632960102")])
        rows.row("a.csv", "row:3", [("email", "p3@example.org"), ("handle", "kik/p3")])
        rows.row("a.csv", "row:4", [("email", "p4@example.org"), ("handle", "kik/p4")])
        link_case(session, rows.case, "tester")
        before = list_targets(session, rows.case)
        t1 = target_of(before, "p1@example.org")["id"]  # type: ignore[index]
        t2 = target_of(before, "p2@example.org")["id"]  # type: ignore[index]
        t3 = target_of(before, "p3@example.org")["id"]  # type: ignore[index]
        t4 = target_of(before, "p4@example.org")["id"]  # type: ignore[index]

        name_target(session, rows.case, t1, "Pat One", user="analyst")
        split = split_target(session, rows.case, t1, ["ipv4:192.0.2.10"], user="analyst")
        merge_targets(session, rows.case, t2, t3, user="analyst")
        note_target(session, rows.case, t2, "Same person: shared payment card", user="analyst")
        with pytest.raises(HavenError, match="at least one identifier"):
            split_target(session, rows.case, t4, ["p4@example.org", "kik/p4"], user="analyst")
        with pytest.raises(HavenError, match="no target"):
            name_target(session, rows.case, 999_999, "x", user="analyst")

        # New evidence: the split-off IP co-occurs with p1 again, and p1's phone with a new handle.
        rows.row("b.csv", "row:1", [("email", "p1@example.org"), ("ipv4", "192.0.2.10"), ("handle", "kik/pat1")])
        summary = ensure_linked(session, rows.case, "tester")
        assert summary is not None and summary.refused >= 1 and summary.joined_locked == 1
        assert ensure_linked(session, rows.case, "tester") is None  # nothing changed since
        after = list_targets(session, rows.case)
        actions = session.scalars(select(TargetAction).order_by(TargetAction.id)).all()
        audited = session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("intel.targets.%"))).all()

    pat = by_values(after)[frozenset({"p1@example.org", "+441632960101", "kik/pat1"})]
    assert (pat["id"], pat["name"], pat["locked"]) == (t1, "Pat One", True)
    ip = by_values(after)[frozenset({"192.0.2.10"})]
    assert ip["id"] == split.target_id and ip["locked"] and ip["identifiers"][0]["reason"] == "analyst"
    merged = by_values(after)[frozenset({"p2@example.org", "+441632960102", "p3@example.org", "kik/p3"})]
    assert (merged["id"], merged["notes"]) == (t2, "Same person: shared payment card")
    assert target_of(after, "p4@example.org")["id"] == t4  # type: ignore[index] # automatic, id kept
    assert [(a.action, a.target_id) for a in actions] == [("name", t1), ("split", t1), ("merge", t2), ("note", t2)]
    assert json.loads(actions[2].detail)["merged"] == t3
    assert {"intel.targets.name", "intel.targets.split", "intel.targets.merge", "intel.targets.note",
            "intel.targets.link"} <= set(audited)  # fmt: skip
