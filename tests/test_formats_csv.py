"""Delimited tables with a header (ICSE-style baselines, spreadsheet and EnCase table exports):
header synonyms, quoting, flags, notes and skips with line numbers, detection, import into the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from hashset_builders import fake_hash, read_all, write_text
from haven.formats import FormatError, csv_table, detect
from haven.formats.base import HEAD_SIZE
from haven.hashsets import import_hashset
from haven.store import Store
from haven.store.models import HashEntry

MD5, SHA1, SHA256, PDQ = fake_hash("md5", 1), fake_hash("sha1", 1), fake_hash("sha256", 1), fake_hash("pdq", 1)
MD5_B, SHA1_B = fake_hash("md5", 2), fake_hash("sha1", 2)
PHOTODNA = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # made-up, PhotoDNA-shaped text
ICSE_HEADER = "MD5, SHA1, photoDNA, SeriesName, VictimIdentified, OffenderIdentified"


def detected(path: Path) -> str | None:
    found = detect(path.read_bytes()[:HEAD_SIZE])
    return found.name if found else None


def fields(entry: dict[str, object], *names: str) -> tuple[object, ...]:
    return tuple(entry[name] for name in names)


def test_icse_baseline_fills_every_column(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "icse.csv",
        [
            ICSE_HEADER,
            f'{MD5.upper()}, {SHA1}, "{PHOTODNA}", "Series, with comma", true, N',
            f"{MD5_B},,,,0,yes",
        ],
    )

    entries, skipped, notes = read_all(csv_table.read(path))

    columns = ("md5", "sha1", "photodna", "series", "victim_identified", "offender_identified", "category")
    assert [fields(e, *columns) for e in entries] == [
        (MD5, SHA1, PHOTODNA, "Series, with comma", True, False, None),
        (MD5_B, None, None, None, False, True, None),
    ]
    assert (skipped, notes) == ([], [])
    assert detected(path) == "csv"


@pytest.mark.parametrize(
    "header",
    [
        "md5;sha-1;SHA-256;pdq;category;Series;victim_identified;offender identified;Tags;Comments",
        "MD5 Hash\tSHA1 Hash\tSHA256\tPDQ Hash\tCategory\tSeries Name\t"
        "Victim Identified\tOffender Identified\tTag\tComment",
        "MD5|SHA1|SHA256|PDQ|CATEGORY|SERIESNAME|VICTIMIDENTIFIED|OFFENDERIDENTIFIED|TAGS|COMMENTS",
    ],
)
def test_header_synonyms_in_any_case_and_delimiter(tmp_path: Path, header: str) -> None:
    delimiter = next(d for d in (";", "\t", "|") if d in header)
    row = delimiter.join([MD5, SHA1, SHA256, PDQ, "2", "S-9", "Y", "0", "t1", "c1"])
    path = write_text(tmp_path / "t.csv", [header, row])

    entries, skipped, notes = read_all(csv_table.read(path))

    assert [
        fields(
            e, "md5", "sha1", "sha256", "pdq", "category", "series", "victim_identified", "offender_identified", "tags"
        )
        for e in entries
    ] == [(MD5, SHA1, SHA256, PDQ, "2", "S-9", True, False, "t1; c1")]
    assert (skipped, notes) == ([], [])
    assert detected(path) == "csv"


def test_columns_in_any_order_with_extras_and_names_dropped(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "t.csv",
        ["Name,Category,Size,SHA1,File Path", f"victim-name.jpg,1,1234,{SHA1},C:\\Users\\x\\victim-name.jpg"],
    )

    entries, _, notes = read_all(csv_table.read(path))

    assert [fields(e, "sha1", "category", "tags") for e in entries] == [(SHA1, "1", None)]
    assert "victim-name" not in repr(entries)
    assert notes == [
        "header: columns not imported: 'Name' (file names are never stored), 'Size', "
        "'File Path' (file names are never stored)"
    ]


def test_encase_table_export_with_hash_value_column(tmp_path: Path) -> None:
    lines = [
        "Name\tHash Value\tHash Set\tHash Category",
        f"a.jpg\t{MD5}\tAgency list\tNotable",
        f"b.jpg\t{SHA1_B}\t\t",
        f"c.jpg\t{SHA256}\tAgency list\tNotable",
    ]
    path = write_text(tmp_path / "encase export.txt", lines, encoding="utf-16-le", newline="\r\n")

    entries, skipped, _ = read_all(csv_table.read(path))

    assert [fields(e, "md5", "sha1", "sha256", "tags") for e in entries] == [
        (MD5, None, None, "Agency list; Notable"),
        (None, SHA1_B, None, None),
        (None, None, SHA256, "Agency list; Notable"),
    ]
    assert skipped == []
    assert detected(path) == "csv"


def test_quoted_fields_may_hold_delimiters_quotes_and_newlines(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "t.csv",
        ["MD5,Comments,Series", f'{MD5},"first line', 'second, with ""quotes""",S1', f"{MD5_B},plain,S2"],
    )

    entries, skipped, _ = read_all(csv_table.read(path))

    assert [fields(e, "md5", "tags", "series") for e in entries] == [
        (MD5, 'first line\nsecond, with "quotes"', "S1"),
        (MD5_B, "plain", "S2"),
    ]
    assert skipped == []


def test_bad_flags_are_notes_and_the_field_is_dropped(tmp_path: Path) -> None:
    path = write_text(tmp_path / "t.csv", [ICSE_HEADER, f"{MD5},,,,maybe,TRUE", f"{MD5_B},,,,1,2"])

    entries, skipped, notes = read_all(csv_table.read(path))

    assert [fields(e, "md5", "victim_identified", "offender_identified") for e in entries] == [
        (MD5, None, True),
        (MD5_B, True, None),
    ]
    assert skipped == []
    assert notes == [
        "line 2: VictimIdentified 'maybe' is not true/false, yes/no or 1/0; dropped",
        "line 3: OffenderIdentified '2' is not true/false, yes/no or 1/0; dropped",
    ]


def test_bad_hashes_skip_a_row_without_another_hash_and_are_notes_beside_a_good_one(tmp_path: Path) -> None:
    lines = [
        "MD5,SHA1,PhotoDNA,Category",
        f"{MD5},{SHA1[:-1]},,1",  # short SHA1 next to a good MD5: kept, note
        f"{MD5_B[:-1]}g,{SHA1_B},,1",  # non-hex MD5 next to a good SHA1: kept, note
        f"{MD5[:31]},,,1",  # only a short MD5: skipped
        "xyz,,,2",
        f",,{PHOTODNA},3",  # PhotoDNA alone never matches: skipped
        "d41d8cd98f00b204e9800998ecf8427e,,,1",
        f"{fake_hash('md5', 7)},,,{'c' * 61}",
        ",,,",
    ]
    path = write_text(tmp_path / "t.csv", lines)

    entries, skipped, notes = read_all(csv_table.read(path))

    assert [fields(e, "md5", "sha1") for e in entries] == [(MD5, None), (None, SHA1_B)]
    assert notes == [
        f"line 2: SHA1 '{SHA1[:-1]}' has 39 hex digits; expected 40; dropped",
        f"line 3: MD5 '{MD5_B[:-1]}g' is not hexadecimal; dropped",
    ]
    assert skipped == [
        f"line 4: MD5 '{MD5[:31]}' has 31 hex digits; expected 32",
        "line 5: MD5 'xyz' is not hexadecimal",
        "line 6: no MD5, SHA1, SHA256 or PDQ (PhotoDNA alone is never matched)",
        "line 7: d41d8cd98f00b204e9800998ecf8427e is the MD5 of an empty file; never imported",
        "line 8: category 'cccccccccccccccccccccccccccccccccccccccc…' is longer than 60 characters",
    ]


def test_line_numbers_count_comments_blank_lines_and_multiline_records(tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "t.csv", ["# exported 2026", "MD5,Comments", "", f'{MD5},"two', 'lines"', "# note", "zz,x"]
    )

    _, skipped, _ = read_all(csv_table.read(path))

    assert skipped == ["line 7: MD5 'zz' is not hexadecimal"]


def test_a_header_without_a_hash_column_is_refused(tmp_path: Path) -> None:
    path = write_text(tmp_path / "t.csv", ["Name,Category", "a,1"])

    with pytest.raises(FormatError, match="line 1: the header names no MD5, SHA1, SHA256, PDQ or Hash column"):
        list(csv_table.read(path))


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["signal_type,signal_str,collab,category,tags", f"pdq,{PDQ},c,,"], "hma"),
        (["MD5", MD5], "plain"),
        (["PDQ", PDQ], "pdq"),
        ([f"pdq {PDQ}"], "pdq"),
        ([f"{MD5},1"], "plain"),
        ([f"md5 {MD5}", f"pdq {PDQ}"], "signals"),
        (["Name,Size", "a,1"], None),
        ([ICSE_HEADER, MD5], "csv"),
        (["Hash Value,Name", f"{MD5},a.jpg"], "csv"),
    ],
)
def test_detection_does_not_steal_other_formats(tmp_path: Path, lines: list[str], expected: str | None) -> None:
    assert detected(write_text(tmp_path / "l.txt", lines)) == expected


def test_icse_baseline_import_stores_photodna_and_flags(store: Store, tmp_path: Path) -> None:
    path = write_text(
        tmp_path / "baseline.csv",
        [ICSE_HEADER + ", Category", f"{MD5},{SHA1},{PHOTODNA},S1,Y,N,1", f"{MD5_B},,,,,,2", "nothex,,,,,,1"],
    )

    result = import_hashset(store, path, user="investigator-1")

    assert (result.format, result.imported, result.skipped) == ("csv", 2, 1)
    assert result.skipped_reasons == ["line 4: MD5 'nothex' is not hexadecimal"]
    with store.session() as session:
        rows = session.execute(
            select(
                HashEntry.md5,
                HashEntry.sha1,
                HashEntry.photodna,
                HashEntry.series,
                HashEntry.victim_identified,
                HashEntry.offender_identified,
                HashEntry.category,
            ).order_by(HashEntry.id)
        )
        assert [tuple(r) for r in rows] == [
            (MD5, SHA1, PHOTODNA, "S1", True, False, "1"),
            (MD5_B, None, None, None, None, None, "2"),
        ]
