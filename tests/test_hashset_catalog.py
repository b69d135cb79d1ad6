"""hashset list / show / remove through the CLI: counts, and removal that undoes what a set did."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import func, select
from typer.testing import CliRunner

from haven.cli import app
from haven.store import open_store
from haven.store.models import AuditEvent, Content, Decision, HashEntry, Match
from test_cli_triage import picture

runner = CliRunner()


def _setup(haven_env, tmp_path):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    pics = [picture(i) for i in range(3)]
    for i, data in enumerate(pics):
        (evidence / f"p{i}.jpg").write_bytes(data)
    known = tmp_path / "known.txt"
    known.write_text("MD5\n" + "".join(f"{hashlib.md5(d).hexdigest()},1\n" for d in pics[:2]))
    other = tmp_path / "other.txt"
    other.write_text(hashlib.sha1(pics[2]).hexdigest() + "\n")
    result = runner.invoke(
        app,
        [
            "-q",
            "triage",
            str(evidence),
            "--case",
            "HS-1",
            "--hashset",
            str(known),
            "--hashset",
            str(other),
            "--out",
            str(tmp_path / "r"),
            "--workers",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output


def test_list_and_show(haven_env, tmp_path) -> None:
    _setup(haven_env, tmp_path)
    listed = runner.invoke(app, ["hashset", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    by_name = {d["name"]: d for d in json.loads(listed.output)}
    assert by_name["known"]["entries"] == 2 and by_name["known"]["by_hash"]["md5"] == 2
    assert by_name["known"]["matched_contents"] == 2
    assert by_name["other"]["by_hash"]["sha1"] == 1 and by_name["other"]["matched_contents"] == 1
    shown = runner.invoke(app, ["hashset", "show", "known"])
    assert shown.exit_code == 0 and "file_sha256" in shown.output
    missing = runner.invoke(app, ["hashset", "show", "nope"])
    assert missing.exit_code == 1 and "no hash set named 'nope'" in str(missing.exception)


def test_remove_undoes_matches_statuses_and_set_decisions(haven_env, tmp_path) -> None:
    _setup(haven_env, tmp_path)
    refused = runner.invoke(app, ["hashset", "remove", "known"])  # no terminal and no --yes
    assert refused.exit_code == 1
    removed = runner.invoke(app, ["hashset", "remove", "known", "--yes"])
    assert removed.exit_code == 0, removed.output
    assert "2 entries, 2 matches, 2 pre-categorizations" in removed.output
    store = open_store(haven_env.url)
    with store.session() as session:
        statuses = sorted(session.scalars(select(Content.status)))
        assert statuses == ["known", "unknown", "unknown"]  # p2 is still in "other"; p0, p1 no longer known
        assert session.scalar(select(func.count(HashEntry.id))) == 1
        assert session.scalar(select(func.count(Match.id))) == 1
        assert session.scalar(select(func.count(Decision.id))) == 0
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.chain == "global")))
    store.dispose()
    assert actions[-1] == "hashset.remove"
