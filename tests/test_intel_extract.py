"""`haven intel extract` / `haven intel identifiers` (issue 7) on both back ends: a case ingested from evidence
holding every reader's format and the bad inputs, read for identifiers through the CLI."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from typer.testing import CliRunner

from conftest import HavenEnv
from haven.accounts import add_member, create_user
from haven.cli import app
from haven.intel.extract import VERSION
from haven.store import open_store
from haven.store.models import AuditEvent, Content, IdentifierOccurrence, IntelRecord, IntelScan, Occurrence
from intel_extract_builders import bad_evidence, good_evidence

runner = CliRunner()
CONTRACT_KEYS = {"type", "value", "normalized", "country", "occurrences"}
OCCURRENCE_KEYS = {"sha256", "path", "line"}


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, ["-q", *args])
    assert result.exit_code == code, result.output
    # haven.cli.main turns a HavenError into one stderr line; invoked directly, the app leaves it raised
    return result.stdout if code == 0 else result.output + str(result.exception or "")


def ingested(tmp_path: Path, reference: str, *, bad: bool = True) -> Path:
    evidence = tmp_path / "ev"
    evidence.mkdir()
    good_evidence(evidence)
    if bad:
        bad_evidence(evidence)
    run("case", "create", reference)
    run("ingest", reference, str(evidence), "--workers", "1")
    return evidence


def identifiers(reference: str, *extra: str) -> list[dict[str, Any]]:
    return json.loads(run("intel", "identifiers", reference, "--json", *extra))


def places(found: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    return {(row["type"], row["normalized"]): row["occurrences"] for row in found}


def where(found: list[dict[str, Any]], kind: str, normalized: str) -> list[tuple[str, int]]:
    return [(o["path"], o["line"]) for o in places(found)[(kind, normalized)]]


# Each reader's planted identifiers: (type, normalized) -> (path, line).
EXPECTED = {
    ("email", "ada.customer@example.com"): ("ev:/customers.csv", 2),
    ("phone", "+61491570156"): ("ev:/customers.csv", 3),
    ("handle", "telegram/ada_trades"): ("ev:/customers.csv", 2),
    ("ipv4", "198.51.100.8"): ("ev:/customers.csv", 3),
    ("email", "dan.sheet@example.net"): ("ev:/customers.xlsx", 4),
    ("handle", "kik/cleo_kik"): ("ev:/customers.xlsx", 2),
    ("email", "eve.sender@example.com"): ("ev:/mail/order.eml", 3),
    ("email", "eve.backup@example.net"): ("ev:/mail/order.eml", 5),
    ("ipv4", "198.51.100.44"): ("ev:/mail/order.eml", 6),
    ("ipv4", "203.0.113.25"): ("ev:/mail/order.eml", 1),
    ("phone", "+442079460111"): ("ev:/mail/order.eml", 13),
    ("email", "gail.alt@example.com"): ("ev:/mail/box.mbox", 7),
    ("handle", "telegram/hank_tg"): ("ev:/mail/box.mbox", 16),
    ("email", "ivan.news@example.com"): ("ev:/news/article.txt", 2),
    ("ipv4", "203.0.113.77"): ("ev:/news/article.txt", 6),
    ("ipv4", "198.51.100.99"): ("ev:/news/article.txt", 7),
    ("email", "ivan.body@example.com"): ("ev:/news/article.txt", 10),
    ("email", "julia.page@example.com"): ("ev:/web/shop.html", 4),
    ("email", "julia.link@example.org"): ("ev:/web/shop.html", 5),
    ("url", "https://shop.example.net/item/5"): ("ev:/web/shop.html", 6),
    ("email", "kim.json@example.com"): ("ev:/export/users.json", 0),
    ("handle", "kik/kim_kik"): ("ev:/export/users.json", 0),
    ("email", "trader.pdf@example.org"): ("ev:/docs/note.pdf", 1),
    ("email", "nina.docx@example.org"): ("ev:/docs/minutes.docx", 2),
    ("email", "mona.author@example.com"): ("ev:/docs/minutes.docx", 0),
    ("email", "olga.db@example.com"): ("ev:/apps/chat.db", 0),
    ("handle", "telegram/olga_tg"): ("ev:/apps/chat.db", 0),
    ("ipv4", "198.51.100.200"): ("ev:/apps/chat.db", 0),
    ("ipv4", "203.0.113.201"): ("ev:/apps/chat.db", 0),
    ("email", "quinn.owner@example.com"): ("ev:/photos/owner.jpg", 0),
    ("email", "rhea.copyright@example.org"): ("ev:/photos/owner.jpg", 0),
    ("email", "sam.utf16@example.com"): ("ev:/chats/utf16.txt", 2),
    ("email", "theo.latin@example.com"): ("ev:/chats/latin1.log", 2),
    ("phone", "+33199001234"): ("ev:/chats/latin1.log", 2),
    ("email", "uma.ok@example.com"): ("ev:/bad/broken.csv", 2),  # rows before the malformed one are kept
}


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


def test_every_reader_then_bad_input_resume_and_audit(haven_env: HavenEnv, tmp_path: Path) -> None:
    evidence = ingested(tmp_path, "INT-1")
    before = snapshot(evidence)
    first = run("intel", "extract", "INT-1", "--workers", "2")
    assert "4 errors" in first and "(0 already done)" in first
    assert snapshot(evidence) == before  # nothing written beside the evidence (no SQLite journal either)

    found = identifiers("INT-1")
    assert found == sorted(found, key=lambda row: (row["type"], row["normalized"]))
    for row in found:
        assert set(row) >= CONTRACT_KEYS
        assert all(set(o) >= OCCURRENCE_KEYS for o in row["occurrences"])
    for key, place in EXPECTED.items():
        assert place in where(found, *key), key
    assert not any("script@" in row["normalized"] for row in found)  # script bodies are not text
    assert not any("schemas.openxmlformats" in row["normalized"] for row in found)  # nor XML namespaces

    occurrences = places(found)
    received = occurrences[("ipv4", "203.0.113.25")][0]
    assert (received["observed_at"], received["field"], received["record"]) == (
        "2024-01-02T10:30:00Z",  # Received: ...; Tue, 2 Jan 2024 11:30:00 +0100, in UTC
        "Received",
        "headers",
    )
    assert occurrences[("ipv4", "198.51.100.99")][0]["observed_at"] == "2004-03-03T16:00:23Z"  # X-Trace
    assert occurrences[("ipv4", "203.0.113.77")][0]["observed_at"] == "2004-03-03T16:00:23Z"  # posting date
    ada = occurrences[("email", "ada.customer@example.com")][0]
    assert (ada["field"], ada["record"], ada["char_offset"]) == ("email", "row:2", 12)
    assert occurrences[("handle", "telegram/olga_tg")][0]["record"] == "users:rowid=1"
    assert occurrences[("email", "pete.db@example.org")][0]["record"] == "users:rowid=7"
    assert occurrences[("email", "hank.mbox@example.org")] and {
        o["record"] for o in occurrences[("email", "hank.mbox@example.org")]
    } == {"message:1:headers", "message:2:headers"}
    assert {row["country"] for row in found if row["type"] == "phone"} >= {"GB", "AU", "FR"}

    phones = identifiers("INT-1", "--type", "phone")
    assert phones and {row["type"] for row in phones} == {"phone"}

    store = open_store(haven_env.url)
    try:
        with store.session() as session:
            errors: dict[str, str] = dict(
                session.execute(  # type: ignore[arg-type]
                    select(Occurrence.path, IntelScan.error)
                    .join(IntelScan, IntelScan.content_id == Occurrence.content_id)
                    .where(IntelScan.error.is_not(None))
                ).all()
            )
            records = {
                (path, record): json.loads(fields)
                for path, record, fields in session.execute(
                    select(Occurrence.path, IntelRecord.record, IntelRecord.fields).join(
                        Occurrence, Occurrence.content_id == IntelRecord.content_id
                    )
                )
            }
            count = session.scalar(select(func.count()).select_from(IdentifierOccurrence))
            actions = session.scalars(select(AuditEvent.action).where(AuditEvent.chain == "case:INT-1")).all()
    finally:
        store.dispose()
    assert errors["ev:/bad/binary.txt"].startswith("not text:")
    assert errors["ev:/bad/broken.xlsx"].startswith("malformed XLSX")
    assert errors["ev:/bad/corrupt.db"].startswith("corrupt SQLite database")
    assert errors["ev:/bad/broken.csv"].startswith("malformed CSV at line 3")
    assert records[("ev:/customers.csv", "row:2")]["telegram"] == "ada_trades"
    assert records[("ev:/apps/chat.db", "users:rowid=1")]["email"] == "olga.db@example.com"
    assert records[("ev:/mail/order.eml", "headers")]["X-Originating-IP"] == "[198.51.100.44]"
    assert "intel.extract" in actions and "intel.identifiers" in actions

    again = run("intel", "extract", "INT-1")
    assert ": 0 of " in again and " 0 occurrences" in again
    with_marker = first.split(" of ", 1)[1].split(" ", 1)[0]
    assert f"({with_marker} already done)" in again
    assert identifiers("INT-1") == found
    assert sum(len(row["occurrences"]) for row in found) == count


def test_a_killed_run_resumes_without_duplicates(haven_env: HavenEnv, tmp_path: Path) -> None:
    ingested(tmp_path, "INT-2", bad=False)
    run("intel", "extract", "INT-2", "--workers", "1")
    before = identifiers("INT-2")
    store = open_store(haven_env.url)
    try:
        with store.session() as session:  # a kill after some batches were written, before the markers
            csv_id = session.scalar(select(Occurrence.content_id).where(Occurrence.path == "ev:/customers.csv"))
            mbox_id = session.scalar(select(Occurrence.content_id).where(Occurrence.path == "ev:/mail/box.mbox"))
            session.execute(delete(IntelScan).where(IntelScan.content_id.in_([csv_id, mbox_id])))
            total = session.scalar(select(func.count()).select_from(IdentifierOccurrence))
    finally:
        store.dispose()
    summary = run("intel", "extract", "INT-2", "--workers", "1")
    assert "2 of" in summary  # only the two without a marker are read again
    store = open_store(haven_env.url)
    try:
        with store.session() as session:
            assert session.scalar(select(func.count()).select_from(IdentifierOccurrence)) == total
            assert session.scalar(select(func.count()).select_from(IntelScan).where(IntelScan.version == VERSION))
    finally:
        store.dispose()
    assert identifiers("INT-2") == before


def test_archive_members_and_changed_evidence(haven_env: HavenEnv, tmp_path: Path) -> None:
    evidence = tmp_path / "ev"
    evidence.mkdir()
    with zipfile.ZipFile(evidence / "pack.zip", "w") as pack:
        pack.writestr("inner/chat.txt", "line one\nwrite to zed.zip@example.com\n")
    (evidence / "later.txt").write_text("first\nreach me at yan.later@example.org\n")
    run("case", "create", "INT-3")
    run("ingest", "INT-3", str(evidence), "--workers", "1")
    (evidence / "later.txt").write_text("first\nreach me at yan.other@example.org\n")  # changed after the ingest
    summary = run("intel", "extract", "INT-3", "--workers", "1")
    assert "1 errors" in summary and "changed since the ingest" in summary
    found = identifiers("INT-3")
    assert where(found, "email", "zed.zip@example.com") == [("ev:/pack.zip!/inner/chat.txt", 2)]
    assert not any(row["normalized"].startswith("yan.") for row in found)


def test_non_member_is_refused_and_usage_errors(haven_env: HavenEnv, tmp_path: Path) -> None:
    ingested(tmp_path, "INT-4", bad=False)
    store = open_store(haven_env.url)
    try:
        with store.session() as session:
            create_user(session, "someone", "a long enough passphrase 42", role="investigator", by="admin")
            add_member(session, "INT-4", "someone", role="investigator", by="admin")
    finally:
        store.dispose()
    assert "not a member" in run("intel", "extract", "INT-4", code=1)
    assert "not a member" in run("intel", "identifiers", "INT-4", "--json", code=1)
    assert "--type" in run("intel", "identifiers", "INT-4", "--type", "shoe-size", code=2)
    assert "INT-404" in run("intel", "extract", "INT-404", code=1)
    store = open_store(haven_env.url)
    try:
        with store.session() as session:
            assert session.scalar(select(func.count()).select_from(IntelScan)) == 0
            assert (session.scalar(select(func.count()).select_from(Content)) or 0) > 0
    finally:
        store.dispose()


def test_identifiers_of_an_unread_case_is_an_empty_list(haven_env: HavenEnv, tmp_path: Path) -> None:
    run("case", "create", "INT-5")
    assert identifiers("INT-5") == []
    assert "Identifiers in INT-5: 0" in run("intel", "identifiers", "INT-5")


@pytest.mark.parametrize("reference", ["INT-6"])
def test_table_output_names_first_places(haven_env: HavenEnv, tmp_path: Path, reference: str) -> None:
    ingested(tmp_path, reference, bad=False)
    run("intel", "extract", reference, "--workers", "1")
    table = run("intel", "identifiers", reference)
    assert "ada.customer@example.com" in table and "ev:/customers.csv:2" in table
