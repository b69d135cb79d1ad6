"""The faces commands through the CLI contract: analyze, faces (JSON shape), name/merge/split, search-face."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from typer.testing import CliRunner

from conftest import HavenEnv
from faces_builders import lfw_bytes
from haven.cli import app
from haven.errors import HavenError

runner = CliRunner()
POWELL_1, POWELL_2, BLAIR_1 = lfw_bytes("Colin_Powell", 1), lfw_bytes("Colin_Powell", 2), lfw_bytes("Tony_Blair", 1)


def run(*args: str) -> str:
    result = runner.invoke(app, ["-q", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_faces_json_shape_and_analyst_commands(haven_env: HavenEnv, tmp_path: Path) -> None:
    evidence = tmp_path / "ev"
    evidence.mkdir()
    for name, data in {"p1.jpg": POWELL_1, "p2.jpg": POWELL_2, "b1.jpg": BLAIR_1}.items():
        (evidence / name).write_bytes(data)
    other = tmp_path / "other"
    other.mkdir()
    (other / "p.jpg").write_bytes(POWELL_2)
    run("case", "create", "CLI-1")
    run("case", "create", "CLI-2")
    run("ingest", "CLI-1", str(evidence), "--workers", "1")
    run("ingest", "CLI-2", str(other), "--workers", "1")
    assert "3 pictures analysed" in run("analyze", "CLI-1", "--faces", "--workers", "1")
    run("analyze", "CLI-2", "--faces", "--workers", "1")

    identities = json.loads(run("faces", "CLI-1", "--json"))
    assert [set(i) for i in identities] == [{"id", "name", "faces"}] * 2
    for identity in identities:
        for face in identity["faces"]:
            assert set(face) == {"sha256", "box", "quality"}
            assert len(face["box"]) == 4 and all(isinstance(v, int) for v in face["box"])
            assert isinstance(face["quality"], float)
    powell, blair = identities  # largest first
    assert {f["sha256"] for f in powell["faces"]} == {sha(POWELL_1), sha(POWELL_2)}

    run("faces", "name", "CLI-1", str(powell["id"]), "Person A")
    run("faces", "merge", "CLI-1", str(powell["id"]), str(blair["id"]))
    run("faces", "split", "CLI-1", str(powell["id"]), "--faces", sha(BLAIR_1)[:10])
    after = json.loads(run("faces", "list", "CLI-1", "--json"))
    assert (after[0]["id"], after[0]["name"], len(after[0]["faces"])) == (powell["id"], "Person A", 2)
    assert len(after) == 2 and after[1]["faces"][0]["sha256"] == sha(BLAIR_1)

    found = json.loads(run("search-face", "CLI-2", sha(POWELL_2), "--json"))
    assert len(found["query_faces"]) == 1
    matches = [(m["case"], m["sha256"], m["identity"]["name"]) for m in found["matches"]]
    assert matches[:2] == [("CLI-1", sha(POWELL_2), "Person A"), ("CLI-1", sha(POWELL_1), "Person A")]
    assert "intact" in run("audit", "verify", "CLI-1")  # the chain holds after the analyst actions


def refused(*args: str) -> str:
    """The HavenError a command ends with (haven.cli.main prints it as one line, exit 1)."""
    result = runner.invoke(app, list(args))
    assert isinstance(result.exception, HavenError), result.output
    return str(result.exception)


def test_refusals_name_the_problem(haven_env: HavenEnv) -> None:
    run("case", "create", "CLI-3")
    assert refused("analyze", "CLI-3") == "choose a stage to run: --faces, --ocr or --scenes"
    assert "no identity 7 in case 'CLI-3'" in refused("faces", "name", "CLI-3", "7", "X")
    assert "no case 'NOPE'" in refused("faces", "NOPE")
    assert "is not a picture of case 'CLI-3'" in refused("search-face", "CLI-3", "deadbeefdeadbeef")
