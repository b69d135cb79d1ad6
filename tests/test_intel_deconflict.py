"""Deconfliction (issue 7): agreed keys, register files between two stores, overlaps, membership, audit.

Every test runs on SQLite and on PostgreSQL. Stores are filled with identifier rows directly (the
extraction stage is another part's); the register commands are driven through the CLI.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from backends import BACKENDS, fresh_pg_database
from haven import audit
from haven.accounts import add_member, create_user
from haven.cases import case_chain, create_case
from haven.cli import app
from haven.errors import HavenError
from haven.intel.register.deconflict import deconflict_case
from haven.intel.register.keys import KeyRing
from haven.store import Store, open_store
from haven.store.models import (
    AuditEvent,
    Content,
    FaceIdentity,
    HashEntry,
    HashSet,
    Identifier,
    IdentifierOccurrence,
    Match,
    PartnerRegister,
    PartnerRegisterEntry,
    Target,
    TargetMember,
)

runner = CliRunner()
PASSWORD = "correct horse battery staple 42"


@dataclass(frozen=True)
class Site:
    """One agency's Haven: its own home (keys) and its own database."""

    home: Path
    url: str


@pytest.fixture(params=BACKENDS)
def two_sites(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Site, Site]]:
    homes = tmp_path / "north", tmp_path / "south"
    for home in homes:
        home.mkdir()
    if request.param == "sqlite":
        yield Site(homes[0], f"sqlite:///{homes[0]}/haven.db"), Site(homes[1], f"sqlite:///{homes[1]}/haven.db")
        return
    pg_url = request.getfixturevalue("pg_url")
    with fresh_pg_database(pg_url) as north_url, fresh_pg_database(pg_url) as south_url:
        yield Site(homes[0], north_url), Site(homes[1], south_url)


@pytest.fixture
def site(two_sites: tuple[Site, Site], monkeypatch: pytest.MonkeyPatch) -> Site:
    """One store, with the CLI pointed at it as user 'tester'."""
    at(two_sites[0], monkeypatch)
    return two_sites[0]


def at(site: Site, monkeypatch: pytest.MonkeyPatch, user: str = "tester") -> None:
    monkeypatch.setenv("HAVEN_HOME", str(site.home))
    monkeypatch.setenv("HAVEN_DATABASE_URL", site.url)
    monkeypatch.setenv("HAVEN_USER", user)


def ok(command: list[str]) -> str:
    result = runner.invoke(app, command)
    assert result.exit_code == 0, (command, result.output, result.exception)
    return result.stdout


def fails(command: list[str]) -> str:
    """The one-line reason of a refused command (haven.cli.main prints it and exits 1)."""
    result = runner.invoke(app, command)
    assert result.exit_code == 1 and isinstance(result.exception, HavenError), (command, result.output)
    return str(result.exception)


def opened(site: Site) -> Store:
    return open_store(site.url)


def seed(
    site: Site,
    ref: str,
    identifiers: list[tuple[str, str]] = (),  # type: ignore[assignment]
    *,
    series: list[str] = (),  # type: ignore[assignment]
    victims: list[str] = (),  # type: ignore[assignment]
    target: str | None = None,
) -> None:
    """A case holding ``identifiers`` in one content; contents matching known entries of ``series``; face
    identities named ``victims``; all its identifiers in one target named ``target``."""
    store = opened(site)
    try:
        with store.session() as session:
            case, _ = create_case(session, ref, user="tester")
            digest = hashlib.sha256(ref.encode()).hexdigest()
            content = Content(case_id=case.id, sha256=digest, md5=digest[:32], sha1=digest[:40], size=1, kind="text")
            session.add(content)
            session.flush()
            ids = []
            for line, (kind, normalized) in enumerate(identifiers, start=1):
                identifier = session.scalar(
                    select(Identifier).where(Identifier.type == kind, Identifier.normalized == normalized)
                )
                if identifier is None:
                    identifier = Identifier(type=kind, normalized=normalized, value=normalized)
                    session.add(identifier)
                    session.flush()
                ids.append(identifier.id)
                session.add(
                    IdentifierOccurrence(
                        case_id=case.id,
                        identifier_id=identifier.id,
                        content_id=content.id,
                        path=f"{ref}:/a.txt",
                        line=line,
                    )
                )
            if target is not None:
                linked = Target(case_id=case.id, name=target, created_by="tester")
                session.add(linked)
                session.flush()
                session.add_all(
                    TargetMember(case_id=case.id, target_id=linked.id, identifier_id=i, reason="co-occurrence")
                    for i in ids
                )
            for name in series:
                known = HashSet(
                    name=f"set-{ref}-{name}", kind="known", format="plain", file_sha256=digest, imported_by="t"
                )
                session.add(known)
                session.flush()
                entry = HashEntry(set_id=known.id, sha256=digest, series=name)
                session.add(entry)
                session.flush()
                session.add(Match(content_id=content.id, entry_id=entry.id, set_id=known.id, method="sha256"))
            for name in victims:
                session.add(
                    FaceIdentity(case_id=case.id, model="m", name=name, analyst_named=True, locked=True, created_by="t")
                )
    finally:
        store.dispose()


def generate_key(name: str) -> str:
    output = ok(["intel", "register", "key", "generate", name])
    return re.search(r"hex:\s+([0-9a-f]{64})", output).group(1)  # type: ignore[union-attr]


def keyed(key_hex: str, kind: str, normalized: str) -> str:
    return hmac.new(bytes.fromhex(key_hex), f"{kind}\x1f{normalized}".encode(), "sha256").hexdigest()


def overlaps(command: list[str]) -> list[dict]:
    return json.loads(ok(command))


# ---------------------------------------------------------------- keys


def test_agreed_keys_are_private_files_listed_by_fingerprint(site: Site, tmp_path: Path) -> None:
    key_hex = generate_key("south")
    path = site.home / "keys" / "intel" / "south.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    listed = json.loads(ok(["intel", "register", "key", "list", "--json"]))
    assert listed == [{"name": "south", "fingerprint": KeyRing(site.home).load("south").fingerprint}]
    assert key_hex not in ok(["intel", "register", "key", "list"])
    assert "already exists" in fails(["intel", "register", "key", "generate", "south"])

    shared = tmp_path / "agreed.txt"
    shared.write_text(key_hex.upper() + "\n")
    assert "already kept" in ok(["intel", "register", "key", "import", "south", str(shared)])
    assert "different key" in fails(["intel", "register", "key", "import", "south", "--hex", "ab" * 32])
    assert "not an agreed key" in fails(["intel", "register", "key", "import", "west", "--hex", "abc"])
    ok(["intel", "register", "key", "import", "west", "--hex", "ab" * 32])
    assert KeyRing(site.home).load("west").key == b"\xab" * 32


# ---------------------------------------------------------------- two agencies


def test_two_stores_overlap_by_keyed_hash_showing_the_partner_contact_never_its_case(
    two_sites: tuple[Site, Site], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    north, south = two_sites
    register = tmp_path / "north.register.jsonl"

    at(north, monkeypatch)
    key_hex = generate_key("north-south")
    seed(north, "NORTH-SECRET-OP", [("email", "trader@example.org"), ("phone", "+14155550123")], series=["Lake Series"])
    seed(north, "NORTH-OTHER", [("wallet", "btc:1BoatSLRtMUwQ8JY6V3G8pd7Rrq3P2E1Sd")])
    ok(
        [
            "intel",
            "register",
            "export",
            "--key",
            "north-south",
            "--out",
            str(register),
            "--case",
            "NORTH-SECRET-OP",
            "--agency",
            "North Unit",
            "--contact",
            "duty desk +44 20 7946 0000",
        ]
    )
    text = register.read_text()
    for secret in ("trader@example.org", "+14155550123", "Lake Series", "lake series", "NORTH-SECRET-OP", key_hex):
        assert secret not in text
    header, *entries = [json.loads(line) for line in text.splitlines()]
    assert header["agency"] == "North Unit" and header["entry_count"] == 3 == len(entries)
    assert header["kinds"] == {"email": 1, "phone": 1, "series": 1}
    assert header["key_fingerprint"] == KeyRing(north.home).load("north-south").fingerprint
    assert {"kind": "email", "value_hash": keyed(key_hex, "email", "trader@example.org")} in entries

    at(south, monkeypatch)
    ok(["intel", "register", "key", "import", "north", "--hex", key_hex])
    seed(south, "SOUTH-1", [("email", "trader@example.org"), ("email", "someone.else@example.net")])
    seed(south, "SOUTH-2", series=["lake   SERIES"])
    assert "Imported register" in ok(["intel", "register", "import", str(register), "--key", "north"])

    found = overlaps(["intel", "deconflict", "SOUTH-1", "--json"])
    assert found == [
        {
            "kind": "email",
            "value_hash": keyed(key_hex, "email", "trader@example.org"),
            "cases": [],
            "restricted_cases": 0,
            "partners": [
                {
                    "agency": "North Unit",
                    "contact": "duty desk +44 20 7946 0000",
                    "value_hash": keyed(key_hex, "email", "trader@example.org"),
                }
            ],
            "value": "trader@example.org",
        }
    ]
    series = overlaps(["intel", "deconflict", "SOUTH-2", "--json"])
    assert [(o["kind"], o["value"], o["partners"][0]["agency"]) for o in series] == [
        ("series", "lake series", "North Unit")
    ]
    everything = ok(["intel", "deconflict"])
    assert "North Unit" in everything and "NORTH" not in everything.replace("North Unit", "")
    listed = json.loads(ok(["intel", "register", "list", "--json"]))
    assert [(r["agency"], r["entries"], r["key"]) for r in listed] == [("North Unit", 3, "north")]


def test_a_register_under_another_key_is_refused_and_matches_nothing(
    two_sites: tuple[Site, Site], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    north, south = two_sites
    register = tmp_path / "north.jsonl"
    at(north, monkeypatch)
    generate_key("agreed")
    seed(north, "N-1", [("email", "trader@example.org")])
    ok(["intel", "register", "export", "--key", "agreed", "--out", str(register), "--agency", "N", "--contact", "c"])

    at(south, monkeypatch)
    generate_key("agreed")  # the same name, but not the same key
    seed(south, "S-1", [("email", "trader@example.org")])
    message = fails(["intel", "register", "import", str(register), "--key", "agreed"])
    assert "fingerprint" in message and "key 'agreed'" in message
    assert json.loads(ok(["intel", "register", "list", "--json"])) == []
    assert overlaps(["intel", "deconflict", "S-1", "--json"]) == []


def test_import_is_idempotent_and_a_register_can_be_removed(site: Site, tmp_path: Path) -> None:
    register = tmp_path / "r.jsonl"
    generate_key("k")
    seed(site, "A", [("email", "a@example.org"), ("handle", "telegram/trader")], victims=["Anna B."])
    ok(["intel", "register", "export", "--key", "k", "--out", str(register), "--agency", "North", "--contact", "c"])
    ok(["intel", "register", "import", str(register), "--key", "k"])
    assert "Already imported" in ok(["intel", "register", "import", str(register), "--key", "k"])
    store = opened(site)
    try:
        with store.session() as session:
            assert session.scalar(select(func.count()).select_from(PartnerRegister)) == 1
            kinds = sorted(session.scalars(select(PartnerRegisterEntry.kind)))
            assert kinds == ["email", "handle", "victim"]
    finally:
        store.dispose()
    (listed,) = json.loads(ok(["intel", "register", "list", "--json"]))
    assert "Removed register" in ok(["intel", "register", "remove", str(listed["id"])])
    assert json.loads(ok(["intel", "register", "list", "--json"])) == []
    assert "no partner register" in fails(["intel", "register", "remove", str(listed["id"])])
    ok(["intel", "register", "import", str(register), "--key", "k"])  # removed, so importable again


def _tampered(register: Path, tmp_path: Path) -> dict[str, Path]:
    lines = register.read_text().splitlines(keepends=True)
    header = json.loads(lines[0])
    digit = len(lines[1]) - 4  # the last hex digit of the first entry's hash
    flipped = lines[1][:digit] + ("0" if lines[1][digit] != "0" else "1") + lines[1][digit + 1 :]
    variants = {
        "changed entry": [*lines[:1], flipped, *lines[2:]],
        "dropped entry": lines[:-1],
        "cut mid-line": [*lines[:-1], lines[-1][:30]],
        "added entry": [*lines, json.dumps({"kind": "email", "value_hash": "ab" * 32}) + "\n"],
        "plain value": [*lines[:1], json.dumps({"kind": "email", "value_hash": "a@example.org"}) + "\n", *lines[2:]],
        "other contact": [json.dumps({**header, "contact": "attacker"}) + "\n", *lines[1:]],
        "no header": lines[1:],
    }
    paths = {}
    for name, content in variants.items():
        path = tmp_path / f"{name.replace(' ', '-')}.jsonl"
        path.write_text("".join(content))
        paths[name] = path
    return paths


def test_tampered_truncated_or_valued_files_are_refused_whole(site: Site, tmp_path: Path) -> None:
    register = tmp_path / "r.jsonl"
    generate_key("k")
    seed(site, "A", [("email", f"user{i}@example.org") for i in range(5)])
    ok(["intel", "register", "export", "--key", "k", "--out", str(register), "--agency", "North", "--contact", "c"])
    expected = {
        "changed entry": "tampered",
        "dropped entry": "tampered",
        "cut mid-line": "truncated",
        "added entry": "tampered",
        "plain value": "not a keyed hash",
        "other contact": "MAC",
        "no header": "not a Haven register",
    }
    for name, path in _tampered(register, tmp_path).items():
        message = fails(["intel", "register", "import", str(path), "--key", "k"])
        assert expected[name] in message, (name, message)
    store = opened(site)
    try:
        with store.session() as session:
            assert session.scalar(select(func.count()).select_from(PartnerRegister)) == 0
            assert session.scalar(select(func.count()).select_from(PartnerRegisterEntry)) == 0
    finally:
        store.dispose()


def test_signed_registers_need_a_trusted_signer(
    two_sites: tuple[Site, Site], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    north, south = two_sites
    register = tmp_path / "signed.jsonl"
    at(north, monkeypatch)
    key_hex = generate_key("k")
    ok(["keys", "generate", "--agency", "North Unit"])
    seed(north, "N-1", [("email", "trader@example.org")])
    ok(["intel", "register", "export", "--key", "k", "--out", str(register), "--sign", "--contact", "desk"])
    assert json.loads(register.read_text().splitlines()[0])["agency"] == "North Unit"

    at(south, monkeypatch)
    ok(["intel", "register", "key", "import", "k", "--hex", key_hex])
    assert "does not trust" in fails(["intel", "register", "import", str(register), "--key", "k"])
    ok(["keys", "trust", str(north.home / "keys" / "signing-key.pub.pem"), "--agency", "North Unit"])
    ok(["intel", "register", "import", str(register), "--key", "k"])
    listed = json.loads(ok(["intel", "register", "list", "--json"]))
    assert listed[0]["signed_by"] is not None


# ---------------------------------------------------------------- within one store


def test_local_overlaps_name_only_cases_the_user_may_see(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = ("email", "trader@example.org")
    seed(site, "OP-1", [shared, ("ipv4", "203.0.113.9")], target="the trader")
    seed(site, "OP-2", [shared])
    seed(site, "OP-3", [shared, ("ipv4", "203.0.113.9"), ("domain", "bob-only.example")])
    seed(site, "OP-4", [("phone", "+14155550123")])
    store = opened(site)
    try:
        with store.session() as session:
            for name in ("alice", "bob"):
                create_user(session, name, PASSWORD, role="investigator", by="tester")
            for ref in ("OP-1", "OP-2"):
                add_member(session, ref, "alice", role="investigator", by="tester")
            add_member(session, "OP-3", "bob", role="investigator", by="tester")
    finally:
        store.dispose()

    at(site, monkeypatch, user="alice")
    found = {(o["kind"], o["value"]): o for o in overlaps(["intel", "deconflict", "OP-1", "--json"])}
    assert set(found) == {("email", "trader@example.org"), ("ipv4", "203.0.113.9"), ("target", "the trader")}
    email = found["email", "trader@example.org"]
    assert (email["cases"], email["restricted_cases"], email["partners"]) == (["OP-2"], 1, [])
    local_key = KeyRing(site.home).load("local")
    assert email["value_hash"] == local_key.hash("email", "trader@example.org")
    assert (found["ipv4", "203.0.113.9"]["cases"], found["ipv4", "203.0.113.9"]["restricted_cases"]) == ([], 1)
    target = found["target", "the trader"]
    assert (target["cases"], target["restricted_cases"], target["identifiers"]) == (["OP-2"], 1, 2)
    assert "another case in this store (restricted)" in ok(["intel", "deconflict", "OP-1"])

    whole = overlaps(["intel", "deconflict", "--json"])
    email = next(o for o in whole if o["kind"] == "email")
    assert (email["cases"], email["restricted_cases"]) == (["OP-1", "OP-2"], 1)
    assert all(o["value"] != "+14155550123" for o in whole)

    generate_key("alice-key")
    mine = site.home / "alice.jsonl"
    ok(["intel", "register", "export", "--key", "alice-key", "--out", str(mine), "--agency", "A", "--contact", "c"])
    exported = {json.loads(line)["value_hash"] for line in mine.read_text().splitlines()[1:]}
    alice_key = KeyRing(site.home).load("alice-key")
    assert alice_key.hash("phone", "+14155550123") in exported  # OP-4 has no members: anyone may see it
    assert alice_key.hash("domain", "bob-only.example") not in exported  # only in OP-3, bob's

    at(site, monkeypatch, user="bob")
    assert "not a member of case 'OP-1'" in fails(["intel", "deconflict", "OP-1"])
    generate_key("k")
    export = ["intel", "register", "export", "--key", "k", "--out", str(site.home / "r.jsonl"), "--case", "OP-1"]
    assert "not a member of case 'OP-1'" in fails([*export, "--agency", "a", "--contact", "c"])
    assert not (site.home / "r.jsonl").exists()


def test_series_and_victim_identities_overlap_across_cases(site: Site) -> None:
    seed(site, "A", series=["Blue Room"], victims=["Victim  Seven"])
    seed(site, "B", series=["blue room"], victims=["victim seven"])
    seed(site, "C", series=["Other"], victims=["Someone"])
    store = opened(site)
    try:
        with store.session() as session:
            from haven.cases import get_case

            found = deconflict_case(session, get_case(session, "A"), user="tester", ring=KeyRing(site.home))
    finally:
        store.dispose()
    assert sorted((o.kind, o.value, tuple(o.cases)) for o in found) == [
        ("series", "blue room", ("B",)),
        ("victim", "victim seven", ("B",)),
    ]


def test_every_register_action_is_audited(site: Site, tmp_path: Path) -> None:
    register = tmp_path / "r.jsonl"
    generate_key("k")
    seed(site, "A", [("email", "a@example.org")])
    seed(site, "B", [("email", "a@example.org")])
    ok(
        [
            "intel",
            "register",
            "export",
            "--key",
            "k",
            "--out",
            str(register),
            "--case",
            "A",
            "--agency",
            "N",
            "--contact",
            "c",
        ]
    )
    ok(["intel", "register", "import", str(register), "--key", "k"])
    ok(["intel", "register", "list"])
    ok(["intel", "register", "key", "list"])
    ok(["intel", "deconflict", "A"])
    ok(["intel", "deconflict"])
    store = opened(site)
    try:
        with store.session() as session:
            events = session.execute(select(AuditEvent.chain, AuditEvent.action, AuditEvent.detail)).all()
            by_chain = {(chain, action) for chain, action, _d in events}
            for chain in (audit.GLOBAL_CHAIN, case_chain("A")):
                assert audit.verify_chain(session, chain)[1] is None
    finally:
        store.dispose()
    assert {
        (audit.GLOBAL_CHAIN, "intel.register.key.generate"),
        (audit.GLOBAL_CHAIN, "intel.register.key.list"),
        (case_chain("A"), "intel.register.export"),
        (audit.GLOBAL_CHAIN, "intel.register.import"),
        (audit.GLOBAL_CHAIN, "intel.register.list"),
        (case_chain("A"), "intel.deconflict"),
        (audit.GLOBAL_CHAIN, "intel.deconflict"),
    } <= by_chain
    details = [json.loads(d) for _c, action, d in events if action.startswith("intel.")]
    assert all("a@example.org" not in json.dumps(d) for d in details)
