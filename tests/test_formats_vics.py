"""VICS JSON: #Cases and #Media, 2.0 and 1.x, schemes, AlternativeHashes, PhotoDNA, bad records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hashset_builders import fake_hash, read_all, vics_media, write_vics
from haven.formats import FormatError, detect, vics

MD5S = [fake_hash("md5", i) for i in range(4)]
PHOTODNA = "QUJD" * 48  # base64 of 144 made-up bytes


def head(path: Path) -> bytes:
    return path.read_bytes()[:65536]


@pytest.mark.parametrize("collection", ["Cases", "Media"])
def test_media_fields_become_entries(tmp_path: Path, collection: str) -> None:
    media = [
        vics_media(
            MD5S[0],
            category=1,
            sha1=fake_hash("sha1", 0),
            sha256=fake_hash("sha256", 0),
            pdq=fake_hash("pdq", 0),
            photodna=PHOTODNA,
            series="Series A",
            victim_identified=True,
            offender_identified=False,
            tags="tag1,tag2",
        ),
        vics_media(MD5S[1], media_id=2, category=None),
    ]
    path = write_vics(tmp_path / "v.json", media, collection=collection)

    entries, skipped, notes = read_all(vics.read(path))

    assert skipped == [] and notes == []
    assert entries == [
        {
            "md5": MD5S[0],
            "sha1": fake_hash("sha1", 0),
            "sha256": fake_hash("sha256", 0),
            "pdq": fake_hash("pdq", 0),
            "photodna": PHOTODNA,
            "category": "1",
            "series": "Series A",
            "victim_identified": True,
            "offender_identified": False,
            "tags": "tag1,tag2",
        },
        {
            "md5": MD5S[1],
            "sha1": None,
            "sha256": None,
            "pdq": None,
            "photodna": None,
            "category": None,
            "series": None,
            "victim_identified": None,
            "offender_identified": None,
            "tags": None,
        },
    ]


def test_media_of_every_case_are_read(tmp_path: Path) -> None:
    doc = {
        "@odata.context": "http://example.invalid/ProjectVic/DataModels/2.0.xml/US/$metadata#Cases",
        "value": [
            {"CaseID": "1", "Media": [vics_media(MD5S[0])], "CaseMetadata": [{"PropertyName": "x"}]},
            {"CaseID": "2", "Identifiers": [], "Media": [vics_media(MD5S[1]), vics_media(MD5S[2])]},
        ],
    }
    path = tmp_path / "v.json"
    path.write_text(json.dumps(doc))

    entries, _, _ = read_all(vics.read(path))

    assert [e["md5"] for e in entries] == MD5S[:3]


@pytest.mark.parametrize(
    ("segment", "version", "scheme"),
    [
        ("US", "2.0", "vic-us"),
        ("UK", "2.0", "caid-uk"),
        ("CUSTOM", "2.0", "custom"),
        ("Default", "2.0", None),
        (None, "1.2", None),
    ],
)
def test_scheme_comes_from_the_context_url(
    tmp_path: Path, segment: str | None, version: str, scheme: str | None
) -> None:
    path = write_vics(tmp_path / "v.json", [vics_media(MD5S[0], category=2)], segment=segment, version=version)

    entries, _, _ = read_all(vics.read(path))

    assert vics.scheme(head(path)) == scheme
    assert [(e["md5"], e["category"]) for e in entries] == [(MD5S[0], "2")]


@pytest.mark.parametrize("collection", ["Cases", "Media"])
def test_vics_1x_odata_metadata(tmp_path: Path, collection: str) -> None:
    path = write_vics(
        tmp_path / "v.json", [vics_media(MD5S[0]), vics_media(MD5S[1])], version="1.3", collection=collection
    )

    entries, _, _ = read_all(vics.read(path))

    assert [e["md5"] for e in entries] == MD5S[:2]
    assert detect(head(path)) is vics


def test_leading_byte_order_mark_is_stripped(tmp_path: Path) -> None:
    path = write_vics(tmp_path / "v.json", [vics_media(MD5S[0])], bom=True)

    entries, _, _ = read_all(vics.read(path))

    assert [e["md5"] for e in entries] == [MD5S[0]]
    assert detect(head(path)) is vics


def test_loosely_typed_values_as_exporters_write_them(tmp_path: Path) -> None:
    media = [
        vics_media(MD5S[0], category="3", victim_identified="true", offender_identified="False"),
        vics_media(MD5S[1], category=" 4 ", victim_identified="no", offender_identified="1"),
        {"MD5": MD5S[2], "Category": 2.0, "SHA1": "", "Tags": ["a", "b"], "Series": 17, "PhotoDNA": ""},
    ]
    path = write_vics(tmp_path / "v.json", media)

    entries, _, _ = read_all(vics.read(path))

    assert [(e["category"], e["victim_identified"], e["offender_identified"]) for e in entries] == [
        ("3", True, False),
        ("4", False, True),
        ("2", None, None),
    ]
    assert (entries[2]["sha1"], entries[2]["tags"], entries[2]["series"], entries[2]["photodna"]) == (
        None,
        "a, b",
        "17",
        None,
    )


def test_alternative_hash_names_are_matched_however_spelled(tmp_path: Path) -> None:
    alternative = [
        ("sha-256", fake_hash("sha256", 1).upper()),
        ("Pdq", fake_hash("pdq", 1)),
        ("PhotoDNA", PHOTODNA),
        ("MD5", MD5S[0]),
    ]
    path = write_vics(tmp_path / "v.json", [vics_media(MD5S[0], alternative=alternative)])

    entries, _, notes = read_all(vics.read(path))

    assert (entries[0]["sha256"], entries[0]["pdq"], entries[0]["photodna"]) == (
        fake_hash("sha256", 1),
        fake_hash("pdq", 1),
        PHOTODNA,
    )
    assert notes == []


def test_unknown_alternative_hashes_are_reported_once_not_per_record(tmp_path: Path) -> None:
    media = [vics_media(m, alternative=[("TLSH", "T1abc"), ("vPDQ", "x")]) for m in MD5S[:3]]
    media[0]["AlternativeHashes"] += [{"HashName": ["odd"], "HashValue": 1}, {"HashValue": "no name"}, "junk"]
    path = write_vics(tmp_path / "v.json", media)

    entries, _, notes = read_all(vics.read(path))

    assert len(entries) == 3
    assert notes == [
        "AlternativeHashes: not imported (Haven does not use them): None (1), TLSH (3), ['odd'] (1), vPDQ (3)"
    ]


def test_bad_optional_hashes_are_dropped_with_a_note_and_the_record_kept(tmp_path: Path) -> None:
    empty_sha1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    media = [
        vics_media(MD5S[0], sha1="xyz"),
        vics_media(MD5S[1], sha1=empty_sha1, sha256="abc"),
        vics_media(MD5S[2], pdq="0" * 64),
    ]
    path = write_vics(tmp_path / "v.json", media)

    entries, skipped, notes = read_all(vics.read(path))

    assert [e["md5"] for e in entries] == MD5S[:3]
    assert all(e["sha1"] is None and e["sha256"] is None and e["pdq"] is None for e in entries)
    assert skipped == []
    assert notes[0] == "record 1: SHA1 dropped: 'xyz' is not 40 hex digits"
    assert notes[1].startswith("record 2: SHA1 dropped: ") and "empty file" in notes[1]
    assert notes[2] == "record 2: SHA256 dropped: 'abc' is not 64 hex digits"
    assert notes[3].startswith("record 3: PDQ dropped: all-zero PDQ")


def test_records_without_a_usable_md5_are_skipped_with_their_number(tmp_path: Path) -> None:
    media: list[Any] = [
        vics_media(MD5S[0]),
        {"MediaID": 2, "Category": 1},
        {"MD5": "12345", "Category": 1},
        vics_media("d41d8cd98f00b204e9800998ecf8427e"),
        "not an object",
        vics_media(MD5S[1], category="c" * 61),
        vics_media(MD5S[2]),
    ]
    path = write_vics(tmp_path / "v.json", media, collection="Media")

    entries, skipped, _ = read_all(vics.read(path))

    assert [e["md5"] for e in entries] == [MD5S[0], MD5S[2]]
    assert skipped[:3] == [
        "record 2: no MD5",
        "record 3: MD5 '12345' is not 32 hex digits",
        "record 4: d41d8cd98f00b204e9800998ecf8427e is the MD5 of an empty file; never imported",
    ]
    assert skipped[3] == "record 5: a Media record is not a JSON object"
    assert skipped[4].startswith("record 6: category")


def test_truncated_file_fails_with_the_last_good_record(tmp_path: Path) -> None:
    path = write_vics(tmp_path / "v.json", [vics_media(m) for m in MD5S])
    data = path.read_bytes()
    path.write_bytes(data[: data.index(MD5S[3].upper().encode()) + 5])

    items = vics.read(path)
    with pytest.raises(FormatError, match=r"after record 3: malformed JSON \(parse error: premature EOF\)$"):
        list(items)


def test_invalid_utf8_fails_with_a_one_line_reason(tmp_path: Path) -> None:
    path = write_vics(tmp_path / "v.json", [vics_media(MD5S[0], series="\u00e9")])
    path.write_bytes(path.read_bytes().replace(b"\\u00e9", b"\xff\xfe"))

    with pytest.raises(FormatError) as caught:
        list(vics.read(path))
    assert str(caught.value) == (
        "before the first Media record: malformed JSON (lexical error: invalid bytes in UTF8 string.)"
    )


def test_file_without_odata_context_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "v.json"
    path.write_text(json.dumps({"value": [vics_media(MD5S[0])]}))

    with pytest.raises(FormatError, match=r"no @odata\.context"):
        list(vics.read(path))
    assert vics.sniff(head(path)) is False


def test_context_listing_something_else_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "v.json"
    path.write_text(json.dumps({"@odata.context": "http://x/2.0.xml/US/$metadata#Identifiers", "value": []}))

    with pytest.raises(FormatError, match="lists 'Identifiers', not Cases or Media"):
        list(vics.read(path))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"@odata.context": "http://x/2.0.xml/US/$metadata#Media", "value": []}', True),
        (b'\xef\xbb\xbf\n  {"odata.metadata": "http://x/1.1.xml#Cases", "value": []}', True),
        (b'{"name": "something else"}', False),
        (b'[{"@odata.context": "x"}]', False),
        (fake_hash("md5", 1).encode(), False),
    ],
)
def test_sniff(data: bytes, expected: bool) -> None:
    assert vics.sniff(data) is expected


def test_the_fast_ijson_backend_is_used_when_built() -> None:
    import ijson

    try:
        ijson.get_backend("yajl2_c")
    except ImportError:
        pytest.skip("yajl2_c backend not built here")
    assert vics._ijson.backend == "yajl2_c"
