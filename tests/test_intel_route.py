"""Routing (issue 7): the country each identifier points to, evidence combined into a destination with
confidence and conflicts, and `haven intel route` on both back ends."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from conftest import HavenEnv
from haven.cli import app
from haven.intel.access import NotAMemberError
from haven.intel.addresses import countries_in_record
from haven.intel.agencies import Directory
from haven.intel.country import countries_of_ips, country_of, locate
from haven.intel.hosting import context_words, shipped_range
from haven.intel.routing import WEIGHTS, Evidence, combine, route_case, routing_json
from haven.store import Store, open_store
from haven.store.models import AuditEvent
from intel_route_builders import make_case, make_content, make_identifier, make_record, make_target, occur

runner = CliRunner()

# Registry assignments as shipped with iptocc (checked by test_ip_countries_from_the_registry).
IPS = {
    "81.2.69.142": "GB",
    "5.135.0.1": "FR",
    "193.0.6.139": "NL",
    "200.160.2.3": "BR",
    "133.1.1.1": "JP",
    "85.214.132.117": "DE",
    "24.48.0.1": "CA",
    "2003:de::1": "DE",
    "2001:67c:2e8::1": "NL",
}


def test_ip_countries_from_the_registry() -> None:
    for address, expected in IPS.items():
        kind = "ipv6" if ":" in address else "ipv4"
        assert country_of(kind, address) == expected, address
    assert countries_of_ips(list(IPS)) == list(IPS.values())


def test_non_routable_ips_point_nowhere() -> None:
    for address in ("10.1.2.3", "192.168.0.4", "127.0.0.1", "192.0.2.5", "fe80::1", "::1"):
        kind = "ipv6" if ":" in address else "ipv4"
        assert country_of(kind, address) is None, address
    assert locate("ipv4", "81.2.69.142", {"routable": False, "range": "private"}).country is None


def test_phone_region_of_the_number() -> None:
    cases = {
        "+442079460018": "GB",
        "+14155550123": "US",
        "+16135550123": "CA",
        "+4930123456": "DE",
        "+33142685300": "FR",
        "+61293744000": "AU",
        "+5511987654321": "BR",
    }
    for number, expected in cases.items():
        assert country_of("phone", number) == expected, number
    assert country_of("phone", "+80012345678") is None  # international freephone: no country


def test_cctld_of_emails_domains_and_urls() -> None:
    assert country_of("email", "anna@example.co.uk") == "GB"
    assert country_of("email", "max@beispiel.de") == "DE"
    assert country_of("domain", "shop.example.fr") == "FR"
    assert country_of("url", "https://files.example.jp:8443/x?y=1") == "JP"
    assert country_of("url", "http://81.2.69.142/drop/") == "GB"  # a bare IP host: the registry
    assert country_of("domain", "example.xn--p1ai") == "RU"
    for generic in ("a@example.com", "b@example.org", "c@example.net", "d@example.io", "e@example.tv"):
        assert country_of("email", generic) is None, generic
    eu = locate("domain", "example.eu")
    assert eu.country is None and "European Union" in (eu.note or "")


def test_values_without_a_country() -> None:
    assert country_of("handle", "telegram/anna_k") is None
    assert country_of("wallet", "btc:1BoatSLRHtKNngkdXEeobR76b53LETtpyT") is None
    assert country_of("payment", "iban:DE89370400440532013000") == "DE"
    assert country_of("payment", "paypal:anna") is None


def test_hosting_ranges_and_context_words() -> None:
    assert shipped_range("104.16.1.1") == "Cloudflare (CDN, WARP VPN)"
    assert shipped_range("1.1.1.1") == "public DNS resolver (anycast)"
    assert shipped_range("2606:4700:4700::1111") == "public DNS resolver (anycast)"
    assert shipped_range("81.2.69.142") is None
    assert context_words("connected via my VPN at 81.2.69.142 (socks5 proxy)") == ["proxy", "socks5", "vpn"]
    assert context_words("login from 81.2.69.142") == []


def test_address_columns() -> None:
    found = countries_in_record(
        {
            "name": "A. Person",
            "country": "Deutschland",
            "postal_address": "12 Rue de Rivoli, 75001 Paris, France",
            "billing_address": "Leeds, UK",
            "country_code": "BRA",
            "email_address": "france@example.com",  # an e-mail column is not an address
        }
    )
    assert [(f.country, f.column) for f in found] == [
        ("DE", "country"),
        ("FR", "postal_address"),
        ("GB", "billing_address"),
        ("BR", "country_code"),
    ]
    assert countries_in_record({"country": "Atlantis", "address": "somewhere quiet"}) == []
    # E-mail header blocks are records too: a "Cc" header is not a country code.
    assert countries_in_record({"From": "a@example.de", "Cc": "DE", "Land": "Österreich"})[0].country == "AT"
    assert len(countries_in_record({"Cc": "DE"})) == 0


def test_combine_one_country_and_conflicts() -> None:
    phone = Evidence("GB", "phone", WEIGHTS["phone"], "phone +44…")
    tld = Evidence("GB", "cctld", WEIGHTS["cctld"], "email a@b.co.uk")
    alone = combine([phone, tld])
    assert alone.country == "GB"
    assert alone.confidence == pytest.approx(1 - (1 - 0.8) * (1 - 0.2), abs=0.01)
    assert alone.conflicts == []
    ip = Evidence("NL", "ip", WEIGHTS["ip"], "ipv4 193.0.6.139")
    disputed = combine([phone, tld, ip])
    assert disputed.country == "GB"
    assert disputed.confidence < alone.confidence
    assert [c["country"] for c in disputed.conflicts] == ["NL"]
    assert any("VPN" in c for c in disputed.caveats)
    # The same basis twice in one country counts once (two IPs of one ISP are not two kinds of evidence).
    twice = combine([ip, Evidence("NL", "ip", WEIGHTS["ip"], "ipv4 193.0.6.140")])
    assert twice.confidence == pytest.approx(0.5)
    nothing = combine([])
    assert nothing.country is None and nothing.confidence == 0.0


def _seed(store: Store) -> dict[str, int]:
    """A customer list: one target with a UK phone, a UK address row and a Dutch IP; a lone German lead;
    a Cloudflare IP the chat calls a VPN; an identifier with no country."""
    when = datetime(2024, 3, 5, 14, 30, tzinfo=UTC)
    with store.session() as session:
        case = make_case(session)
        listing = make_content(session, case, b"customer list")
        chat = make_content(session, case, b"chat log")
        phone = make_identifier(session, "phone", "+442079460018", value="020 7946 0018")
        email = make_identifier(session, "email", "anna@example.com")
        dutch_ip = make_identifier(session, "ipv4", "193.0.6.139")
        german = make_identifier(session, "ipv4", "85.214.132.117")
        vpn = make_identifier(session, "ipv4", "104.16.1.1")
        handle = make_identifier(session, "handle", "telegram/anna_k")
        occur(session, case, phone, listing, line=2, record="row:1")
        occur(session, case, email, listing, line=2, record="row:1")
        occur(session, case, dutch_ip, chat, line=7, observed_at=when, path="EX1:/chat.txt")
        occur(session, case, german, chat, line=9, observed_at=when, path="EX1:/chat.txt")
        occur(session, case, vpn, chat, line=11, context="my vpn is 104.16.1.1", path="EX1:/chat.txt")
        occur(session, case, handle, chat, line=12, path="EX1:/chat.txt")
        make_record(session, case, listing, "row:1", {"name": "Anna", "country": "United Kingdom"})
        target = make_target(session, case, "Anna", [phone, email, dutch_ip])
        return {
            "target": target.id,
            "phone": phone.id,
            "dutch_ip": dutch_ip.id,
            "german": german.id,
            "vpn": vpn.id,
            "handle": handle.id,
            "email": email.id,
        }


def test_route_case_targets_and_leads(store: Store) -> None:
    ids = _seed(store)
    with store.session() as session:
        case = make_case(session)
        routing = route_case(session, case)
        document = routing_json(routing, Directory())
    (target,) = document["targets"]
    destination = target["destination"]
    assert target["target"] == ids["target"] and target["identifiers"] == 3
    assert destination["country"] == "GB"
    assert {e["basis"] for e in destination["evidence"] if e["country"] == "GB"} == {"phone", "address"}
    assert [c["country"] for c in destination["conflicts"]] == ["NL"]
    assert 0 < destination["confidence"] < 1
    assert destination["agency"]["fallback"] is True
    leads = {lead["identifier"]: lead for lead in document["leads"]}
    assert set(leads) == {ids["phone"], ids["email"], ids["dutch_ip"], ids["german"], ids["vpn"], ids["handle"]}
    german = leads[ids["german"]]
    assert german["destination"]["country"] == "DE" and german["target"] is None
    assert german["first_observed"] == "2024-03-05T14:30:00Z"
    assert german["destination"]["confidence"] == WEIGHTS["ip"]
    vpn = leads[ids["vpn"]]["destination"]
    assert vpn["country"] == "US" and vpn["confidence"] == WEIGHTS["ip-flagged"]
    assert "Cloudflare" in vpn["evidence"][0]["note"] and "vpn" in vpn["evidence"][0]["note"]
    # An e-mail on a generic TLD says nothing itself, but its customer row names the country.
    email = leads[ids["email"]]["destination"]
    assert email["country"] == "GB" and [e["basis"] for e in email["evidence"]] == ["address"]
    handle = leads[ids["handle"]]["destination"]
    assert handle["country"] is None and handle["confidence"] == 0.0
    summary = {row["country"]: row for row in document["countries"]}
    assert summary["GB"]["targets"] == 1 and summary["DE"]["unlinked_leads"] == 1
    assert summary[None]["leads"] == 1


def test_route_cli_json_and_audit(haven_env: HavenEnv) -> None:
    store = open_store(haven_env.url)
    try:
        ids = _seed(store)
    finally:
        store.dispose()
    (haven_env.home / "agencies.toml").write_text(
        '[[agency]]\ncountry = "GB"\nunit = "NCA CEOP"\nchannel = "secure e-mail"\n', encoding="utf-8"
    )
    result = runner.invoke(app, ["intel", "route", "OP-ROUTE", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["targets"][0]["destination"]["agency"] == {
        "country": "GB",
        "unit": "NCA CEOP",
        "contact": None,
        "channel": "secure e-mail",
        "email": None,
        "phone": None,
        "notes": None,
        "fallback": False,
    }
    assert any(lead["identifier"] == ids["german"] for lead in document["leads"])
    text = runner.invoke(app, ["intel", "route", "OP-ROUTE"])
    assert text.exit_code == 0, text.output
    assert "NCA CEOP" in text.stdout and "Interpol (via own NCB) (fallback)" in text.stdout
    store = open_store(haven_env.url)
    try:
        with store.session() as session:
            actions = session.scalars(
                select(AuditEvent.action).where(AuditEvent.chain == "case:OP-ROUTE").order_by(AuditEvent.seq)
            ).all()
    finally:
        store.dispose()
    assert actions.count("intel.route") == 2


def test_route_refuses_a_non_member(haven_env: HavenEnv) -> None:
    store = open_store(haven_env.url)
    try:
        _seed(store)
        from haven.accounts import add_member, create_user

        with store.session() as session:
            create_user(session, "someone-else", "a-long-password-123", role="investigator", by="tester")
            add_member(session, "OP-ROUTE", "someone-else", role="investigator", by="tester")
    finally:
        store.dispose()
    result = runner.invoke(app, ["intel", "route", "OP-ROUTE", "--json"])
    assert result.exit_code == 1
    assert isinstance(result.exception, NotAMemberError)
    assert "+44" not in result.stdout
