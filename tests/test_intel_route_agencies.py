"""The agency directory (issue 7): TOML and CSV files, validation with line numbers, the fallback, the
sender, `haven intel agencies list|import`, and HAVEN_AGENCY_DIRECTORY."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from conftest import HavenEnv
from haven.cli import app
from haven.intel.agencies import (
    DEFAULT_FALLBACK_UNIT,
    DirectoryError,
    import_directory,
    load_directory,
    parse_file,
    to_toml,
)
from haven.store import open_store
from haven.store.models import AuditEvent

runner = CliRunner()

GOOD_TOML = """\
tlp = "red"

[sender]
agency = "Example Police"
unit = "Online Child Exploitation Unit"
email = "oceu@example.police.uk"
country = "gbr"

[fallback]
unit = "Interpol IGCI"
channel = "I-24/7"

[[agency]]
country = "US"
unit = "ICAC Task Force \\"North\\""
email = "intake@icac.example"

[[agency]]
country = "deu"
unit = "BKA SO12"
channel = "secure e-mail"
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_toml_directory(tmp_path: Path) -> None:
    directory = parse_file(write(tmp_path / "a.toml", GOOD_TOML))
    assert directory.tlp == "red"
    assert directory.sender is not None and directory.sender.country == "GB"  # alpha-3 stored as alpha-2
    assert sorted(directory.agencies) == ["DE", "US"]
    assert directory.for_country("US")[0].unit == 'ICAC Task Force "North"'
    assert directory.for_country("DE") == (directory.agencies["DE"], False)
    fallback, is_fallback = directory.for_country("BR")
    assert is_fallback and fallback.unit == "Interpol IGCI"
    assert directory.for_country(None)[1] is True
    # What the directory writes reads back the same.
    again = parse_file(write(tmp_path / "b.toml", to_toml(directory)))
    assert (again.agencies, again.sender, again.fallback, again.tlp) == (
        directory.agencies,
        directory.sender,
        directory.fallback,
        directory.tlp,
    )


def test_missing_directory_sends_everything_to_the_default_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HAVEN_AGENCY_DIRECTORY", raising=False)
    directory = load_directory(tmp_path)
    assert directory.agencies == {} and directory.sender is None
    assert directory.for_country("FR") == (directory.fallback, True)
    assert directory.fallback.unit == DEFAULT_FALLBACK_UNIT


def test_bad_toml_rows_are_refused_with_their_lines(tmp_path: Path) -> None:
    text = GOOD_TOML + '\n[[agency]]\ncountry = "XX"\nunit = "Nowhere"\n\n[[agency]]\ncountry = "US"\nunit = "Again"\n'
    text += '\n[[agency]]\ncountry = "FR"\n\n[[agency]]\ncountry = "IT"\nunit = "x"\nemail = "not-an-address"\n'
    with pytest.raises(DirectoryError) as refused:
        parse_file(write(tmp_path / "bad.toml", text))
    problems = refused.value.problems
    lines = text.splitlines()
    headers = [n for n, line in enumerate(lines, start=1) if line == "[[agency]]"]
    assert problems == [
        f"line {headers[2]}: country 'XX' is not an ISO 3166-1 code",
        f"line {headers[3]}: US is listed twice",
        f"line {headers[4]}: unit is required",
        f"line {headers[5]}: e-mail 'not-an-address' is not an address",
    ]
    with pytest.raises(DirectoryError, match="tlp must be one of amber, red"):
        parse_file(write(tmp_path / "tlp.toml", 'tlp = "green"\n'))
    with pytest.raises(DirectoryError, match="unknown key"):
        parse_file(write(tmp_path / "typo.toml", '[[agency]]\ncountry = "US"\nunit = "x"\nemial = "a@b.example"\n'))
    with pytest.raises(DirectoryError):
        parse_file(write(tmp_path / "syntax.toml", "[[agency]\n"))


def test_csv_directory_and_bad_rows(tmp_path: Path) -> None:
    good = write(
        tmp_path / "a.csv",
        "country,unit,contact,channel,email\nUS,ICAC Task Force,,secure e-mail,intake@icac.example\n"
        "*,Interpol (via own NCB),,I-24/7,\nAUS,ACCCE,,portal,\n",
    )
    directory = parse_file(good)
    assert sorted(directory.agencies) == ["AU", "US"] and directory.has_fallback
    bad = write(tmp_path / "b.csv", "country,unit\nUS,ok\nZZ,bad country\nFR,\nUS,twice\nDE,x,extra\n")
    with pytest.raises(DirectoryError) as refused:
        parse_file(bad)
    assert refused.value.problems == [
        "line 3: country 'ZZ' is not an ISO 3166-1 code",
        "line 4: unit is required",
        "line 5: US is listed twice",
        "line 6: more values than columns",
    ]
    with pytest.raises(DirectoryError, match="unknown column"):
        parse_file(write(tmp_path / "c.csv", "country,unit,fax\nUS,x,1\n"))


def test_import_keeps_the_sender_when_a_csv_has_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HAVEN_AGENCY_DIRECTORY", raising=False)
    import_directory(write(tmp_path / "a.toml", GOOD_TOML), tmp_path)
    directory, path, sha256 = import_directory(write(tmp_path / "b.csv", "country,unit\nNL,Politie AVVC\n"), tmp_path)
    assert path == tmp_path / "agencies.toml" and len(sha256) == 64
    assert sorted(directory.agencies) == ["NL"]
    assert directory.sender is not None and directory.sender.agency == "Example Police"
    assert directory.fallback.unit == "Interpol IGCI" and directory.tlp == "red"
    assert tomllib.loads(path.read_text(encoding="utf-8"))["agency"] == [{"country": "NL", "unit": "Politie AVVC"}]


def test_agency_directory_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = write(tmp_path / "elsewhere.csv", "country,unit\nSE,Polisen NOA\n")
    monkeypatch.setenv("HAVEN_AGENCY_DIRECTORY", str(elsewhere))
    assert load_directory(tmp_path / "home").for_country("SE")[0].unit == "Polisen NOA"


def test_agencies_cli(haven_env: HavenEnv, tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.csv", "country,unit\nQQ,x\n")
    refused = runner.invoke(app, ["intel", "agencies", "import", str(bad)])
    assert refused.exit_code == 1 and "line 2: country 'QQ'" in str(refused.exception)
    assert not (haven_env.home / "agencies.toml").exists()
    imported = runner.invoke(app, ["intel", "agencies", "import", str(write(tmp_path / "a.toml", GOOD_TOML))])
    assert imported.exit_code == 0, imported.output
    listed = runner.invoke(app, ["intel", "agencies", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    document = json.loads(listed.stdout)
    assert [a["country"] for a in document["agencies"]] == ["DE", "US"]
    assert document["sender"]["agency"] == "Example Police" and document["fallback"]["unit"] == "Interpol IGCI"
    shown = runner.invoke(app, ["intel", "agencies", "list"])
    assert shown.exit_code == 0 and "BKA SO12" in shown.stdout and "Interpol IGCI" in shown.stdout
    store = open_store(haven_env.url)
    try:
        with store.session() as session:
            events = session.scalars(select(AuditEvent).where(AuditEvent.action.like("intel.agencies.%"))).all()
    finally:
        store.dispose()
    imports = [json.loads(e.detail) for e in events if e.action == "intel.agencies.import"]
    assert len(imports) == 1 and imports[0]["agencies"] == 2 and len(imports[0]["sha256"]) == 64
    assert sum(e.action == "intel.agencies.list" for e in events) == 2
