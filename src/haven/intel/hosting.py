"""Offline hints that an IP address is not where a person sits: a small shipped table and context words.

This is deliberately small and honest. Only ranges that are short, published and stable are listed:
- Cloudflare's published edge ranges (cloudflare.com/ips, unchanged since 2021; WARP VPN users and every
  proxied site appear behind them);
- the anycast addresses of the big public DNS resolvers (Google, Cloudflare, Quad9, OpenDNS), which show
  up in logs and configuration files but are never a subscriber's address.
The large clouds' published ranges (AWS, Azure, Google Cloud: tens of thousands of prefixes, changing
weekly), commercial VPN providers, Tor exit nodes (a list that changes hourly) and residential proxies are
NOT covered: an address without a flag may still be any of these.

The second hint is the words around the address in the evidence (``vpn``, ``proxy``, ``tor``, ``vps`` …):
a chat line saying "my VPN is 203.0.113.5" is its own caveat.
"""

from __future__ import annotations

import functools
import ipaddress
import re

RANGES_AS_OF = "2026-11"
_SHIPPED: dict[str, tuple[str, ...]] = {
    "Cloudflare (CDN, WARP VPN)": (
        "173.245.48.0/20",
        "103.21.244.0/22",
        "103.22.200.0/22",
        "103.31.4.0/22",
        "141.101.64.0/18",
        "108.162.192.0/18",
        "190.93.240.0/20",
        "188.114.96.0/20",
        "197.234.240.0/22",
        "198.41.128.0/17",
        "162.158.0.0/15",
        "104.16.0.0/13",
        "104.24.0.0/14",
        "172.64.0.0/13",
        "131.0.72.0/22",
        "2400:cb00::/32",
        "2606:4700::/32",
        "2803:f800::/32",
        "2405:b500::/32",
        "2405:8100::/32",
        "2a06:98c0::/29",
        "2c0f:f248::/32",
    ),
    "public DNS resolver (anycast)": (
        "8.8.8.8/32",
        "8.8.4.4/32",
        "2001:4860:4860::8888/128",
        "2001:4860:4860::8844/128",
        "1.1.1.1/32",
        "1.0.0.1/32",
        "2606:4700:4700::1111/128",
        "2606:4700:4700::1001/128",
        "9.9.9.9/32",
        "149.112.112.112/32",
        "2620:fe::fe/128",
        "208.67.222.222/32",
        "208.67.220.220/32",
    ),
}
_CONTEXT_WORDS = re.compile(
    r"\b(vpn|proxy|proxies|socks5?|tor|exit ?node|onion|vps|hosting|hosted|data ?cent(?:er|re)|seedbox|relay)\b",
    re.IGNORECASE,
)


@functools.cache
def _intervals() -> tuple[tuple[int, int, int, str], ...]:
    """(version, first, last, label) as integers, most specific first (a resolver inside Cloudflare's range
    is named as the resolver); integer comparisons keep this cheap per address."""
    networks = [(ipaddress.ip_network(cidr), label) for label, cidrs in _SHIPPED.items() for cidr in cidrs]
    networks.sort(key=lambda pair: -pair[0].prefixlen)
    return tuple((n.version, int(n.network_address), int(n.broadcast_address), label) for n, label in networks)


def shipped_range(address: str) -> str | None:
    """The label of the shipped range holding ``address`` (e.g. "Cloudflare (CDN, WARP VPN)"), or None."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    version, value = parsed.version, int(parsed)
    for range_version, first, last, label in _intervals():
        if range_version == version and first <= value <= last:
            return label
    return None


def context_words(text: str | None) -> list[str]:
    """Words in the text around an address that say it may be a VPN, proxy, Tor or hosting address."""
    if not text:
        return []
    return sorted({match.group(1).lower() for match in _CONTEXT_WORDS.finditer(text)})
