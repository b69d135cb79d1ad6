"""Referral packages (issue 7): per destination country, STIX 2.1 (strictly validated), JSON and HTML;
never media; written atomically, recorded and audited with the file's SHA-256; members only."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import stix2
from sqlalchemy import select
from typer.testing import CliRunner

from conftest import HavenEnv
from haven.cli import app
from haven.errors import HavenError
from haven.intel.access import NotAMemberError
from haven.intel.agencies import parse_file
from haven.intel.referral import write_referral
from haven.intel.referral.stix import validate_bundle
from haven.store import Store, open_store
from haven.store.models import (
    AuditEvent,
    Content,
    HashEntry,
    HashSet,
    Referral,
    Sighting,
    SightingImport,
    SightingMatch,
    Thumbnail,
)
from intel_route_builders import make_case, make_content, make_identifier, make_record, make_target, occur

runner = CliRunner()
THUMBNAIL = b"\xff\xd8\xff\xe0FAKE-THUMBNAIL-BYTES-0123456789\xff\xd9"
DIRECTORY = """\
[sender]
agency = "Example Police"
unit = "OCEU"
name = "DS Example"
email = "oceu@example.police.uk"
country = "GB"

[[agency]]
country = "GB"
unit = "NCA CEOP"
channel = "secure e-mail"
"""


def seed(store: Store) -> dict[str, str]:
    """Target "Anna" routed to GB (UK phone, UK address, a Dutch IP in conflict), with a picture that
    carries her e-mail in its EXIF; a lone German IP lead."""
    when = datetime(2024, 3, 5, 14, 30, tzinfo=UTC)
    with store.session() as session:
        case = make_case(session, "OP-REF")
        listing = make_content(session, case, b"customer list")
        chat = make_content(session, case, b"chat log")
        picture = make_content(session, case, b"synthetic picture", kind="image", category="2")
        session.add(Thumbnail(content_id=picture.id, jpeg=THUMBNAIL))
        phone = make_identifier(session, "phone", "+442079460018", value="020 7946 0018")
        email = make_identifier(session, "email", "anna@example.com")
        handle = make_identifier(session, "handle", "telegram/anna_k")
        dutch_ip = make_identifier(session, "ipv4", "193.0.6.139")
        german = make_identifier(session, "ipv4", "85.214.132.117")
        ipv6 = make_identifier(session, "ipv6", "2003:de::1")
        url = make_identifier(session, "url", "https://drop.example.de/a")
        wallet = make_identifier(session, "wallet", "btc:1BoatSLRHtKNngkdXEeobR76b53LETtpyT")
        occur(session, case, phone, listing, line=2, record="row:1", context="Zoe-victim-name nearby")
        occur(session, case, email, listing, line=2, record="row:1")
        occur(session, case, email, picture, line=0, path="EX1:/DCIM/IMG_0001.JPG")
        occur(session, case, handle, chat, line=3, path="EX1:/chat.txt")
        occur(session, case, dutch_ip, chat, line=7, observed_at=when, path="EX1:/chat.txt")
        occur(session, case, german, chat, line=9, observed_at=when, path="EX1:/chat.txt")
        occur(session, case, ipv6, chat, line=10, path="EX1:/chat.txt")
        occur(session, case, url, chat, line=11, path="EX1:/chat.txt")
        occur(session, case, wallet, chat, line=12, path="EX1:/chat.txt")
        make_record(session, case, listing, "row:1", {"name": "Anna", "country": "GB"})
        make_target(session, case, "Anna", [phone, email, handle, dutch_ip, wallet])
        return {"picture": picture.sha256, "listing": listing.sha256}


@pytest.fixture
def seeded(haven_env: HavenEnv) -> dict[str, str]:
    store = open_store(haven_env.url)
    try:
        hashes = seed(store)
    finally:
        store.dispose()
    (haven_env.home / "agencies.toml").write_text(DIRECTORY, encoding="utf-8")
    return hashes


def referral(tmp_path: Path, fmt: str, country: str = "GB", *extra: str) -> tuple[Path, str]:
    out = tmp_path / f"referral-{country}.{fmt}"
    result = runner.invoke(
        app, ["intel", "referral", "OP-REF", "--country", country, "--format", fmt, "--out", str(out), *extra]
    )
    assert result.exit_code == 0, (result.output, result.exception)
    return out, out.read_text(encoding="utf-8")


def assert_no_media(text: str) -> None:
    for marker in (THUMBNAIL.decode("latin-1"), base64.b64encode(THUMBNAIL).decode(), "data:image", "<img", "<script"):
        assert marker not in text
    assert "Zoe-victim-name" not in text  # the text around an identifier never leaves


def test_stix_referral_validates_strictly(seeded: dict[str, str], tmp_path: Path) -> None:
    _, text = referral(tmp_path, "stix")
    bundle = stix2.parse(text, allow_custom=False, version="2.1")
    by_type: dict[str, list[object]] = {}
    for obj in bundle.objects:
        by_type.setdefault(obj.type, []).append(obj)
    assert {"identity", "threat-actor", "observed-data", "relationship", "report", "file", "marking-definition"} <= set(
        by_type
    )
    (actor,) = by_type["threat-actor"]
    assert actor.name == "Anna" and 0 < actor.confidence <= 100
    assert "Conflicting country NL" in actor.description
    (sender,) = by_type["identity"]
    assert sender.name == "Example Police — OCEU" and "oceu@example.police.uk" in sender.contact_information
    assert {o.value for o in by_type["email-addr"]} == {"anna@example.com"}
    assert {o.value for o in by_type["ipv4-addr"]} == {"193.0.6.139"}  # the German IP is routed to DE
    accounts = {(o.account_type, o.account_login) for o in by_type["user-account"]}
    assert accounts == {
        ("telegram", "anna_k"),
        ("phone-number", "+442079460018"),
        ("cryptocurrency-wallet", "btc:1BoatSLRHtKNngkdXEeobR76b53LETtpyT"),
    }
    files = {f.hashes["SHA-256"]: f for f in by_type["file"]}
    assert set(files) == {seeded["picture"], seeded["listing"], hashlib.sha256(b"chat log").hexdigest()}
    assert all("name" not in f for f in files.values())
    assert {r.source_ref for r in by_type["relationship"]} == {actor.id}
    assert len(by_type["relationship"]) == 5
    (report,) = by_type["report"]
    assert set(report.object_refs) >= {actor.id, sender.id}
    assert all(o.object_marking_refs == [stix2.TLP_AMBER.id] for o in bundle.objects if o.type != "marking-definition")
    ip_seen = next(o for o in by_type["observed-data"] if by_type["ipv4-addr"][0].id in o.object_refs)
    assert ip_seen.first_observed == datetime(2024, 3, 5, 14, 30, tzinfo=UTC)
    validate_bundle(text)
    assert_no_media(text)
    with pytest.raises(HavenError, match="does not validate"):
        validate_bundle(text.replace('"type": "threat-actor"', '"type": "x-not-stix"', 1))


def test_tlp_red(seeded: dict[str, str], tmp_path: Path) -> None:
    _, text = referral(tmp_path, "stix", "GB", "--tlp", "red")
    objects = json.loads(text)["objects"]
    assert {o["id"] for o in objects if o["type"] == "marking-definition"} == {stix2.TLP_RED.id}


def test_json_referral(seeded: dict[str, str], tmp_path: Path) -> None:
    _, text = referral(tmp_path, "json", "DE")
    document = json.loads(text)
    assert document["format"] == "haven-referral" and document["country"] == "DE"
    assert document["targets"] == []  # only the lone German leads go to Germany
    assert {i["normalized"] for i in document["identifiers"]} == {
        "85.214.132.117",
        "2003:de::1",
        "https://drop.example.de/a",
    }
    german = next(i for i in document["identifiers"] if i["normalized"] == "85.214.132.117")
    assert german["first_observed"] == "2024-03-05T14:30:00Z"
    assert german["occurrences"] == [
        {
            "sha256": hashlib.sha256(b"chat log").hexdigest(),
            "path": "EX1:/chat.txt",
            "line": 9,
            "field": "column:x",
            "observed_at": "2024-03-05T14:30:00Z",
        }
    ]
    assert document["recipient"]["fallback"] is True and document["recipient"]["unit"] == "Interpol (via own NCB)"
    assert document["sender"]["agency"] == "Example Police"
    gb = json.loads(referral(tmp_path, "json", "GB")[1])
    (target,) = gb["targets"]
    assert target["name"] == "Anna" and [c["country"] for c in target["conflicts"]] == ["NL"]
    picture = next(c for c in gb["contents"] if c["sha256"] == seeded["picture"])
    assert picture["category"] == "2" and picture["kind"] == "image" and len(picture["md5"]) == 32
    assert gb["recipient"]["unit"] == "NCA CEOP"
    assert_no_media(text)
    assert_no_media(json.dumps(gb))


def test_html_referral(seeded: dict[str, str], tmp_path: Path) -> None:
    _, text = referral(tmp_path, "html")
    assert text.startswith("<!doctype html>")
    assert "TLP:AMBER" in text and "NCA CEOP" in text and "Example Police" in text
    assert seeded["picture"] in text and "EX1:/chat.txt" in text
    assert "@media print" in text
    assert "http://" not in text and "https://drop" not in text  # nothing routed to DE, no external resource
    assert_no_media(text)


def test_referral_is_recorded_and_audited(seeded: dict[str, str], haven_env: HavenEnv, tmp_path: Path) -> None:
    out, _ = referral(tmp_path, "json")
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    store = open_store(haven_env.url)
    try:
        with store.session() as session:
            (row,) = session.scalars(select(Referral)).all()
            events = session.scalars(select(AuditEvent).where(AuditEvent.action == "intel.referral")).all()
    finally:
        store.dispose()
    assert (row.country, row.format, row.sha256, row.target_count, row.tlp, row.created_by) == (
        "GB",
        "json",
        digest,
        1,
        "amber",
        "tester",
    )
    assert row.identifier_count == 5
    (event,) = events
    assert event.chain == "case:OP-REF"
    detail = json.loads(event.detail)
    assert detail["sha256"] == digest and detail["out"] == str(out.resolve()) and detail["recipient"] == "NCA CEOP"


def test_referral_refusals(seeded: dict[str, str], haven_env: HavenEnv, tmp_path: Path) -> None:
    nothing = runner.invoke(
        app, ["intel", "referral", "OP-REF", "--country", "JP", "--format", "json", "--out", str(tmp_path / "x")]
    )
    assert nothing.exit_code == 1 and "nothing in case 'OP-REF' is routed to JP" in str(nothing.exception)
    bad_country = runner.invoke(
        app, ["intel", "referral", "OP-REF", "--country", "QQ", "--format", "json", "--out", str(tmp_path / "x")]
    )
    assert bad_country.exit_code == 1 and "ISO 3166-1" in str(bad_country.exception)
    bad_format = runner.invoke(
        app, ["intel", "referral", "OP-REF", "--country", "GB", "--format", "pdf", "--out", str(tmp_path / "x")]
    )
    assert bad_format.exit_code == 2
    (haven_env.home / "agencies.toml").write_text('[[agency]]\ncountry = "GB"\nunit = "x"\n', encoding="utf-8")
    no_sender = runner.invoke(
        app, ["intel", "referral", "OP-REF", "--country", "GB", "--format", "json", "--out", str(tmp_path / "x")]
    )
    assert no_sender.exit_code == 1 and "[sender]" in str(no_sender.exception)
    assert not (tmp_path / "x").exists()


def test_non_member_gets_no_referral(seeded: dict[str, str], haven_env: HavenEnv, tmp_path: Path) -> None:
    from haven.accounts import add_member, create_user

    store = open_store(haven_env.url)
    try:
        with store.session() as session:
            create_user(session, "member", "a-long-password-123", role="investigator", by="tester")
            add_member(session, "OP-REF", "member", role="investigator", by="tester")
        directory = parse_file(haven_env.home / "agencies.toml")
        out = tmp_path / "refused.json"
        with pytest.raises(NotAMemberError):
            write_referral(store, "OP-REF", country="GB", fmt="json", out=out, user="outsider", directory=directory)
        assert not out.exists()
        result = write_referral(store, "OP-REF", country="GB", fmt="stix", out=out, user="member", directory=directory)
        assert result.targets == 1 and out.exists()
        with store.session() as session:
            rows = session.scalars(select(Referral.created_by)).all()
    finally:
        store.dispose()
    assert rows == ["member"]


def add_sightings(store: Store) -> dict[str, str]:
    """The Dutch IP (Anna's) offered the case's categorized picture on BitTorrent, and a file of a known set
    (named like a victim: the name must never leave)."""
    known_sha256 = hashlib.sha256(b"known file").hexdigest()
    with store.session() as session:
        case = make_case(session, "OP-REF")
        picture = session.scalars(select(Content).where(Content.case_id == case.id, Content.kind == "image")).one()
        known_set = HashSet(name="Known set", kind="known", format="plain", file_sha256="0" * 64, imported_by="t")
        session.add(known_set)
        session.flush()
        entry = HashEntry(set_id=known_set.id, sha256=known_sha256, category="1")
        imported = SightingImport(
            case_id=case.id, file_name="s.csv", file_sha256="1" * 64, format="csv", imported_by="t"
        )
        session.add_all([entry, imported])
        session.flush()
        when = datetime(2024, 4, 1, 8, 0, tzinfo=UTC)
        for line, sha256, name in ((2, picture.sha256, "Victim-Name-1.jpg"), (3, known_sha256, "Victim-Name-2.jpg")):
            sighting = Sighting(
                case_id=case.id,
                import_id=imported.id,
                record=f"line:{line}",
                line=line,
                identifier_type="ipv4",
                identifier_value="193.0.6.139",
                identifier_normalized="193.0.6.139",
                network="bittorrent",
                sha256=sha256,
                file_name=name,
                observed_at=when,
                source="monitor",
            )
            session.add(sighting)
            session.flush()
            if sha256 == picture.sha256:
                match = SightingMatch(case_id=case.id, sighting_id=sighting.id, content_id=picture.id, method="sha256")
            else:
                match = SightingMatch(
                    case_id=case.id, sighting_id=sighting.id, entry_id=entry.id, set_id=known_set.id, method="sha256"
                )
            session.add(match)
        return {"picture": picture.sha256, "known": known_sha256}


def test_sightings_in_every_format(seeded: dict[str, str], haven_env: HavenEnv, tmp_path: Path) -> None:
    store = open_store(haven_env.url)
    try:
        hashes = add_sightings(store)
    finally:
        store.dispose()
    document = json.loads(referral(tmp_path, "json")[1])
    sightings = sorted(document["sightings"], key=lambda s: s["sha256"] == hashes["known"])
    assert [s["network"] for s in sightings] == ["bittorrent", "bittorrent"]
    assert sightings[0]["matches"] == [
        {"method": "sha256", "distance": 0, "content_sha256": hashes["picture"], "hash_set": None, "category": None}
    ]
    assert sightings[1]["matches"] == [
        {"method": "sha256", "distance": 0, "content_sha256": None, "hash_set": "Known set", "category": "1"}
    ]
    assert sightings[0]["observed_at"] == "2024-04-01T08:00:00Z"
    _, stix_text = referral(tmp_path, "stix")
    bundle = stix2.parse(stix_text, allow_custom=False, version="2.1")
    seen = [o for o in bundle.objects if o.type == "observed-data" and "sighting" in getattr(o, "labels", [])]
    assert len(seen) == 2
    sighted_files = {f.hashes["SHA-256"] for f in bundle.objects if f.type == "file"}
    assert {hashes["picture"], hashes["known"]} <= sighted_files
    _, html_text = referral(tmp_path, "html")
    assert "Sightings" in html_text and "hash set Known set (category 1)" in html_text
    for text in (json.dumps(document), stix_text, html_text):
        assert "Victim-Name" not in text
        assert_no_media(text)
