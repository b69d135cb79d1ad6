"""Exports: hash sets as plain/PDQ/VICS and a case as VICS, read back by a fresh store; audited."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from conftest import HavenEnv
from hashset_builders import fake_hash, vics_media, write_plain, write_vics
from haven import exports
from haven.analyze import analyze_bytes
from haven.cli import app
from haven.exports import export_hashset
from haven.formats import ENTRY_COLUMNS
from haven.hashsets import import_hashset
from haven.settings import AnalysisSettings
from haven.store import Store, open_store
from haven.store.models import AuditEvent, Content, Decision, HashEntry, HashSet, utcnow
from test_cli_triage import picture

runner = CliRunner()


@pytest.fixture
def fresh_store(tmp_path: Path) -> Iterator[Store]:
    """A second, empty store: where a partner would import the export."""
    s = open_store(f"sqlite:///{tmp_path}/partner.db")
    try:
        yield s
    finally:
        s.dispose()


def entries_of(store: Store, name: str) -> list[dict[str, object]]:
    with store.session() as session:
        set_id = session.scalar(select(HashSet.id).where(HashSet.name == name))
        rows = session.scalars(select(HashEntry).where(HashEntry.set_id == set_id)).all()
        return sorted(({c: getattr(r, c) for c in ENTRY_COLUMNS} for r in rows), key=lambda e: str(e["md5"]))


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def vics_source(tmp_path: Path) -> Path:
    media = [
        vics_media(
            fake_hash("md5", 0),
            category=1,
            sha1=fake_hash("sha1", 0),
            sha256=fake_hash("sha256", 0),
            pdq=fake_hash("pdq", 0),
            photodna="QUJD" * 48,
            series="Series A",
            victim_identified=True,
            offender_identified=False,
            tags="tag1,tag2",
        ),
        vics_media(fake_hash("md5", 1), media_id=2, category=2, pdq=fake_hash("pdq", 1)),
        vics_media(fake_hash("md5", 2), media_id=3, category=None),
    ]
    return write_vics(tmp_path / "partner-set.json", media, collection="Cases")


def test_vics_round_trip_gives_the_same_entries(
    store: Store, fresh_store: Store, vics_source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "BATCH", 2)  # several pages from the database, not one
    import_hashset(store, vics_source, name="source", user="tester")
    out = vics_source.parent / "exported.json"

    result = export_hashset(store, "source", "vics", out, user="tester")
    import_hashset(fresh_store, out, name="again", user="partner")

    assert (result.written, result.left_out) == (3, 0)
    assert entries_of(fresh_store, "again") == entries_of(store, "source")
    assert len(entries_of(store, "source")) == 3
    with fresh_store.session() as session:
        assert session.scalar(select(HashSet.scheme).where(HashSet.name == "again")) == "vic-us"
    with store.session() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "hashset.export")).one()
    assert event.chain == "global"
    assert json.loads(event.detail)["sha256"] == result.sha256 == file_sha256(out)


def test_plain_and_pdq_lists_carry_hash_and_category(store: Store, fresh_store: Store, vics_source: Path) -> None:
    import_hashset(store, vics_source, name="source", user="tester")
    plain, pdq = vics_source.parent / "md5.txt", vics_source.parent / "pdq.txt"

    plain_result = export_hashset(store, "source", "plain", plain, user="tester")
    pdq_result = export_hashset(store, "source", "pdq", pdq, user="tester")

    lines = plain.read_text().splitlines()
    assert lines[0] == "MD5"
    assert sorted(lines[1:]) == sorted([f"{fake_hash('md5', 0)},1", f"{fake_hash('md5', 1)},2", fake_hash("md5", 2)])
    assert sorted(pdq.read_text().splitlines()) == [f"pdq {fake_hash('pdq', 0)},1", f"pdq {fake_hash('pdq', 1)},2"]
    assert (plain_result.written, pdq_result.written, pdq_result.left_out) == (3, 2, 1)
    # Both lists are read back by Haven's own readers, detected without being told the format.
    import_hashset(fresh_store, plain, name="md5s", user="partner")
    import_hashset(fresh_store, pdq, name="pdqs", user="partner")
    assert {(e["md5"], e["category"]) for e in entries_of(fresh_store, "md5s")} == {
        (e["md5"], e["category"]) for e in entries_of(store, "source")
    }
    assert {e["pdq"] for e in entries_of(fresh_store, "pdqs")} == {fake_hash("pdq", 0), fake_hash("pdq", 1)}


def test_cli_hashset_export(haven_env: HavenEnv, tmp_path: Path) -> None:
    source = write_plain(tmp_path / "known.txt", [(fake_hash("md5", 5), "1")], header="MD5")
    assert runner.invoke(app, ["hashset", "import", str(source), "--name", "known"]).exit_code == 0
    out = tmp_path / "out" / "known-export.txt"

    result = runner.invoke(app, ["hashset", "export", "known", "--format", "plain", "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert out.read_text() == f"MD5\n{fake_hash('md5', 5)},1\n"
    assert file_sha256(out) in result.output
    missing = runner.invoke(app, ["hashset", "export", "nope", "--format", "vics", "--out", str(out)])
    assert missing.exit_code == 1 and "no hash set 'nope'" in str(missing.exception)
    assert runner.invoke(app, ["hashset", "export", "known", "--format", "csv", "--out", str(out)]).exit_code == 2


def current_categories(url: str, reference_md5s: dict[str, str]) -> dict[str, str | None]:
    """Current category (latest decision) of each named picture's content, or None when undecided."""
    store = open_store(url)
    try:
        with store.session() as session:
            found: dict[str, str | None] = {}
            for label, md5 in reference_md5s.items():
                content_id = session.scalar(select(Content.id).where(Content.md5 == md5))
                assert content_id is not None, label
                found[label] = session.scalar(
                    select(Decision.category)
                    .where(Decision.content_id == content_id)
                    .order_by(Decision.decided_at.desc(), Decision.id.desc())
                    .limit(1)
                )
            return found
    finally:
        store.dispose()


def test_case_export_pre_categorizes_the_same_contents_elsewhere(
    haven_env: HavenEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    pics = [picture(seed) for seed in range(20, 24)]
    for i, data in enumerate(pics):
        (evidence / f"victim-name-{i}.jpg").write_bytes(data)
    md5s = {f"pic{i}": hashlib.md5(data).hexdigest() for i, data in enumerate(pics)}
    known = write_plain(tmp_path / "known.txt", [(md5s["pic0"], "1"), (md5s["pic1"], "2")], header="MD5")
    for command in (
        ["case", "create", "OP-A"],
        ["hashset", "import", str(known)],
        ["-q", "ingest", "OP-A", str(evidence), "--workers", "1"],
        ["match", "OP-A"],
    ):
        assert runner.invoke(app, command).exit_code == 0, command
    # A reviewer categorizes pic2 and overrules the set on pic0; pic3 stays undecided.
    store = open_store(haven_env.url)
    with store.session() as session:
        ids = {label: session.scalar(select(Content.id).where(Content.md5 == md5)) for label, md5 in md5s.items()}
        later = utcnow() + timedelta(seconds=1)
        for label, category in (("pic2", "4"), ("pic0", "5")):
            session.add(
                Decision(content_id=ids[label], category=category, source="user", decided_by="tester", decided_at=later)
            )
    store.dispose()
    out = tmp_path / "OP-A.vics.json"

    result = runner.invoke(app, ["export", "OP-A", "--format", "vics", "--out", str(out)])

    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "victim-name" not in text and str(evidence) not in text and '"MediaFiles"' not in text
    (case,) = json.loads(text)["value"]
    media = {m["MD5"]: m for m in case["Media"]}
    assert set(media) == {md5s["pic0"], md5s["pic1"], md5s["pic2"]}
    pic1 = media[md5s["pic1"]]
    expected_pdq = analyze_bytes(pics[1], AnalysisSettings()).pdq
    assert pic1["Category"] == 2 and pic1["IsPrecategorized"] is True and pic1["MediaSize"] == len(pics[1])
    assert {a["HashName"]: a["HashValue"] for a in pic1["AlternativeHashes"]} == {
        "SHA256": hashlib.sha256(pics[1]).hexdigest(),
        "PDQ": expected_pdq,
    }
    assert (media[md5s["pic0"]]["Category"], media[md5s["pic0"]]["IsPrecategorized"]) == (5, False)
    assert (media[md5s["pic2"]]["Category"], media[md5s["pic2"]]["IsPrecategorized"]) == (4, False)
    store = open_store(haven_env.url)
    with store.session() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
    store.dispose()
    assert event.chain == "case:OP-A" and json.loads(event.detail)["sha256"] == file_sha256(out)
    assert runner.invoke(app, ["audit", "verify", "OP-A"]).exit_code == 0

    # A partner with an empty Haven imports the export and ingests the same files.
    partner = tmp_path / "partner"
    partner.mkdir()
    monkeypatch.setenv("HAVEN_HOME", str(partner))
    monkeypatch.setenv("HAVEN_DATABASE_URL", f"sqlite:///{partner}/haven.db")
    for command in (
        ["case", "create", "OP-B"],
        ["hashset", "import", str(out)],
        ["-q", "ingest", "OP-B", str(evidence), "--workers", "1"],
        ["match", "OP-B"],
    ):
        assert runner.invoke(app, command).exit_code == 0, command

    categories = current_categories(f"sqlite:///{partner}/haven.db", md5s)
    assert categories == {"pic0": "5", "pic1": "2", "pic2": "4", "pic3": None}
