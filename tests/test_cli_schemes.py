"""`haven scheme ...`, `case create --scheme` with a custom scheme, `hashset import --scheme`, and `match` notes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from typer.testing import CliRunner

from hashset_builders import write_plain, write_text
from haven.cli import app
from haven.errors import HavenError
from haven.store import open_store
from haven.store.models import Case, Content

runner = CliRunner()


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_list_show_and_mapping(haven_env) -> None:
    listed = json.loads(invoke("scheme", "list", "--json"))
    assert [(s["name"], s["builtin"]) for s in listed] == [("caid-uk", True), ("vic-ca", True), ("vic-us", True)]

    shown = json.loads(invoke("scheme", "show", "vic-us", "--json"))
    assert [c["code"] for c in shown["categories"]] == ["1", "2", "3", "4", "5", "0"]
    table = invoke("scheme", "show", "caid-uk")
    assert "Category A" in table and "maps to: vic-ca (3 codes), vic-us (3 codes)" in table

    mapped = json.loads(invoke("scheme", "mapping", "caid-uk", "vic-us", "--json"))
    assert {m["from_code"]: m["to_code"] for m in mapped} == {"A": "1", "B": "1", "C": None, "N": None, "U": "0"}
    assert "unmapped" in invoke("scheme", "mapping", "vic-us", "caid-uk")

    missing = runner.invoke(app, ["scheme", "show", "nope"])
    assert missing.exit_code == 1 and isinstance(missing.exception, HavenError)
    assert "unknown category scheme 'nope'" in str(missing.exception)


def test_custom_scheme_for_a_case_mapping_and_matching(haven_env, tmp_path: Path) -> None:
    scheme_file = write_text(tmp_path / "unit.csv", ["code,name,meaning", "P,Priority,", "R,Routine,", "X,Excluded,"])
    assert "3 codes" in invoke("scheme", "create", "unit", "--from", str(scheme_file), "--title", "Unit codes")
    refused = runner.invoke(app, ["scheme", "create", "unit", "--from", str(scheme_file)])
    assert refused.exit_code == 1 and "already exists" in str(refused.exception)

    map_file = write_text(tmp_path / "uk-to-unit.csv", ["from_code,to_code", "A,P", "B,P", "N,X"])
    assert "3 codes mapped, 2 unmapped" in invoke("scheme", "map", "caid-uk", "unit", "--from-file", str(map_file))

    assert "scheme unit" in invoke("case", "create", "OP-UNIT", "--scheme", "unit")
    assert runner.invoke(app, ["case", "create", "OP-BAD", "--scheme", "nope"]).exit_code == 2

    store = open_store(haven_env.url)
    try:
        with store.session() as session:
            case_id = session.query(Case.id).filter(Case.reference == "OP-UNIT").scalar()
            contents = []
            for name in ("a", "c"):
                data = f"unit:{name}".encode()
                contents.append(
                    Content(
                        case_id=case_id,
                        sha256=hashlib.sha256(data).hexdigest(),
                        md5=hashlib.md5(data).hexdigest(),
                        sha1=hashlib.sha1(data).hexdigest(),
                        size=len(data),
                        kind="image",
                    )
                )
            session.add_all(contents)
            md5s = [c.md5 for c in contents]
    finally:
        store.dispose()

    listing = write_plain(tmp_path / "uk.txt", [(md5s[0], "A"), (md5s[1], "C"), ("ab" * 16, "Q")])
    imported = runner.invoke(app, ["hashset", "import", str(listing), "--scheme", "caid-uk"])
    assert imported.exit_code == 0, imported.output
    assert "2 entries, 1 skipped" in imported.output
    assert "line 3: category 'Q' is not in scheme caid-uk" in imported.output

    matched = invoke("-q", "match", "OP-UNIT")
    assert "1 pre-categorizations." in matched
    assert "note: 1 pre-categorizations from set uk were not applied: no mapping from caid-uk code C to unit" in matched
