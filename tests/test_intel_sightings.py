"""Sightings imported into a case on both back ends: CSV, JSON and STIX 2.1 files, matched against the case's
contents (exact and PDQ), the known hash sets (with categories) and the case's identifiers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from haven.hashset_catalog import remove_hashset
from haven.intel.access import NotAMemberError
from haven.intel.sightings import MatchSettings, SightingsImportError, import_sightings, list_sightings, match_sightings
from haven.store.models import (
    AuditEvent,
    Case,
    Content,
    HashEntry,
    HashSet,
    Match,
    Sighting,
    SightingImport,
    SightingMatch,
)
from sightings_builders import (
    BASE_PDQ,
    CASE,
    HELD,
    KNOWN_ONLY,
    PICTURE,
    add_extracted_identifier,
    add_member,
    build_case,
    flip,
    write_csv,
    write_json,
    write_stix,
)


def _listing(store, reference: str = CASE) -> dict:
    with store.session() as session:
        case = session.scalar(select(Case).where(Case.reference == reference))
        return list_sightings(session, case.id, reference)


def _by_value(listing: dict) -> dict[str, dict]:
    return {s["identifier"]["value"] if s["identifier"] else s["file_name"]: s for s in listing["sightings"]}


def _count(store, model) -> int:
    with store.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_csv_rows_match_contents_known_sets_and_identifiers(store, tmp_path: Path) -> None:
    build_case(store)
    summary = import_sightings(store, write_csv(tmp_path), case_ref=CASE, user="alice", source="P2P monitor")

    assert (summary.format, summary.records, summary.sightings, summary.skipped) == ("csv", 7, 4, 3)
    assert summary.skipped_reasons[0].startswith("line 6: time '2026-03-01 10:00:00' has no zone")
    assert summary.skipped_reasons[1] == "line 7: 3 fields, the header has 8"
    assert summary.skipped_reasons[2].startswith("line 8: identifier: 'not-an-ip' is not an IP address")
    assert (summary.identifiers, summary.identifiers_in_case) == (4, 1)
    assert (summary.sightings_matching_contents, summary.contents_matched) == (2, 2)
    assert (summary.sightings_matching_known, summary.known_sets) == (1, ["icse-sample"])

    found = _by_value(_listing(store))
    exact = found["203.0.113.7"]
    assert exact["observed_at"] == "2026-03-01T10:00:00+00:00"
    assert exact["source"] == "P2P monitor"  # the row names none: --source
    assert exact["contents"] == [
        {
            "sha256": HELD["sha256"],
            "method": "sha256",
            "distance": 0,
            "status": "unknown",
            "category": "1",
            "sets": [],
            "path": "EX1:/DCIM/held.jpg",
        }
    ]
    near = found["Trader@Example.COM"]
    assert near["identifier"] == {
        "type": "email",
        "value": "Trader@Example.COM",
        "normalized": "trader@example.com",
        "in_case": True,
    }
    assert near["observed_at"] == "2026-03-01T09:00:00+00:00"  # +02:00 made UTC
    assert near["source"] == "tip 44"
    assert [(c["sha256"], c["method"], c["distance"]) for c in near["contents"]] == [(PICTURE["sha256"], "pdq", 5)]
    known = found["198.51.100.9"]
    assert known["contents"] == []
    assert known["known"] == [
        {"set": "icse-sample", "kind": "known", "category": "2", "series": "Series A", "method": "md5", "distance": 0}
    ]
    assert known["hashes"] == {"md5": KNOWN_ONLY["md5"]}
    far = found["2001:DB8::1"]
    assert far["identifier"]["normalized"] == "2001:db8::1"
    assert (far["contents"], far["known"]) == ([], [])
    assert far["from"] == {"file": "monitor.csv", "record": "line:5"}


def test_json_rows_with_tolerant_keys_epoch_and_utc_named_columns(store, tmp_path: Path) -> None:
    build_case(store)
    summary = import_sightings(store, write_json(tmp_path), case_ref=CASE, user="alice")

    assert (summary.format, summary.sightings, summary.skipped) == ("json", 3, 2)
    assert summary.skipped_reasons == [
        "record 4: time 'yesterday' is not ISO-8601, RFC 2822 or a Unix epoch",
        "record 5: not an object (list)",
    ]
    found = _by_value(_listing(store))
    handle = found["kid_trader99"]
    assert handle["identifier"]["normalized"] == "telegram/kid_trader99"  # platform from the network column
    assert handle["observed_at"] == "2026-04-01T08:30:00+00:00"  # naive, but the key says UTC
    assert [c["method"] for c in handle["contents"]] == ["md5"]
    assert found["+44 20 7946 0958"]["identifier"]["normalized"] == "+442079460958"
    assert found["+44 20 7946 0958"]["observed_at"] == "2026-03-31T23:33:20+00:00"  # Unix epoch
    near_known = found["near.jpg"]
    assert near_known["identifier"] is None
    assert [(k["set"], k["category"], k["method"], k["distance"]) for k in near_known["known"]] == [
        ("icse-sample", "1", "pdq", 12)
    ]


def test_json_lines_count_lines(store, tmp_path: Path) -> None:
    build_case(store)
    path = tmp_path / "feed.jsonl"
    path.write_text(
        '{"ip": "203.0.113.9", "seen": "2026-02-01T00:00:00Z"}\n\n{"ip": "203.0.113.10"\n{"email": "a@example.org"}\n'
    )
    summary = import_sightings(store, path, case_ref=CASE, user="alice")
    assert (summary.format, summary.sightings, summary.skipped) == ("json", 2, 1)
    assert summary.skipped_reasons[0].startswith("line 3: not JSON")
    records = {s["from"]["record"] for s in _listing(store)["sightings"]}
    assert records == {"line:1", "line:4"}


def test_stix_bundle_sightings_observed_data_and_patterns(store, tmp_path: Path) -> None:
    build_case(store)
    summary = import_sightings(store, write_stix(tmp_path), case_ref=CASE, user="alice", source="fallback")

    assert (summary.format, summary.sightings, summary.skipped) == ("stix", 3, 0)
    listing = _listing(store)
    found = _by_value(listing)
    ip = found["203.0.113.50"]
    assert ip["source"] == "P2P Monitor 3"  # where_sighted_refs
    assert ip["observed_at"] == "2026-05-01T12:00:00+00:00"
    assert ip["file_name"] == "held.jpg"
    assert ip["hashes"]["pdq"]  # from x_pdq
    # The SHA-256 is the held file's; the x_pdq is 3 bits from the picture's PDQ.
    assert [(c["sha256"], c["method"], c["distance"]) for c in ip["contents"]] == [
        (HELD["sha256"], "sha256", 0),
        (PICTURE["sha256"], "pdq", 3),
    ]
    pattern = next(s for s in listing["sightings"] if s["from"]["record"].count("indicator--"))
    assert pattern["hashes"] == {"md5": KNOWN_ONLY["md5"]}
    assert pattern["observed_at"] == "2026-05-02T00:00:00+00:00"
    assert [k["category"] for k in pattern["known"]] == ["2"]
    account = found["Kid_Trader99"]
    assert account["identifier"]["normalized"] == "telegram/kid_trader99"
    assert account["source"] == "fallback"  # standalone observed-data, no creator identity


def test_pdq_matching_keeps_to_the_threshold_and_quality_floor(store, tmp_path: Path) -> None:
    build_case(store)
    path = write_csv(tmp_path)
    strict = import_sightings(store, path, case_ref=CASE, user="alice", settings=MatchSettings(threshold=4))
    assert strict.sightings_matching_contents == 1  # the 5-bit PDQ neighbour is out at 4
    with store.session() as session:
        case_id = session.scalar(select(Case.id).where(Case.reference == CASE))
        match_sightings(session, case_id, MatchSettings(threshold=5))
    assert _count(store, SightingMatch) == 3
    with store.session() as session:
        match_sightings(session, case_id, MatchSettings(threshold=31, min_quality=91))  # picture quality is 90
    pdq = [m for s in _listing(store)["sightings"] for m in s["contents"] if m["method"] == "pdq"]
    assert pdq == []


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.csv", b"", "empty file; nothing was imported"),
        ("header.csv", b"name,colour\na,b\n", "line 1: no identifier or hash column"),
        ("twice.csv", b"ip,timestamp,seen\n203.0.113.1,1,2\n", "columns 'timestamp' and 'seen' both mean observed_at"),
        ("quote.csv", b'ip,source\n203.0.113.1,"tip\n', "line 2: unexpected end of data"),
        ("binary.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
        ("broken.json", b'[{"ip": "203.0.113.1"},', "not JSON"),
        ("object.json", b'{"who": []}', "no usable sightings (1 skipped; first: record 1: no known keys"),
        (
            "bundle.json",
            b'{"type": "bundle", "id": "bundle--x", "objects": []}',
            "not a valid STIX 2.1 bundle: Invalid value for Bundle 'id'",
        ),
        (
            "bad.csv",
            b"ip,observed_at\nnot-an-ip,2026-01-01T00:00:00Z\n",
            "no usable sightings (1 skipped; first: line 2",
        ),
    ],
)
def test_malformed_files_are_refused_whole(store, tmp_path: Path, name: str, data: bytes, message: str) -> None:
    build_case(store)
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(SightingsImportError) as error:
        import_sightings(store, path, case_ref=CASE, user="alice")
    assert message in str(error.value)
    assert "\n" not in str(error.value)
    assert (_count(store, SightingImport), _count(store, Sighting)) == (0, 0)


def test_stix_validation_error_is_one_line(store, tmp_path: Path) -> None:
    build_case(store)
    bundle = json.loads(write_stix(tmp_path).read_text())
    sighting = next(o for o in bundle["objects"] if o["type"] == "sighting")
    del sighting["sighting_of_ref"]
    path = tmp_path / "invalid.json"
    path.write_text(json.dumps(bundle))
    with pytest.raises(SightingsImportError, match=r"not a valid STIX 2.1 bundle: .*sighting_of_ref") as error:
        import_sightings(store, path, case_ref=CASE, user="alice")
    assert "\n" not in str(error.value)
    assert _count(store, Sighting) == 0


def test_same_file_twice_adds_nothing(store, tmp_path: Path) -> None:
    build_case(store)
    build_case(store, "OP-OTHER")
    path = write_csv(tmp_path)
    first = import_sightings(store, path, case_ref=CASE, user="alice")
    again = import_sightings(store, path, case_ref=CASE, user="alice")
    assert not first.already_imported and again.already_imported
    assert (again.import_id, again.sightings, again.sightings_matching_contents) == (first.import_id, 4, 2)
    assert (_count(store, SightingImport), _count(store, Sighting), _count(store, SightingMatch)) == (1, 4, 3)
    other = import_sightings(store, path, case_ref="OP-OTHER", user="alice")  # another case is its own record
    assert not other.already_imported
    assert _count(store, Sighting) == 8


def test_non_members_are_refused_and_imports_audited(store, tmp_path: Path) -> None:
    build_case(store)
    add_member(store, CASE, "alice")
    with pytest.raises(NotAMemberError, match="'mallory' is not a member of case 'OP-SIGHT'"):
        import_sightings(store, write_csv(tmp_path), case_ref=CASE, user="mallory")
    assert _count(store, Sighting) == 0
    summary = import_sightings(store, write_csv(tmp_path), case_ref=CASE, user="alice")
    with store.session() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.chain == f"case:{CASE}", AuditEvent.action == "intel.sightings.import")
        ).all()
    assert [(e.user, json.loads(e.detail)["sha256"], json.loads(e.detail)["sightings"]) for e in events] == [
        ("alice", summary.sha256, 4)
    ]


def test_rematching_finds_what_arrived_later_and_removal_of_a_set_cascades(store, tmp_path: Path) -> None:
    built = build_case(store)
    import_sightings(store, write_csv(tmp_path), case_ref=CASE, user="alice")
    with store.session() as session:
        case = session.get(Case, built.case_id)
        add_extracted_identifier(session, case, "ipv6", "2001:db8::1", built.picture_id)  # a later extraction
    assert _by_value(_listing(store))["2001:DB8::1"]["identifier"]["in_case"] is True  # read live
    with store.session() as session:
        match_sightings(session, built.case_id, MatchSettings())
        linked = session.scalar(select(Sighting.identifier_id).where(Sighting.identifier_normalized == "2001:db8::1"))
    assert linked is not None
    with store.session() as session:
        remove_hashset(session, "icse-sample", user="lead")
    assert _by_value(_listing(store))["198.51.100.9"]["known"] == []
    assert _count(store, SightingMatch) == 2


def test_a_file_matched_by_hash_and_pdq_is_listed_once_by_its_exact_method(store, tmp_path: Path) -> None:
    build_case(store)
    path = tmp_path / "both.csv"
    path.write_text(f"sha256,pdq,seen\n{PICTURE['sha256']},{flip(BASE_PDQ, 2)},2026-01-01T00:00:00Z\n")
    summary = import_sightings(store, path, case_ref=CASE, user="alice")
    assert (summary.sightings_matching_contents, summary.contents_matched, summary.identifiers) == (1, 1, 0)
    (only,) = _listing(store)["sightings"]
    assert [(c["sha256"], c["method"]) for c in only["contents"]] == [(PICTURE["sha256"], "sha256")]
    assert _count(store, SightingMatch) == 2  # both kept in the store; the listing shows the best


def test_a_match_points_at_a_content_or_an_entry_never_both_nor_neither(store, tmp_path: Path) -> None:
    built = build_case(store)
    import_sightings(store, write_csv(tmp_path), case_ref=CASE, user="alice")
    with store.session() as session:
        sighting_id, entry_id = session.execute(
            select(SightingMatch.sighting_id, SightingMatch.entry_id).where(SightingMatch.entry_id.is_not(None))
        ).one()
    for content_id, entry in ((built.held_id, entry_id), (None, None)):
        with pytest.raises(IntegrityError), store.session() as session:
            session.add(
                SightingMatch(
                    case_id=built.case_id,
                    sighting_id=sighting_id,
                    content_id=content_id,
                    entry_id=entry,
                    method="md5",
                )
            )
            session.flush()


def test_a_held_file_shows_the_sets_case_matching_found_it_in(store, tmp_path: Path) -> None:
    built = build_case(store)
    with store.session() as session:
        vics = HashSet(name="vics-export", kind="known", format="vics", file_sha256="2" * 64, imported_by="t")
        session.add(vics)
        session.flush()
        entry = HashEntry(set_id=vics.id, sha256=HELD["sha256"], category="1")
        session.add(entry)
        session.flush()
        session.add(Match(content_id=built.held_id, entry_id=entry.id, set_id=vics.id, method="sha256"))
    summary = import_sightings(store, write_csv(tmp_path), case_ref=CASE, user="alice")
    assert summary.known_sets == ["icse-sample", "vics-export"]
    exact = _by_value(_listing(store))["203.0.113.7"]
    assert [(c["sha256"], c["sets"]) for c in exact["contents"]] == [(HELD["sha256"], ["vics-export"])]
    assert [(k["set"], k["category"], k["method"]) for k in exact["known"]] == [("vics-export", "1", "sha256")]


def test_the_demo_sightings_import_and_match_the_case(store, tmp_path: Path) -> None:
    from haven.intel.sightings.demo import write_demo_sightings

    built = build_case(store)
    with store.session() as session:
        session.get(Content, built.held_id).status = "known"
        session.get(Content, built.picture_id).status = "near-known"
    monitor, tip = write_demo_sightings(store, CASE, tmp_path / "sightings")
    first = import_sightings(store, monitor, case_ref=CASE, user="alice")
    assert (first.sightings, first.skipped, first.contents_matched) == (2, 1, 2)
    assert "has no zone" in first.skipped_reasons[0]
    second = import_sightings(store, tip, case_ref=CASE, user="alice")
    assert (second.format, second.sightings, second.contents_matched) == ("stix", 1, 2)  # SHA-256 and x_pdq
