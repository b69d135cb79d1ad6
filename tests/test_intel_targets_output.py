"""Targets out of the store (issue 7): the GraphML link graph, the SVG picture, the case report's
Intelligence section and the `haven intel targets` commands, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from typer.testing import CliRunner

from conftest import HavenEnv
from haven.accounts import add_member, create_user
from haven.cli import app
from haven.intel.access import NotAMemberError
from haven.intel.targets.graph import build_graph, write_graphml
from haven.intel.targets.listing import RESTRICTED, list_targets
from haven.intel.targets.report_section import case_targets_svg
from haven.intel.targets.service import link_case
from haven.intel.targets.svg import MAX_TARGETS, targets_svg
from haven.report import write_report
from haven.store import Store, open_store
from intel_extract_builders import CSV_TEXT, EML
from intel_targets_builders import CaseRows

runner = CliRunner()
SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "evil\u202e<script>alert(1)</script>@example.org"


def build(session: Any) -> CaseRows:
    """OP-OUT: two targets (one with a hostile-looking value), a fuzzy pair, and a lead into OP-OTHER."""
    rows = CaseRows(session, "OP-OUT")
    rows.row("list.csv", "row:1", [("email", "kim@example.org"), ("phone", "+441632960201"), ("handle", "kik/kim")])
    rows.row("list.csv", "row:2", [("email", HOSTILE), ("ipv4", "198.51.100.9")])
    rows.row(
        "a.csv",
        "row:1",
        [("email", "lee.one@example.org")],
        {"Name": "Lee One", "Address": "5 Mill Lane", "zip": "N1 1AA"},
    )
    rows.row(
        "b.csv", "row:7", [("phone", "+441632960999")], {"Name": "Lee One", "Address": "5 Mill Ln", "zip": "N1 1AA"}
    )
    other = CaseRows(session, "OP-OTHER")
    other.row("x.csv", "row:3", [("handle", "kik/kim"), ("email", "kim2@example.net")])
    return rows


def test_graphml_round_trips_with_targets_identifiers_evidence_and_leads(store: Store, tmp_path: Path) -> None:
    with store.session() as session:
        rows = build(session)
        link_case(session, rows.case, "tester")
        targets = list_targets(session, rows.case)
    graph = build_graph("OP-OUT", targets)
    path = tmp_path / "targets.graphml"
    digest = write_graphml(graph, path)
    back = nx.read_graphml(path)
    assert len(digest) == 64 and back.number_of_nodes() == graph.number_of_nodes() == 13
    kinds = [data["kind"] for _, data in back.nodes(data=True)]
    assert [kinds.count(kind) for kind in ("target", "identifier", "record", "case")] == [3, 7, 2, 1]
    kim = back.nodes["identifier:email:kim@example.org"]
    assert (kim["type"], kim["value"], kim["country"]) == ("email", "kim@example.org", "")
    edge_kinds = sorted(data["kind"] for _, _, data in back.edges(data=True))
    assert edge_kinds.count("member") == 7 and edge_kinds.count("fuzzy") == 1 and edge_kinds.count("lead") == 1
    assert back.has_edge("identifier:email:kim@example.org", "record:1:row:1")
    (lead,) = [(u, v, d) for u, v, d in back.edges(data=True) if d["kind"] == "lead"]
    assert "case:OP-OTHER" in lead[:2] and lead[2]["shared"] == "kik/kim" and lead[2]["score"] == 1.0
    (fuzzy,) = [d for _, _, d in back.edges(data=True) if d["kind"] == "fuzzy"]
    assert fuzzy["score"] >= 0.9 and json.loads(fuzzy["evidence"])["model"] == "priors"


def test_svg_picture_is_well_formed_labelled_and_escaped(store: Store) -> None:
    with store.session() as session:
        rows = build(session)
        link_case(session, rows.case, "tester")
        svg = case_targets_svg(session, "OP-OUT", "tester")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert "kim@example.org" in texts and "case OP-OTHER" in texts and "Target 1" in " ".join(texts)
    assert "<script>" not in svg and "\u202e" not in svg and "⟨U+202E⟩" in svg  # escaped, bidi made visible
    assert len(list(root.iter(f"{SVG}circle"))) >= 10  # 7 identifiers + 3 targets (+ legend)

    many = [
        {"id": n, "name": None, "notes": None, "locked": False, "reasons": [], "cases": [],
         "identifiers": [{"type": "email", "value": f"p{n}-{k}@x.example", "normalized": f"p{n}-{k}@x.example",
                          "country": None, "reason": "co-occurrence"} for k in range(20)]}
        for n in range(MAX_TARGETS + 5)
    ]  # fmt: skip
    big = ET.fromstring(targets_svg(many))
    assert big.findtext(f"{SVG}desc") == f"{MAX_TARGETS + 5} target(s); the {MAX_TARGETS} largest drawn"
    assert "Target 0 (+8 more)" in [t.text for t in big.iter(f"{SVG}text")]
    assert ET.fromstring(targets_svg([])).find(f".//{SVG}text[@class='empty']") is not None


def test_report_has_an_intelligence_section_for_members_only(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HAVEN_USER", "tester")
    store = open_store(store_url)
    try:
        with store.session() as session:
            rows = build(session)
            link_case(session, rows.case, "tester")
        paths = write_report(store, "OP-OUT", tmp_path / "report")
        html = paths.html_path.read_text()
        doc = json.loads(paths.json_path.read_text())
        assert doc["intel"] == {"identifiers": 7, "targets": 3}
        assert '<h2 id="intel">Intelligence</h2>' in html and 'href="#intel"' in html
        assert '<svg xmlns="http://www.w3.org/2000/svg" id="intel-targets"' in html and "kim@example.org" in html

        with store.session() as session:  # once the case has members, only they see the picture
            create_user(session, "someone", "a long enough passphrase 1", role="investigator", by="admin")
            add_member(session, "OP-OUT", "someone", role="investigator", by="admin")
        hidden = write_report(store, "OP-OUT", tmp_path / "hidden").html_path.read_text()
        assert "shown only to members of the case" in hidden and "kim@example.org" not in hidden
        assert '<h2 id="intel">Intelligence</h2>' in hidden
    finally:
        store.dispose()


def run(*args: str, code: int = 0) -> Any:
    result = runner.invoke(app, ["-q", *args])
    assert result.exit_code == code, result.output
    return result


def test_cli_lists_links_acts_and_exports(haven_env: HavenEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(haven_env.url)
    try:
        with store.session() as session:
            build(session)
    finally:
        store.dispose()
    first = run("intel", "targets", "OP-OUT", "--json")
    assert "Linked OP-OUT: 3 targets" in first.stderr  # links first: the case is new
    targets = json.loads(first.stdout)
    assert len(targets) == 3
    kim = next(t for t in targets if any(i["normalized"] == "kik/kim" for i in t["identifiers"]))
    assert set(kim) >= {"id", "name", "notes", "identifiers", "reasons", "cases"}
    assert {"type": "handle", "value": "kik/kim", "normalized": "kik/kim", "country": None,
            "reason": "co-occurrence"} in kim["identifiers"]  # fmt: skip
    assert kim["cases"][0]["reference"] == "OP-OTHER"

    run("intel", "targets", "name", "OP-OUT", str(kim["id"]), "Kim")
    run("intel", "targets", "note", "OP-OUT", str(kim["id"]), "Seen on two lists")
    split = run("intel", "targets", "split", "OP-OUT", str(kim["id"]), "--identifiers", "kik/kim").stdout
    assert "Split off target" in split
    others = [t["id"] for t in targets if t["id"] != kim["id"]]
    assert "Kept target" in run("intel", "targets", "merge", "OP-OUT", str(others[0]), str(others[1])).stdout
    assert "Linked" in run("intel", "targets", "link", "OP-OUT", "--threshold", "0.95").stdout
    listed = run("intel", "targets", "OP-OUT", "--json")
    assert "Linked" not in listed.stderr  # up to date: the analyst's threshold is not undone by listing
    after = {t["name"]: t for t in json.loads(listed.stdout)}
    assert {i["normalized"] for i in after["Kim"]["identifiers"]} == {"kim@example.org", "+441632960201"}
    assert after["Kim"]["notes"] == "Seen on two lists"

    out, picture = tmp_path / "g.graphml", tmp_path / "g.svg"
    assert "nodes" in run("intel", "targets", "graph", "OP-OUT", "--out", str(out), "--svg", str(picture)).stdout
    assert nx.read_graphml(out).number_of_nodes() > 0 and ET.parse(picture).getroot().tag == f"{SVG}svg"
    assert "Kim" in run("intel", "targets", "OP-OUT").stdout

    store = open_store(haven_env.url)
    try:
        with store.session() as session:
            create_user(session, "member", "a long enough passphrase 2", role="investigator", by="admin")
            add_member(session, "OP-OUT", "member", role="investigator", by="admin")
    finally:
        store.dispose()
    refused = run("intel", "targets", "OP-OUT", "--json", code=1)
    assert isinstance(refused.exception, NotAMemberError) and refused.stdout == ""
    assert isinstance(run("intel", "targets", "name", "OP-OUT", "1", "x", code=1).exception, NotAMemberError)


def test_extracted_customer_list_and_mail_become_targets(haven_env: HavenEnv, tmp_path: Path) -> None:
    """The whole chain on real files: ingest, `haven intel extract`, then `haven intel targets`."""
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    (evidence / "customers.csv").write_text(CSV_TEXT)
    (evidence / "order.eml").write_bytes(EML)
    run("case", "create", "OP-E2E")
    run("ingest", "OP-E2E", str(evidence), "--workers", "1")
    run("intel", "extract", "OP-E2E", "--workers", "1")
    targets = json.loads(run("intel", "targets", "OP-E2E", "--json").stdout)
    found = {frozenset(i["normalized"] for i in t["identifiers"]) for t in targets}
    assert found == {
        frozenset({"ada.customer@example.com", "+442079460958", "telegram/ada_trades", "198.51.100.7"}),
        frozenset({"ben.customer@example.org", "+61491570156", "telegram/ben_buys", "198.51.100.8"}),
        frozenset({"eve.sender@example.com", "eve.backup@example.net", "198.51.100.44"}),  # not To, not Received
    }


def test_leads_name_only_cases_the_user_may_see(store: Store) -> None:
    with store.session() as session:
        rows = build(session)
        link_case(session, rows.case, "tester")
        assert {c["reference"] for t in list_targets(session, rows.case, "tester") for c in t["cases"]} == {"OP-OTHER"}
        create_user(session, "owner", "a long enough passphrase 3", role="investigator", by="admin")
        add_member(session, "OP-OTHER", "owner", role="investigator", by="admin")  # OP-OTHER now has members
        leads = [c for t in list_targets(session, rows.case, "tester") for c in t["cases"]]
        assert [c["reference"] for c in leads] == [RESTRICTED]
        assert [c["reference"] for t in list_targets(session, rows.case, "owner") for c in t["cases"]] == ["OP-OTHER"]
