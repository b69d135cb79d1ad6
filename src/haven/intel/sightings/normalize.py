"""An identifier named by a sightings file, in the normalized form extraction gives (``haven.intel.types``).

A sightings row says what its identifier is (a ``type`` column, an ``ip`` column, a STIX object type), so
this validates and normalizes a value of a known type. The key must be the one extraction gives, or a
sighting never meets the case's identifiers: so the cell goes through ``haven.intel.detect.find_identifiers``
(the extraction detectors) and the one finding of the named type is taken. The small validators below are
the fallback: when the detectors are not importable, and for a bare user name with no platform (which the
detectors rightly ignore in free text, but a column named ``username`` vouches for: ``unknown/<name>``);
they also word the reason when a value is refused.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import coinaddrvalidator
import phonenumbers
from email_validator import EmailNotValidError, validate_email

from haven.intel.types import IDENTIFIER_TYPES, Hint

try:
    from haven.intel import detect as _detect
except ImportError:  # the detectors are another part's work; without them the validators below decide
    _detect = None  # type: ignore[assignment]

TYPE_ALIASES: dict[str, str] = {
    **{t: t for t in IDENTIFIER_TYPES},
    "ip": "ip",
    "ip-address": "ip",
    "ip_address": "ip",
    "ipaddress": "ip",
    "ipv4-addr": "ipv4",
    "ipv6-addr": "ipv6",
    "e-mail": "email",
    "email-addr": "email",
    "email_address": "email",
    "mail": "email",
    "username": "handle",
    "user": "handle",
    "user-account": "handle",
    "account": "handle",
    "nick": "handle",
    "nickname": "handle",
    "screen_name": "handle",
    "msisdn": "phone",
    "telephone": "phone",
    "tel": "phone",
    "mobile": "phone",
    "phone_number": "phone",
    "uri": "url",
    "link": "url",
    "domain-name": "domain",
    "domain_name": "domain",
    "hostname": "domain",
    "host": "domain",
    "btc": "wallet",
    "bitcoin": "wallet",
    "eth": "wallet",
    "ethereum": "wallet",
    "xmr": "wallet",
    "monero": "wallet",
    "crypto": "wallet",
    "iban": "payment",
    "paypal": "payment",
}
"""Spellings of a type in sightings files (lower-case) -> an IDENTIFIER_TYPES name, or ``ip`` (v4 or v6)."""

_DEFANG = (("hxxps", "https"), ("hxxp", "http"), ("[.]", "."), ("(.)", "."), ("[dot]", "."), ("[:]", ":"))
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21}
_WALLET_CHAINS = {"btc": "btc", "bitcoin": "btc", "eth": "eth", "ethereum": "eth", "xmr": "xmr", "monero": "xmr"}
_XMR = re.compile(r"[48][1-9A-HJ-NP-Za-km-z]{94}")
_HANDLE = re.compile(r"[^\s/]{1,200}")
_PAYMENT = re.compile(r"([a-z][a-z0-9_-]{1,30}):(\S{1,200})", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Normalized:
    type: str  # one of IDENTIFIER_TYPES
    value: str  # as written (trimmed)
    normalized: str


def canonical_type(name: str) -> str | None:
    """The identifier type a file's spelling names (``ip`` when IPv4 or IPv6), or None when unknown."""
    return TYPE_ALIASES.get(name.strip().lower().replace(" ", "_"))


def normalize(type_name: str, value: str, *, platform: str | None = None) -> Normalized:
    """Validate ``value`` as ``type_name`` and give the normalized key; ValueError says what is wrong.

    ``platform`` is the network the sighting names: a handle's platform, a wallet's chain when its
    address alone does not say.
    """
    kind = canonical_type(type_name)
    if kind is None:
        raise ValueError(f"unknown identifier type {type_name!r} (one of: {', '.join(IDENTIFIER_TYPES)})")
    text = value.strip()
    if not text:
        raise ValueError("empty identifier")
    if kind in ("ip", "ipv4", "ipv6"):
        kind, normalized = _ip(text, None if kind == "ip" else kind)
        return Normalized(kind, text, normalized)
    detected = _detected(kind, text, platform)
    if detected is not None:
        return Normalized(kind, text, detected)
    normalized = _NORMALIZERS[kind](text, platform)  # raises with a reason a person can act on
    if _detect is not None and kind != "handle":
        raise ValueError(f"{text[:80]!r} is not a {kind} extraction would accept")
    return Normalized(kind, text, normalized)


def _detected(kind: str, text: str, platform: str | None) -> str | None:
    """The normalized form extraction's detectors give ``text`` as a ``kind``; None when they find none."""
    if _detect is None:
        return None
    hint = Hint(field=None, platform=platform.strip().lower() if kind == "handle" and platform else None)
    found = {f.normalized for f in _detect.find_identifiers(text, hint) if f.type == kind}
    if len(found) > 1:
        raise ValueError(f"{text[:80]!r} holds more than one {kind}")
    return found.pop() if found else None


def guess_type(value: str) -> str | None:
    """A type for a value given without one, only where the form leaves no doubt (never handle or payment)."""
    text = value.strip()
    for kind in ("ip", "email", "url", "phone", "wallet", "domain"):
        try:
            normalize(kind, text)
        except ValueError:
            continue
        return kind
    return None


def _ip(text: str, kind: str | None) -> tuple[str, str]:
    try:
        address = ipaddress.ip_address(text.strip("[]").replace("[.]", "."))
    except ValueError:
        raise ValueError(f"{text[:80]!r} is not an IP address") from None
    found = f"ipv{address.version}"
    if kind is not None and kind != found:
        raise ValueError(f"{text[:80]!r} is not an {kind.upper().replace('V', 'v')} address")
    return found, address.compressed


def _email(text: str, _platform: str | None) -> str:
    text = text.removeprefix("mailto:").replace("[.]", ".").replace("[@]", "@").replace("[at]", "@")
    try:
        checked = validate_email(text, check_deliverability=False)
    except EmailNotValidError as error:
        raise ValueError(f"{text[:80]!r} is not an e-mail address ({error})") from None
    return f"{checked.local_part.lower()}@{checked.ascii_domain.lower()}"


def _handle(text: str, platform: str | None) -> str:
    name = text.removeprefix("@")
    if not _HANDLE.fullmatch(name):
        raise ValueError(f"{text[:80]!r} is not a user name (spaces or '/')")
    return f"{_platform(platform)}/{name.lower()}"


def _platform(platform: str | None) -> str:
    if not platform or not platform.strip():
        return "unknown"
    try:
        from haven.intel.detect.handles import canonical_platform
    except ImportError:
        return platform.strip().lower()
    return canonical_platform(platform)


def _phone(text: str, _platform: str | None) -> str:
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        raise ValueError(f"{text[:80]!r} is not an international phone number (+ and country code)") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{text[:80]!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _url(text: str, _platform: str | None) -> str:
    for defanged, fanged in _DEFANG:
        text = text.replace(defanged, fanged)
    parts = urlsplit(text)
    if not parts.scheme or not parts.hostname:
        raise ValueError(f"{text[:80]!r} is not a URL (scheme and host)")
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{text[:80]!r} has an invalid port") from None
    host = _idna(parts.hostname)
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}{':' + parts.password if parts.password else ''}@{netloc}"
    return urlunsplit((scheme, netloc, parts.path, parts.query, ""))


def _domain(text: str, _platform: str | None) -> str:
    host = _idna(text.replace("[.]", ".").rstrip("."))
    labels = host.split(".")
    if len(labels) < 2 or not all(re.fullmatch(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?", label) for label in labels):
        raise ValueError(f"{text[:80]!r} is not a domain name")
    if labels[-1].isdigit():
        raise ValueError(f"{text[:80]!r} is an address, not a domain name")
    return host


def _wallet(text: str, platform: str | None) -> str:
    chain = _WALLET_CHAINS.get((platform or "").strip().lower())
    if ":" in text and text.split(":", 1)[0].lower() in _WALLET_CHAINS:
        prefix, text = text.split(":", 1)
        chain = _WALLET_CHAINS[prefix.lower()]
    if chain is None:
        chain = "eth" if text.lower().startswith("0x") else "xmr" if _XMR.fullmatch(text) else "btc"
    if chain == "xmr":
        if not _XMR.fullmatch(text):
            raise ValueError(f"{text[:80]!r} is not a Monero address")
        return f"xmr:{text}"
    try:
        valid = coinaddrvalidator.validate(chain, text.encode()).valid
    except Exception:  # the validator raises its own types on malformed input
        valid = False
    if not valid:
        raise ValueError(f"{text[:80]!r} is not a valid {chain.upper()} address (checksum)")
    if chain == "eth":
        return f"eth:{text.lower()}"
    return f"btc:{text.lower() if text.lower().startswith(('bc1', 'tb1')) else text}"


def _payment(text: str, platform: str | None) -> str:
    match = _PAYMENT.fullmatch(text) or _PAYMENT.fullmatch(f"{platform}:{text}" if platform else text)
    if match is None:
        raise ValueError(f"{text[:80]!r} is not a payment reference (scheme:reference, e.g. iban:DE89...)")
    scheme, reference = match.group(1).lower(), match.group(2)
    if scheme == "iban":
        reference = reference.replace(" ", "").upper()
    return f"{scheme}:{reference}"


def _idna(host: str) -> str:
    host = host.strip().lower()
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"{host[:80]!r} is not a valid host name") from None


_NORMALIZERS = {
    "email": _email,
    "handle": _handle,
    "phone": _phone,
    "url": _url,
    "domain": _domain,
    "wallet": _wallet,
    "payment": _payment,
}
