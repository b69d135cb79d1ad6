"""The country an identifier's value itself points to: IP registry, phone region, ccTLD, IBAN.

Everything here is offline and cheap (it runs once per new identifier during extraction):
- IPv4/IPv6: ``iptocc``'s registry table, the country the address block is *assigned* to (not where the
  person sits); private, reserved and other non-routable addresses point nowhere.
- phone: the region of the E.164 number (``phonenumbers``); a number valid for one region names it, a
  country calling code shared by several regions (+1, +7, +44 …) names a region only when the number is valid.
- email/domain/url: the country-code top-level domain (``.uk`` is GB); generic TLDs (``.com``, ``.org``),
  ``.eu`` and ccTLDs sold world-wide as generic ones (``.io``, ``.tv``, ``.me`` …) point nowhere.
- payment: an IBAN's first two letters are the account's country; other payment references point nowhere.
- handle, wallet: nothing in the value says a country.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
import pycountry
from iptocc import country_code

# ccTLDs whose alpha-2 differs from the country's ISO code.
_TLD_ALIASES = {"uk": "GB"}
# Internationalized ccTLDs (punycode) of a few large registries.
_IDN_TLDS = {
    "xn--p1ai": "RU",
    "xn--fiqs8s": "CN",
    "xn--fiqz9s": "CN",
    "xn--j6w193g": "HK",
    "xn--kprw13d": "TW",
    "xn--3e0b707e": "KR",
    "xn--mgbaam7a8h": "AE",
    "xn--mgberp4a5d4ar": "SA",
    "xn--90a3ac": "RS",
    "xn--j1amh": "UA",
    "xn--h2brj9c": "IN",
    "xn--wgbh1c": "EG",
}
# ccTLDs marketed and registered world-wide as generic names (search engines treat them as generic too):
# the registrant is anywhere, so they say nothing about a country.
GENERIC_CCTLDS = frozenset(
    {
        "ad",
        "ai",
        "as",
        "bz",
        "cc",
        "cd",
        "co",
        "dj",
        "fm",
        "gg",
        "io",
        "la",
        "me",
        "ms",
        "nu",
        "sc",
        "sr",
        "su",
        "tk",
        "to",
        "tv",
        "ws",
        "ly",
        "gl",
        "vc",
    }
)
# TLDs that name a region or community, not one country.
_NON_COUNTRY_TLDS = {
    "eu": ".eu is the European Union's TLD: any EU resident may register it, no single country",
    "asia": ".asia names a region, not a country",
    "cat": ".cat is a language community's TLD, not a country",
}


@dataclass(frozen=True, slots=True)
class Located:
    """What a value says about a country: ``country`` (alpha-2 or None), ``basis`` (ip, phone, cctld,
    iban) and ``note`` (why it is None, or what to keep in mind)."""

    country: str | None
    basis: str | None
    note: str | None = None


NOWHERE = Located(None, None)


def country_of(identifier_type: str, normalized: str, detail: dict[str, Any] | None = None) -> str | None:
    """ISO 3166-1 alpha-2 the value points to, or None when it says nothing about a country."""
    return locate(identifier_type, normalized, detail).country


def locate(identifier_type: str, normalized: str, detail: dict[str, Any] | None = None) -> Located:
    """``country_of`` with its basis and, when it points nowhere, the reason."""
    if identifier_type in ("ipv4", "ipv6"):
        return _ip(normalized, detail)
    if identifier_type == "phone":
        return _phone(normalized)
    if identifier_type == "email":
        return _host(normalized.rpartition("@")[2])
    if identifier_type == "domain":
        return _host(normalized)
    if identifier_type == "url":
        return _url(normalized)
    if identifier_type == "payment":
        return _payment(normalized)
    return NOWHERE


def countries_of_ips(addresses: Iterable[str]) -> list[str | None]:
    """Assigned country of many addresses in one call (``iptocc`` takes lists natively)."""
    return list(country_code(list(addresses)))


@functools.cache
def iso_countries() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries)


@functools.cache
def country_name(alpha_2: str | None) -> str | None:
    if alpha_2 is None:
        return None
    country = pycountry.countries.get(alpha_2=alpha_2)
    return getattr(country, "common_name", None) or (country.name if country else None)


def _ip(address: str, detail: dict[str, Any] | None) -> Located:
    if detail and detail.get("routable") is False:
        return Located(None, "ip", f"not routable ({detail.get('range') or 'reserved range'})")
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return Located(None, "ip", "not an IP address")
    parsed = getattr(parsed, "ipv4_mapped", None) or parsed  # ::ffff:a.b.c.d is assigned as a.b.c.d
    if not parsed.is_global:
        return Located(None, "ip", "not routable (private or reserved range)")
    found = country_code(parsed.compressed)
    if found is None:
        return Located(None, "ip", "no registry assignment for this address")
    return Located(found, "ip")


def _phone(e164: str) -> Located:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return Located(None, "phone", "not an E.164 number")
    if phonenumbers.is_valid_number(number):
        region = phonenumbers.region_code_for_number(number)
    else:
        regions = phonenumbers.region_codes_for_country_code(number.country_code or 0)
        region = regions[0] if len(regions) == 1 else None
    if region is None or region == phonenumbers.UNKNOWN_REGION or region == "001":
        return Located(None, "phone", "non-geographic or shared calling code")
    return Located(region, "phone")


def _url(url: str) -> Located:
    try:
        host = urlsplit(url if "//" in url else f"//{url}").hostname
    except ValueError:
        return NOWHERE
    if not host:
        return NOWHERE
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return _host(host)
    return _ip(address.compressed, None)


def _host(host: str) -> Located:
    tld = host.rstrip(".").rpartition(".")[2].lower()
    if not tld or tld == host.lower():
        return NOWHERE
    if tld in _NON_COUNTRY_TLDS:
        return Located(None, "cctld", _NON_COUNTRY_TLDS[tld])
    if tld in GENERIC_CCTLDS:
        return Located(None, "cctld", f".{tld} is a country code sold world-wide as a generic name")
    code = _IDN_TLDS.get(tld) or _TLD_ALIASES.get(tld) or (tld.upper() if len(tld) == 2 else None)
    if code is None or code not in iso_countries():
        return NOWHERE  # generic TLD (.com, .net, .org, new gTLDs)
    return Located(code, "cctld")


def _payment(reference: str) -> Located:
    scheme, _, value = reference.partition(":")
    code = value[:2].upper()
    if scheme.lower() == "iban" and code in iso_countries():
        return Located(code, "iban")
    return NOWHERE
