"""The VICS 2.0 writer: root and scheme, field types, what the reader reads back, atomic writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hashset_builders import fake_hash, read_all
from haven.formats import detect, vics
from haven.formats.vics_writer import MediaRecord, write_vics

MD5S = [fake_hash("md5", i) for i in range(3)]


def full_record(category: str | None = "1") -> MediaRecord:
    return {
        "md5": MD5S[0],
        "sha1": fake_hash("sha1", 0),
        "sha256": fake_hash("sha256", 0),
        "pdq": fake_hash("pdq", 0),
        "photodna": "QUJD" * 48,
        "category": category,
        "series": "Series A",
        "victim_identified": True,
        "offender_identified": False,
        "tags": "tag1, tag2",
        "size": 12345,
        "precategorized": True,
    }


@pytest.mark.parametrize(
    ("scheme", "segment", "read_scheme"),
    [
        ("vic-us", "US", "vic-us"),
        ("caid-uk", "UK", "caid-uk"),
        ("vic-ca", "CUSTOM", "custom"),
        (None, "CUSTOM", "custom"),
    ],
)
def test_context_names_the_scheme(tmp_path: Path, scheme: str | None, segment: str, read_scheme: str) -> None:
    path = tmp_path / "out.json"
    write_vics(path, [{"md5": MD5S[0]}], scheme=scheme)

    document = json.loads(path.read_text())
    assert (
        document["@odata.context"] == f"http://github.com/ICMEC/ProjectVic/DataModels/2.0.xml/{segment}/$metadata#Media"
    )
    assert next(iter(document)) == "@odata.context"  # first, as readers decide the parse path from it
    head = path.read_bytes()[:65536]
    assert detect(head) is vics and vics.scheme(head) == read_scheme


def test_media_fields_and_types(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    count = write_vics(path, [full_record(), {"md5": MD5S[1].upper(), "category": None}], scheme="vic-us")

    first, second = json.loads(path.read_text())["value"]
    assert count == 2
    assert first == {
        "MediaID": 1,
        "MD5": MD5S[0],
        "SHA1": fake_hash("sha1", 0),
        "MediaSize": 12345,
        "Category": 1,
        "Series": "Series A",
        "VictimIdentified": True,
        "OffenderIdentified": False,
        "Tags": "tag1, tag2",
        "PhotoDNA": "QUJD" * 48,
        "IsPrecategorized": True,
        "AlternativeHashes": [
            {"MD5": MD5S[0], "HashName": "SHA256", "HashValue": fake_hash("sha256", 0)},
            {"MD5": MD5S[0], "HashName": "PDQ", "HashValue": fake_hash("pdq", 0)},
        ],
    }
    assert second == {"MediaID": 2, "MD5": MD5S[1], "IsPrecategorized": False}  # required even when unknown
    assert "MediaFiles" not in first


@pytest.mark.parametrize(
    ("scheme", "category", "written"),
    [("vic-us", "2", 2), ("caid-uk", "A", "A"), ("custom", "7", 7), ("custom", "grooming", "grooming")],
)
def test_category_is_a_number_only_when_numeric(tmp_path: Path, scheme: str, category: str, written: object) -> None:
    path = tmp_path / "out.json"
    write_vics(path, [{"md5": MD5S[0], "category": category}], scheme=scheme)

    assert json.loads(path.read_text())["value"][0]["Category"] == written


def test_reader_reads_back_what_was_written(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    write_vics(path, [full_record()], scheme="vic-us")

    entries, skipped, notes = read_all(vics.read(path))

    assert skipped == [] and notes == []
    expected = {k: v for k, v in full_record().items() if k not in ("size", "precategorized")}
    assert entries == [expected]


def test_case_number_writes_one_case_with_totals(tmp_path: Path) -> None:
    path = tmp_path / "case.json"
    records: list[MediaRecord] = [full_record(), {"md5": MD5S[1], "category": "5", "precategorized": False}]
    write_vics(path, records, scheme="vic-us", case_number="OP-1")

    document = json.loads(path.read_text())
    assert document["@odata.context"].endswith("/US/$metadata#Cases")
    (case,) = document["value"]
    assert case["CaseNumber"] == "OP-1" and len(case["CaseID"]) == 36
    assert (case["TotalMediaFiles"], case["TotalPrecategorized"]) == (2, 1)
    entries, _, _ = read_all(vics.read(path))
    assert [e["md5"] for e in entries] == MD5S[:2]


def test_streams_a_generator_and_leaves_nothing_behind_on_failure(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    path.write_text("previous export\n")

    def failing() -> object:
        yield {"md5": MD5S[0]}
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        write_vics(path, failing(), scheme="vic-us")  # type: ignore[arg-type]

    assert path.read_text() == "previous export\n"  # the old file is untouched, not half-replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]  # no temporary file left over
