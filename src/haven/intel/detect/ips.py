"""IPv4 and IPv6 addresses (``ipaddress`` validates; non-routable ranges are returned, marked).

``detail``: ``routable`` (bool) and, when not routable, ``range`` (``private``, ``loopback``, ``link-local``,
``documentation``, ``shared`` (carrier-grade NAT), ``multicast``, ``reserved``, ``unspecified``,
``benchmarking``, ``this-network``, ``broadcast``); ``observed_at`` / ``observed_at_local`` from a timestamp
beside it (see ``haven.intel.detect.observed``). A dotted quad after ``version``/``build``/``v`` is a version.
An IPv4-mapped IPv6 address (``::ffff:81.2.69.160``) is reported as the IPv6 (compressed: ``::ffff:5102:45a0``)
AND as its IPv4, so a client a dual-stack server logs links with the same client seen over IPv4.
"""

from __future__ import annotations

import functools
import ipaddress
import re

from haven.intel.types import Found

from ._scan import Scan

_DOT = r"(?:\.|\[\.\]|\(\.\)|\[dot\])"
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4_PATTERN = rf"(?<![\w.])(?:{_OCTET}{_DOT}){{3}}{_OCTET}(?![\w]|\.\d|\[\.\])"
_H = r"[0-9A-Fa-f]{1,4}"
IPV6_PATTERN = (
    r"(?<![\w:.])(?:IPv6:)?(?:"
    rf"(?:{_H}:){{7}}{_H}"
    rf"|(?:{_H}:){{1,7}}:(?:{_H}(?::{_H}){{0,6}})?"
    rf"|::(?:{_H}(?::{_H}){{0,6}})?"
    rf"|(?:{_H}:){{1,6}}(?::{_H}){{1,6}}"
    r")(?:(?<=:)\d{1,3}(?:\.\d{1,3}){3}|(?<!:)\.\d{1,3}(?:\.\d{1,3}){2}(?<=\d))?(?:%[\w.]+)?(?![\w:])"
)

_VERSION_BEFORE = re.compile(
    r"(?:\b(?:version|ver|build|release|firmware|fw|rev|revision|update|patch|v)\.?\s*[:#=]?\s*|\bv)$", re.I
)
_REFANG = re.compile(r"\[\.\]|\(\.\)|\[dot\]")

# Checked in order: the first range an address falls in names it (documentation before private: Python
# calls 192.0.2.0/24 private too).
_RANGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("documentation", ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "3fff::/20")),
    ("loopback", ("127.0.0.0/8", "::1/128")),
    ("unspecified", ("0.0.0.0/32", "::/128")),
    ("this-network", ("0.0.0.0/8",)),
    ("private", ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")),
    ("shared", ("100.64.0.0/10",)),
    ("link-local", ("169.254.0.0/16", "fe80::/10")),
    ("benchmarking", ("198.18.0.0/15", "2001:2::/48")),
    ("multicast", ("224.0.0.0/4", "ff00::/8")),
    ("broadcast", ("255.255.255.255/32",)),
    ("reserved", ("240.0.0.0/4", "192.0.0.0/24", "100::/64", "2001::/23")),
)
_NETWORKS = tuple((name, ipaddress.ip_network(net)) for name, nets in _RANGES for net in nets)


def route_detail(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> dict[str, object]:
    """``{"routable": True}`` or ``{"routable": False, "range": name}``."""
    range_name = _range_of(address)
    return {"routable": True} if range_name is None else {"routable": False, "range": range_name}


@functools.lru_cache(maxsize=1 << 16)
def _range_of(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """The non-routable range an address falls in (None: routable); cached, as logs repeat addresses."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _range_of(address.ipv4_mapped)
    for name, network in _NETWORKS:
        if address.version == network.version and address in network:
            return name
    return None if address.is_global else "reserved"


def found_ipv4(scan: Scan, start: int, end: int) -> list[Found]:
    written = scan.text[start:end]
    if _VERSION_BEFORE.search(scan.before(start, 24)):
        return []
    try:
        address = ipaddress.IPv4Address(_REFANG.sub(".", written))
    except ValueError:
        return []
    return [Found("ipv4", written, str(address), start, end, route_detail(address))]


def found_ipv6(scan: Scan, start: int, end: int) -> list[Found]:
    written = scan.text[start:end]
    if written[:5].lower() == "ipv6:":
        start, written = start + 5, written[5:]
    bare = written.split("%", 1)[0]
    if bare.count(":") < 2 or bare in ("::",):
        return []
    try:
        address = ipaddress.IPv6Address(bare)
    except ValueError:
        return []
    if "::" not in bare and not any(c.isalpha() for c in bare) and bare.count(":") < 7:
        return []  # 12:30:45-like runs of digits and colons that are not a full address
    found = [Found("ipv6", written, address.compressed, start, end, route_detail(address))]
    mapped = address.ipv4_mapped
    if mapped is not None:  # a dual-stack socket's client: the IPv4 is what other logs and the ISP know
        dotted = bare.rfind(":") + 1 if "." in bare else 0
        begin = start + dotted
        stop = start + len(bare) if dotted else end
        found.append(Found("ipv4", scan.text[begin:stop], str(mapped), begin, stop, route_detail(mapped)))
    return found


def parse_host(host: str) -> tuple[str, str, dict[str, object]] | None:
    """(type, normalized, detail) when a URL host is an IP literal, else None."""
    host = host.strip("[]")
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    kind = "ipv4" if address.version == 4 else "ipv6"
    return kind, address.compressed, route_detail(address)
