"""A case for sightings tests: contents (one categorized, one picture with a PDQ), a known hash set with
categories, an identifier extraction found in the case, and synthetic sightings files (CSV, JSON, STIX).

Every value is synthetic: documentation IP ranges (RFC 5737), example.com/.org addresses, hashes of short
benign byte strings, and PDQ hashes made by flipping bits of a fixed pattern.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

import stix2

from haven.cases import create_case
from haven.store import Store
from haven.store.models import (
    AppUser,
    Case,
    CaseMember,
    Content,
    HashEntry,
    HashSet,
    Identifier,
    IdentifierOccurrence,
    Occurrence,
    Source,
)

BASE_PDQ = "f8f8f0cce0f4e84d0e370a22028f67f0b36e2ed596623e1d33e6339c4e9c9b22"
KNOWN_PDQ = "0f0f0f33a3b3c3d3e3f30313233343536373839303132333435363738393a3b3"
CASE = "OP-SIGHT"


def flip(hex_hash: str, bits: int, seed: int = 0) -> str:
    value = int(hex_hash, 16)
    for bit in random.Random(seed).sample(range(256), bits):
        value ^= 1 << bit
    return f"{value:064x}"


def digests(data: bytes) -> dict[str, str]:
    return {
        "md5": hashlib.md5(data).hexdigest(),
        "sha1": hashlib.sha1(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


HELD = digests(b"held file bytes")
PICTURE = digests(b"picture bytes")
KNOWN_ONLY = digests(b"known but not held")


@dataclass(frozen=True)
class Built:
    case_id: int
    held_id: int
    picture_id: int
    set_name: str = "icse-sample"


def build_case(store: Store, reference: str = CASE) -> Built:
    """The case, its two contents (with evidence paths), the known set and one extracted identifier."""
    with store.session() as session:
        case, _ = create_case(session, reference, user="lead")
        source = Source(
            case_id=case.id, label="EX1", kind="folder", location=f"/evidence/{reference}", registered_by="t"
        )
        session.add(source)
        session.flush()
        held = Content(case_id=case.id, size=15, kind="image", current_category="1", category_source="user", **HELD)
        picture = Content(case_id=case.id, size=13, kind="image", pdq=BASE_PDQ, pdq_quality=90, **PICTURE)
        session.add_all([held, picture])
        session.flush()
        for content, path in ((held, "EX1:/DCIM/held.jpg"), (picture, "EX1:/DCIM/picture.jpg")):
            digest = hashlib.sha1(path.encode()).hexdigest()
            session.add(
                Occurrence(source_id=source.id, content_id=content.id, path=path, path_digest=digest, top_level=digest)
            )
        if session.query(HashSet).filter_by(name="icse-sample").first() is None:
            known = HashSet(name="icse-sample", kind="known", format="csv", file_sha256="1" * 64, imported_by="t")
            session.add(known)
            session.flush()
            session.add_all(
                [
                    HashEntry(set_id=known.id, md5=KNOWN_ONLY["md5"], category="2", series="Series A"),
                    HashEntry(set_id=known.id, pdq=KNOWN_PDQ, category="1"),
                ]
            )
        add_extracted_identifier(session, case, "email", "trader@example.com", held.id)
        return Built(case.id, held.id, picture.id)


def add_extracted_identifier(session, case: Case, kind: str, normalized: str, content_id: int) -> None:
    """What extraction leaves for an identifier found in the case's evidence."""
    identifier = session.query(Identifier).filter_by(type=kind, normalized=normalized).first()
    if identifier is None:
        identifier = Identifier(type=kind, normalized=normalized, value=normalized)
        session.add(identifier)
        session.flush()
    session.add(
        IdentifierOccurrence(case_id=case.id, identifier_id=identifier.id, content_id=content_id, path="EX1:/notes.txt")
    )


def add_member(store: Store, reference: str, name: str) -> None:
    with store.session() as session:
        user = AppUser(name=name, password_hash="x", role="investigator", created_by="t")
        session.add(user)
        session.flush()
        case = session.query(Case).filter_by(reference=reference).one()
        session.add(CaseMember(case_id=case.id, user_id=user.id, role="investigator", added_by="t"))


CSV_TEXT = (
    "Identifier,Type,Network,Hash,Hash Type,File Name,Observed At,Source\n"
    f"203.0.113.7,ip,bittorrent,{HELD['sha256']},sha256,held.jpg,2026-03-01T10:00:00Z,\n"
    f"Trader@Example.COM,email,newsgroups,{flip(BASE_PDQ, 5)},pdq,pic.jpg,2026-03-01T11:00:00+02:00,tip 44\n"
    f"198.51.100.9,ipv4,edonkey,{KNOWN_ONLY['md5']},,x.avi,2026-03-02T00:00:00Z,\n"
    f"2001:DB8::1,ip,gnutella,{flip(BASE_PDQ, 40, seed=3)},pdq,far.jpg,2026-03-03T00:00:00Z,\n"
    "192.0.2.1,ip,bittorrent,,,,2026-03-01 10:00:00,\n"
    "192.0.2.2,ip,bittorrent\n"
    "not-an-ip,ip,bittorrent,,,,2026-03-01T10:00:00Z,\n"
)
"""Rows 2-5 usable (exact content, PDQ content + identifier in the case, known set, no match); 6-8 bad."""


def write_csv(directory: Path) -> Path:
    path = directory / "monitor.csv"
    path.write_text(CSV_TEXT, encoding="utf-8")
    return path


def write_json(directory: Path) -> Path:
    path = directory / "tips.json"
    records = [
        {
            "value": "kid_trader99",
            "type": "username",
            "platform": "Telegram",
            "hashes": {"MD5": HELD["md5"]},
            "timestamp_utc": "2026-04-01 08:30:00",
        },
        {"identifier": "+44 20 7946 0958", "type": "phone", "seen": 1775000000},
        {"pdq": flip(KNOWN_PDQ, 12, seed=5), "filename": "near.jpg", "time": "2026-04-02T00:00:00Z"},
        {"identifier": "x@example.org", "type": "email", "observed_at": "yesterday"},
        ["not", "an", "object"],
    ]
    path.write_text(json.dumps({"sightings": records}), encoding="utf-8")
    return path


def stix_bundle() -> stix2.Bundle:
    """A monitor's identity, a sighting of observed data (IP + file with SHA-256 and a PDQ), and a standalone
    observed-data (user account)."""
    monitor = stix2.Identity(name="P2P Monitor 3", identity_class="system")
    ip = stix2.IPv4Address(value="203.0.113.50")
    held = stix2.File(name="held.jpg", hashes={"SHA-256": HELD["sha256"]}, allow_custom=True, x_pdq=flip(BASE_PDQ, 3))
    observed = stix2.ObservedData(
        first_observed="2026-05-01T12:00:00Z",
        last_observed="2026-05-01T12:05:00Z",
        number_observed=1,
        object_refs=[ip.id, held.id],
    )
    indicator = stix2.Indicator(
        pattern=f"[file:hashes.MD5 = '{KNOWN_ONLY['md5']}']", pattern_type="stix", valid_from="2026-01-01T00:00:00Z"
    )
    sighting = stix2.Sighting(
        sighting_of_ref=indicator.id, observed_data_refs=[observed.id], where_sighted_refs=[monitor.id]
    )
    pattern_only = stix2.Sighting(sighting_of_ref=indicator.id, first_seen="2026-05-02T00:00:00Z")
    account = stix2.UserAccount(account_login="Kid_Trader99", account_type="telegram")
    standalone = stix2.ObservedData(
        first_observed="2026-05-03T00:00:00Z",
        last_observed="2026-05-03T00:00:00Z",
        number_observed=1,
        object_refs=[account.id],
    )
    return stix2.Bundle(
        monitor, ip, held, observed, indicator, sighting, pattern_only, account, standalone, allow_custom=True
    )


def write_stix(directory: Path) -> Path:
    path = directory / "bundle.json"
    path.write_text(stix_bundle().serialize(pretty=True), encoding="utf-8")
    return path
