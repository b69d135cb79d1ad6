"""The same-scene commands through the CLI contract: analyze --scenes, search-scene (JSON shape, box, errors)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from typer.testing import CliRunner

from conftest import HavenEnv
from haven.cli import app
from haven.errors import HavenError
from scenes_builders import distractors, ukbench

runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, ["-q", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_analyze_scenes_and_search_scene_json(haven_env: HavenEnv, tmp_path: Path) -> None:
    evidence = tmp_path / "ev"
    evidence.mkdir()
    pictures = {"tin4.jpg": ukbench(4), "tin5.jpg": ukbench(5), "puzzle0.jpg": ukbench(0)}
    pictures.update({f"d{i}.jpg": data for i, data in enumerate(distractors(3))})
    for name, data in pictures.items():
        (evidence / name).write_bytes(data)
    run("case", "create", "SC-1")
    run("ingest", "SC-1", str(evidence), "--workers", "1")
    assert "6 pictures analysed" in run("analyze", "SC-1", "--scenes", "--workers", "1")
    assert "0 pictures analysed (6 already done)" in run("analyze", "SC-1", "--scenes")

    found = json.loads(run("search-scene", "SC-1", sha(ukbench(4)), "--json"))
    assert set(found) == {"item", "box", "query_keypoints", "scope", "matches"}
    assert found["box"] is None and found["query_keypoints"] > 100 and found["scope"] == "SC-1"
    assert [m["sha256"] for m in found["matches"]] == [sha(ukbench(5))]
    match = found["matches"][0]
    assert set(match) == {"score", "inliers", "similarity", "case", "sha256", "path"}
    assert match["case"] == "SC-1" and isinstance(match["inliers"], int) and match["path"].endswith("tin5.jpg")

    boxed = json.loads(run("search-scene", "SC-1", sha(ukbench(4)), "--box", "0,0,320,240", "--json", "--limit", "1"))
    assert boxed["box"] == [0, 0, 320, 240] and 0 < boxed["query_keypoints"] < found["query_keypoints"]
    assert len(boxed["matches"]) <= 1

    assert "match(es) in all cases" in run("search-scene", "SC-1", sha(ukbench(4)), "--all-cases")
    bad = runner.invoke(app, ["search-scene", "SC-1", sha(ukbench(4)), "--box", "1,2,3"])
    # haven.cli.main turns the HavenError into one line on stderr and exit code 2.
    assert isinstance(bad.exception, HavenError) and "--box must be x,y,w,h" in str(bad.exception)
