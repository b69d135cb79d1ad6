"""`haven intel sightings import|list|match` through the CLI on both back ends: counts printed, JSON listing,
idempotence, members only, every command audited."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from conftest import HavenEnv
from haven.cli import app
from haven.errors import HavenError
from haven.store import open_store
from haven.store.models import AuditEvent
from sightings_builders import CASE, HELD, add_member, build_case, write_csv, write_stix

runner = CliRunner()


def _store(env: HavenEnv):
    return open_store(env.url)


def _actions(env: HavenEnv) -> list[tuple[str, str]]:
    store = _store(env)
    try:
        with store.session() as session:
            rows = session.execute(
                select(AuditEvent.user, AuditEvent.action)
                .where(AuditEvent.chain == f"case:{CASE}", AuditEvent.action.like("intel.%"))
                .order_by(AuditEvent.seq)
            ).all()
        return [(user, action) for user, action in rows]
    finally:
        store.dispose()


def test_import_prints_the_counts_and_twice_adds_nothing(haven_env: HavenEnv, tmp_path: Path) -> None:
    store = _store(haven_env)
    build_case(store)
    store.dispose()
    path = write_csv(tmp_path)

    first = runner.invoke(app, ["intel", "sightings", "import", str(path), "--case", CASE, "--source", "monitor"])
    assert first.exit_code == 0, first.output
    lines = first.output.splitlines()
    assert lines[0] == f"Imported {path} (csv) into {CASE}."
    assert "rows: 7  sightings: 4  identifiers: 4" in lines
    assert "hashes matched to case contents: 2 sightings (2 contents)" in lines
    assert "matched to known sets: 1 sightings (icse-sample)" in lines
    assert "identifiers already in the case: 1" in lines
    assert "skipped: 3" in lines
    assert "  line 7: 3 fields, the header has 8" in lines

    again = runner.invoke(app, ["intel", "sightings", "import", str(path), "--case", CASE])
    assert again.exit_code == 0, again.output
    assert "was already imported into OP-SIGHT" in again.output and "nothing added" in again.output

    listed = runner.invoke(app, ["intel", "sightings", "list", CASE, "--json"])
    assert listed.exit_code == 0, listed.output
    result = json.loads(listed.stdout)
    assert result["summary"]["sightings"] == 4 and result["summary"]["imports"] == 1
    exact = next(s for s in result["sightings"] if s["identifier"]["value"] == "203.0.113.7")
    assert exact["contents"][0]["sha256"] == HELD["sha256"] and exact["contents"][0]["category"] == "1"
    assert exact["source"] == "monitor"

    table = runner.invoke(app, ["intel", "sightings", "list", CASE])
    assert table.exit_code == 0, table.output
    assert "ipv4: 203.0.113.7" in table.output and "icse-sample cat 2 (md5 0)" in table.output

    rematch = runner.invoke(app, ["intel", "sightings", "match", CASE])
    assert rematch.exit_code == 0, rematch.output
    assert "2 sightings match case contents (2 contents), 1 match known sets, 1 of 4 identifiers" in rematch.output

    assert _actions(haven_env) == [
        ("tester", "intel.sightings.import"),
        ("tester", "intel.sightings.import"),
        ("tester", "intel.sightings.list"),
        ("tester", "intel.sightings.list"),
        ("tester", "intel.sightings.match"),
    ]


def refused(*args: str) -> str:
    """The HavenError a command ends with (haven.cli.main prints it as one line, exit 1)."""
    result = runner.invoke(app, list(args))
    assert isinstance(result.exception, HavenError), result.output
    assert result.stdout == ""
    return str(result.exception)


def test_non_members_are_refused(haven_env: HavenEnv, tmp_path: Path) -> None:
    store = _store(haven_env)
    build_case(store)
    add_member(store, CASE, "alice")  # HAVEN_USER is "tester": not a member
    store.dispose()
    for args in (
        ["intel", "sightings", "import", str(write_stix(tmp_path)), "--case", CASE],
        ["intel", "sightings", "list", CASE, "--json"],
        ["intel", "sightings", "match", CASE],
    ):
        assert "'tester' is not a member of case 'OP-SIGHT'" in refused(*args)
    assert _actions(haven_env) == []


def test_a_malformed_file_ends_with_one_line_on_stderr_and_exit_1(haven_env: HavenEnv, tmp_path: Path) -> None:
    store = _store(haven_env)
    build_case(store)
    store.dispose()
    path = tmp_path / "bad.json"
    path.write_text('{"type": "bundle", "id": "bundle--1", "objects": []}')
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from haven.cli import main; main()",
            "intel",
            "sightings",
            "import",
            str(path),
            "--case",
            CASE,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"error: {path}: not a valid STIX 2.1 bundle: Invalid value for Bundle 'id'")
    assert proc.stderr.count("\n") == 1 and proc.stdout == ""
    missing = refused("intel", "sightings", "import", str(tmp_path / "nope.csv"), "--case", CASE)
    assert missing == f"{tmp_path / 'nope.csv'}: cannot be read: No such file or directory"
    assert _actions(haven_env) == []
