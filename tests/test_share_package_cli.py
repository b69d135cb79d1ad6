"""`haven keys ...`, `haven export REF --format haven` and importing the package elsewhere, through the CLI."""

from __future__ import annotations

import hashlib
import json
import stat
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import HavenEnv
from hashset_builders import write_plain
from haven.cli import app
from haven.share.package import MANIFEST, MEMBERS, PAYLOAD
from test_cli_triage import picture

runner = CliRunner()


def ok(command: list[str]) -> str:
    result = runner.invoke(app, command)
    assert result.exit_code == 0, (command, result.output, result.exception)
    return result.output


def members(package: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(package) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_keys_export_and_import_through_the_cli(
    haven_env: HavenEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generated = ok(["keys", "generate", "--agency", "North Unit"])
    private, public = haven_env.home / "keys" / "signing-key.pem", haven_env.home / "keys" / "signing-key.pub.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert public.read_text() in generated and "PRIVATE" not in generated
    exported_public = tmp_path / "north.pub.pem"
    ok(["keys", "export-public", "--out", str(exported_public)])
    assert exported_public.read_text() == public.read_text()

    evidence = tmp_path / "evidence"
    evidence.mkdir()
    pics = [picture(seed) for seed in range(40, 43)]
    for i, data in enumerate(pics):
        (evidence / f"victim-name-{i}.jpg").write_bytes(data)
    md5s = [hashlib.md5(data).hexdigest() for data in pics]
    known = write_plain(tmp_path / "known.txt", [(md5s[0], "1"), (md5s[1], "2")], header="MD5")
    for command in (
        ["case", "create", "OP-A"],
        ["hashset", "import", str(known)],
        ["-q", "ingest", "OP-A", str(evidence), "--workers", "1"],
        ["match", "OP-A"],
    ):
        ok(command)
    package, with_paths = tmp_path / "OP-A.havenshare", tmp_path / "OP-A-paths.havenshare"

    ok(["export", "OP-A", "--format", "haven", "--out", str(package)])
    ok(["export", "OP-A", "--format", "haven", "--out", str(with_paths), "--include-paths", "--key", str(private)])
    vics_with_paths = ["export", "OP-A", "--format", "vics", "--out", str(tmp_path / "x"), "--include-paths"]
    refused = runner.invoke(app, vics_with_paths)

    assert refused.exit_code == 1 and "--include-paths applies to share packages only" in str(refused.exception)
    plain = members(package)
    assert tuple(plain) == MEMBERS
    for data in plain.values():
        assert b"victim-name" not in data and str(evidence).encode() not in data
        assert all(picture_bytes[:64] not in data for picture_bytes in pics)
    assert sorted(json.loads(line)["md5"] for line in plain[PAYLOAD].splitlines()) == sorted(md5s[:2])
    detailed = members(with_paths)
    assert json.loads(detailed[MANIFEST])["includes_paths"] is True
    assert b"victim-name-0.jpg" in detailed[PAYLOAD]

    # A partner with an empty Haven: refused until the key is trusted, then imported with its provenance.
    partner = tmp_path / "partner"
    partner.mkdir()
    monkeypatch.setenv("HAVEN_HOME", str(partner))
    monkeypatch.setenv("HAVEN_DATABASE_URL", f"sqlite:///{partner}/haven.db")
    untrusted = runner.invoke(app, ["hashset", "import", str(package)])
    assert untrusted.exit_code == 1 and "signed by an untrusted key" in str(untrusted.exception)
    trusted = ok(["keys", "trust", str(exported_public), "--agency", "North Unit"])
    fingerprint = trusted.split("fingerprint ")[1].strip()
    assert fingerprint[:16] in ok(["keys", "list"])

    imported = ok(["hashset", "import", str(package), "--name", "north-op-a"])

    assert "2 entries" in imported and "Signature verified: North Unit" in imported
    shown = json.loads(ok(["hashset", "show", "north-op-a", "--json"]))
    assert (shown["format"], shown["agency"], shown["case_reference"]) == ("haven", "North Unit", "OP-A")
    assert shown["signer_fingerprint"] == fingerprint and shown["shared_at"]
    assert "North Unit" in ok(["hashset", "show", "north-op-a"])
    ok(["keys", "untrust", fingerprint[:10]])
    (listed,) = json.loads(ok(["keys", "list", "--json"]))
    assert listed["fingerprint"] == fingerprint and listed["revoked_at"]
    revoked = runner.invoke(app, ["hashset", "import", str(with_paths)])
    assert revoked.exit_code == 1 and "revoked on" in str(revoked.exception)
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0
