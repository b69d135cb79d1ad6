"""Reading sightings files without a store: times to UTC, tolerant columns, delimiters and encodings,
identifier normalization as extraction does it, STIX details."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import stix2

from haven.intel.sightings.normalize import normalize
from haven.intel.sightings.reading import observations, open_sightings
from haven.intel.sightings.records import Observation, Skipped, column_key
from haven.intel.sightings.tabular import MalformedFileError
from haven.intel.sightings.times import parse_utc
from sightings_builders import HELD

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _read(path: Path, source: str | None = None) -> list[Observation | Skipped]:
    return list(observations(open_sightings(path), source))


@pytest.mark.parametrize(
    ("text", "utc_column", "expected"),
    [
        ("2026-03-01T10:00:00Z", False, datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("2026-03-01T10:00:00+02:00", False, datetime(2026, 3, 1, 8, tzinfo=UTC)),
        ("2026-03-01 10:00:00 UTC", False, datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("2026-03-01 10:00:00", True, datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("Sun, 01 Mar 2026 10:00:00 -0500", False, datetime(2026, 3, 1, 15, tzinfo=UTC)),
        ("1772359200", False, datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("1772359200000", False, datetime(2026, 3, 1, 10, tzinfo=UTC)),
    ],
)
def test_times_become_utc(text: str, utc_column: bool, expected: datetime) -> None:
    assert parse_utc(text, column_says_utc=utc_column, now=NOW) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2026-03-01 10:00:00", "has no zone"),
        ("01/03/2026 10:00", "is not ISO-8601, RFC 2822 or a Unix epoch"),
        ("2026-11-26T00:00:00Z", "is in the future"),
        ("1980-01-01T00:00:00Z", "is before 1990"),
    ],
)
def test_times_that_say_no_moment_are_refused(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_utc(text, column_says_utc=False, now=NOW)


def test_column_names_are_matched_tolerantly() -> None:
    assert column_key("\ufeffObserved At (UTC)") == ("observed_at", True)
    assert column_key("timestamp_utc") == ("timestamp", True)
    assert column_key("File-Name") == ("file_name", False)
    assert column_key("computer") == ("computer", False)  # "utc" inside a word is not a zone


@pytest.mark.parametrize(
    ("kind", "value", "platform", "normalized"),
    [
        ("ip", "203.0.113.7", None, ("ipv4", "203.0.113.7")),
        ("ipv6-addr", "2001:DB8:0:0::1", None, ("ipv6", "2001:db8::1")),
        ("email-addr", "Trader@Example.COM", None, ("email", "trader@example.com")),
        ("username", "@Kid_Trader", "Telegram", ("handle", "telegram/kid_trader")),
        ("username", "Kid_Trader", None, ("handle", "unknown/kid_trader")),
        ("url", "hxxp://Example[.]com:80/a#x", None, ("url", "http://example.com/a")),
        ("domain-name", "Example.COM.", None, ("domain", "example.com")),
        ("phone", "+44 20 7946 0958", None, ("phone", "+442079460958")),
        ("btc", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", None, ("wallet", "btc:1BoatSLRHtKNngkdXEeobR76b53LETtpyT")),
        ("iban", "DE89 3704 0044 0532 0130 00", None, ("payment", "iban:DE89370400440532013000")),
    ],
)
def test_identifiers_normalize_as_extraction_does(
    kind: str, value: str, platform: str | None, normalized: tuple[str, str]
) -> None:
    found = normalize(kind, value, platform=platform)
    assert (found.type, found.normalized) == normalized
    assert found.value == value


@pytest.mark.parametrize(
    ("kind", "value", "reason"),
    [
        ("ipv4", "2001:db8::1", "is not an IPv4 address"),
        ("email", "bad@", "is not an e-mail address"),
        ("btc", "1BoatSLRHtKNngkdXEeobR76b53LETtpyU", "checksum"),
        ("phone", "020 7946 0958", "is not an international phone number"),
        ("colour", "blue", "unknown identifier type 'colour'"),
    ],
)
def test_bad_identifiers_are_refused_with_the_reason(kind: str, value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        normalize(kind, value)


def test_semicolons_typed_columns_and_several_identifiers_in_a_row(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        f"E-Mail;IP Address;MD5;Seen (UTC);Reporter\ntrader@example.com;203.0.113.7;{HELD['md5'].upper()};"
        "2026-03-01 10:00:00;tip line\n"
    )
    (row,) = _read(path)
    assert isinstance(row, Observation)
    assert [(i.type, i.normalized) for i in row.identifiers] == [
        ("email", "trader@example.com"),
        ("ipv4", "203.0.113.7"),
    ]
    assert row.hashes == {"md5": HELD["md5"]}
    assert row.observed_at == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert (row.source, row.record, row.line) == ("tip line", "line:2", 2)


def test_utf16_and_windows_encodings_are_read(tmp_path: Path) -> None:
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes("ip,network\n203.0.113.7,réseau\n".encode("utf-16"))
    latin = tmp_path / "latin.csv"
    latin.write_bytes("ip,source\n203.0.113.7,Bücherei\n".encode("cp1252"))
    (from_utf16,) = _read(utf16)
    (from_latin,) = _read(latin)
    assert isinstance(from_utf16, Observation) and from_utf16.network == "réseau"
    assert isinstance(from_latin, Observation) and from_latin.source == "Bücherei"
    assert open_sightings(latin).encoding == "cp1252"


def test_a_quoted_field_may_span_lines_and_line_numbers_follow(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text('ip,source\n203.0.113.7,"tip\nsecond line"\nnot-an-ip,x\n')
    first, second = _read(path)
    assert isinstance(first, Observation) and first.line == 2
    assert isinstance(second, Skipped) and second.where == "line 4"


def test_hash_types_from_prefix_length_and_value_type_pairs(tmp_path: Path) -> None:
    path = tmp_path / "hashes.csv"
    path.write_text(
        "value,type,hash\n"
        f"{HELD['sha256']},sha256,\n"
        f",,sha1:{HELD['sha1']}\n"
        f",,{HELD['md5']}\n"
        ",,d41d8cd98f00b204e9800998ecf8427e\n"
    )
    rows = _read(path)
    assert [r.hashes for r in rows[:3] if isinstance(r, Observation)] == [
        {"sha256": HELD["sha256"]},
        {"sha1": HELD["sha1"]},
        {"md5": HELD["md5"]},
    ]
    assert isinstance(rows[3], Skipped) and "empty file" in rows[3].reason


def test_stix_embedded_objects_missing_refs_and_complex_patterns(tmp_path: Path) -> None:
    ip = stix2.IPv4Address(value="203.0.113.8")
    dangling = stix2.ObservedData(
        first_observed="2026-05-01T00:00:00Z",
        last_observed="2026-05-01T00:00:00Z",
        number_observed=1,
        object_refs=[ip.id],
    )
    indicator = stix2.Indicator(
        pattern="[ipv4-addr:value = '203.0.113.9'] OR [ipv4-addr:value = '203.0.113.10']",
        pattern_type="stix",
        valid_from="2026-01-01T00:00:00Z",
    )
    sighting = stix2.Sighting(sighting_of_ref=indicator.id)
    document = json.loads(stix2.Bundle(dangling, indicator, sighting).serialize())
    embedded = {
        "type": "observed-data",
        "spec_version": "2.1",
        "id": "observed-data--6a4f2a53-3b6c-4a0f-9f8c-2f6d1a0c6e11",
        "created": "2026-05-01T00:00:00.000Z",
        "modified": "2026-05-01T00:00:00.000Z",
        "first_observed": "2026-05-02T00:00:00Z",
        "last_observed": "2026-05-02T00:00:00Z",
        "number_observed": 1,
        "objects": {"0": {"type": "email-addr", "value": "Seller@Example.org"}},
        "x_network": "irc",
    }
    document["objects"].append(embedded)
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(document))
    rows = {r.where if isinstance(r, Skipped) else r.record: r for r in _read(path)}
    assert "more than equalities" in rows[sighting.id].reason
    seller = rows[embedded["id"]]
    assert isinstance(seller, Observation)
    assert [(i.type, i.normalized) for i in seller.identifiers] == [("email", "seller@example.org")]
    assert (seller.network, seller.observed_at) == ("irc", datetime(2026, 5, 2, tzinfo=UTC))
    missing = rows[dangling.id]  # its ipv4-addr was left out of the bundle
    assert isinstance(missing, Skipped) and missing.reason == f"refers to {ip.id}, which is not in the bundle"


def test_one_json_object_is_one_sighting(tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    one.write_text('{"ip": "203.0.113.8", "seen": "2026-01-01T00:00:00Z"}')
    (row,) = _read(one)
    assert isinstance(row, Observation) and row.record == "record:1"
    assert row.observed_at == datetime(2026, 1, 1, tzinfo=UTC)


def test_a_stix_bundle_of_another_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    bundle = {"type": "bundle", "id": "bundle--6a4f2a53-3b6c-4a0f-9f8c-2f6d1a0c6e11", "spec_version": "2.0"}
    path.write_text(json.dumps({**bundle, "objects": [{"type": "ipv4-addr", "value": "203.0.113.8"}]}))
    with pytest.raises(MalformedFileError, match=r"STIX 2\.0 bundle; STIX 2\.1 is read"):
        _read(path)
    del bundle["spec_version"]
    path.write_text(json.dumps({**bundle, "objects": [{"type": "ipv4-addr", "value": "203.0.113.8"}]}))
    with pytest.raises(MalformedFileError, match="ipv4-addr object without an id"):
        _read(path)


def test_accounts_of_haven_referral_types_are_phones_wallets_and_payments(tmp_path: Path) -> None:
    accounts = [
        stix2.UserAccount(account_login="+442079460958", account_type="phone-number"),
        stix2.UserAccount(account_login="btc:1BoatSLRHtKNngkdXEeobR76b53LETtpyT", account_type="cryptocurrency-wallet"),
        stix2.UserAccount(account_login="iban:DE89370400440532013000", account_type="payment-account"),
        stix2.UserAccount(account_login="kid_trader", account_type="telegram"),
    ]
    observed = stix2.ObservedData(
        first_observed="2026-05-01T00:00:00Z",
        last_observed="2026-05-01T00:00:00Z",
        number_observed=1,
        object_refs=[a.id for a in accounts],
    )
    path = tmp_path / "referral.json"
    path.write_text(stix2.Bundle(*accounts, observed).serialize())
    (row,) = _read(path)
    assert isinstance(row, Observation)
    assert [(i.type, i.normalized) for i in row.identifiers] == [
        ("phone", "+442079460958"),
        ("wallet", "btc:1BoatSLRHtKNngkdXEeobR76b53LETtpyT"),
        ("payment", "iban:DE89370400440532013000"),
        ("handle", "telegram/kid_trader"),
    ]
