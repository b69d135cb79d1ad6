"""Countries written in a structured record: a ``country`` column, or the end of an ``address``.

Customer lists and account tables say where their people live. A column whose name says country
(``country``, ``country_code``, ``land``, ``pays`` …) is read whole: ISO alpha-2 or alpha-3 code, or a
country name (pycountry's names plus a few everyday ones: UK, England, USA, Holland …). A column whose name
says address is free text: its last comma/newline-separated parts are tried the same way, then the last
country name written anywhere in it. Alpha-2 codes count in an address only as a whole part in capitals
("Berlin, DE"), because two-letter words are everywhere.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

import pycountry

_COUNTRY_COLUMN = re.compile(r"(^|[_\W])(country|countries|country_?code|nation|land|pays|pais|país)([_\W]|$)", re.I)
_ADDRESS_COLUMN = re.compile(r"addr|adresse|direcci|anschrift|location|ship_?to|billing", re.I)
_NOT_POSTAL = re.compile(
    r"mail|(^|[_\W])(ip|ipv[46]|url|web|website|host|mac|wallet|btc|eth)([_\W\d]|$)", re.I
)  # "email_address", "ip_address" …
_EVERYDAY_NAMES = {
    "uk": "GB",
    "u.k.": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "great britain": "GB",
    "britain": "GB",
    "usa": "US",
    "u.s.a.": "US",
    "u.s.": "US",
    "america": "US",
    "united states": "US",
    "holland": "NL",
    "the netherlands": "NL",
    "russia": "RU",
    "south korea": "KR",
    "korea": "KR",
    "north korea": "KP",
    "vietnam": "VN",
    "iran": "IR",
    "syria": "SY",
    "laos": "LA",
    "bolivia": "BO",
    "venezuela": "VE",
    "tanzania": "TZ",
    "moldova": "MD",
    "czech republic": "CZ",
    "czechia": "CZ",
    "ivory coast": "CI",
    "turkey": "TR",
    "türkiye": "TR",
    "taiwan": "TW",
    "deutschland": "DE",
    "allemagne": "DE",
    "españa": "ES",
    "espana": "ES",
    "italia": "IT",
    "österreich": "AT",
    "schweiz": "CH",
    "suisse": "CH",
    "nederland": "NL",
    "belgique": "BE",
    "belgië": "BE",
    "brasil": "BR",
    "méxico": "MX",
    "polska": "PL",
    "sverige": "SE",
    "norge": "NO",
    "danmark": "DK",
    "suomi": "FI",
    "éire": "IE",
    "uae": "AE",
}


@dataclass(frozen=True, slots=True)
class AddressCountry:
    country: str
    column: str
    text: str  # the value it was read from (shortened)


def countries_in_record(fields: dict[str, object]) -> list[AddressCountry]:
    """Every country a record's country or address columns name, in column order."""
    found: list[AddressCountry] = []
    for column, raw in fields.items():
        if not isinstance(raw, str) or not raw.strip():
            continue
        code = None
        if _COUNTRY_COLUMN.search(column):
            code = country_in_name(raw, codes=True)
        elif _ADDRESS_COLUMN.search(column) and not _NOT_POSTAL.search(column):
            code = country_in_address(raw)
        if code:
            found.append(AddressCountry(code, column, raw.strip()[:120]))
    return found


def country_in_name(text: str, *, codes: bool) -> str | None:
    """The country a short text names: a code (``codes``), an official, common or everyday name."""
    key = _fold(text)
    if not key:
        return None
    names = _names()
    if key in names:
        return names[key]
    if codes and len(key) == 2 and key.upper() in _alpha2():
        return key.upper()
    if codes and len(key) == 3:
        country = pycountry.countries.get(alpha_3=key.upper())
        return country.alpha_2 if country else None
    return None


def country_in_address(text: str) -> str | None:
    parts = [p.strip() for p in re.split(r"[,\n;]", text) if p.strip()]
    for part in reversed(parts[-2:]):
        words = re.sub(r"[\d\-]+", " ", part).strip()  # postal codes beside the country
        code = country_in_name(words, codes=False)
        if code:
            return code
        if re.fullmatch(r"[A-Z]{2}", part) and part in _alpha2():
            return part
    matches = list(_name_pattern().finditer(_fold(text)))
    return _names()[matches[-1].group(0)] if matches else None


@functools.cache
def _name_pattern() -> re.Pattern[str]:
    """One alternation of every name of 4+ characters, longest first (one pass over an address)."""
    names = sorted((n for n in _names() if len(n) >= 4), key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(re.escape(n) for n in names) + r")\b")


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip().lower()
    return re.sub(r"\s+", " ", text.strip(" .,;:"))


@functools.cache
def _alpha2() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries)


@functools.cache
def _names() -> dict[str, str]:
    names: dict[str, str] = {}
    for country in pycountry.countries:
        for attribute in ("name", "official_name", "common_name"):
            value = getattr(country, attribute, None)
            if value:
                names[_fold(value)] = country.alpha_2
                names.setdefault(_fold(re.sub(r",.*$", "", value)), country.alpha_2)  # "Korea, Republic of"
    for name, code in _EVERYDAY_NAMES.items():
        names[_fold(name)] = code
    return names
