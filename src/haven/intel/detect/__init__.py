"""Identifier detectors: ``find_identifiers(text, hint)`` finds every identifier type in one pass.

One combined regular expression (a pre-filter: alternatives in priority order, each a cheap candidate
pattern) walks the text once in C; each candidate then goes to its type's validator (``phonenumbers``,
``email-validator``, ``coinaddrvalidator``, ``ipaddress``, ``tldextract``'s offline suffix list,
``schwifty``). Tokens that are not identifiers but look like them (dates and times, hex digests) are
alternatives too, so a timestamp or a SHA-1 is consumed whole and never read as a phone or a wallet;
timestamps are kept so an IP gets the time written beside it (``timestamps.attach``).

Priority (the leftmost candidate wins; at one position the first alternative): platform labels
(``kik: name``, ``paypal: x``, card words + number), URLs with a scheme or ``www.``, e-mail addresses,
IPv4, IPv6, timestamps, wallets (ETH, bech32, BTC legacy, XMR), IBAN, hex digests (skipped), phone
numbers, ``@mentions``, bare domains (and bare ``host/path`` URLs).

Overlap policy (what one stretch of text yields):
- a URL is reported as a URL; its host is NOT also reported as a domain;
- an e-mail address is reported as an e-mail; its domain is NOT also reported as a domain;
- an IP-literal URL (``http://203.0.113.5/x``) is reported as the URL AND as the IP (the IP is what
  routing and sightings need);
- a profile link (``t.me/name``) is the URL AND the handle; ``paypal.me/name`` the URL AND the payment;
  ``wa.me/<number>`` the URL AND the phone; ``paypal: name@example.com`` the payment AND the e-mail;
- a Message-ID (``<id@host>``) is not an e-mail: it yields its host as a domain.
Results are ordered by position.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator

from haven.intel.types import Found, Hint

from . import emails, handles, ips, payments, phones, timestamps, urls, wallets
from ._scan import Scan, word_alternation

__all__ = ["Found", "Hint", "find_identifiers"]

_Handler = Callable[[Scan, int, int], list[Found]]
_HEX_DIGEST = r"(?<![\w])[0-9a-fA-F]{32,}(?![\w])"


def _stamp(scan: Scan, start: int, end: int) -> list[Found]:
    scan.stamps.append((start, end))  # parsed only if an IP on its line needs it
    return []


def _skip(_scan: Scan, _start: int, _end: int) -> list[Found]:
    return []


# Every candidate starts where no word character precedes it. Python's ``re`` tries each branch of an
# alternation at every such position, so branches are bucketed by their first character and each is
# guarded by a cheap lookahead placed before its group (entering a group costs more than failing a
# lookahead): ordinary words fail after a few steps. Within a bucket the order is the priority order.
_SIGNAL = (
    r"(?=[^\s\d@:/=#\[.]*+(?:[\d@:/=#\[.]|\s[\[(]at[\])]))"  # a digit, "@", ":", "/", "=", "#", "[", "." or " (at)"
)
_BUCKETS: tuple[tuple[str, str], ...] = (
    ("w", r"[^\W\d]"),  # letters and "_"
    ("d", r"\d"),
    ("at", "@"),
    ("plus", r"\+"),
    ("paren", r"\("),
    ("colon", ":"),
)


# Context words that open a label ("kik:", "paypal:", "visa ..."): one test for the three label branches.
_LABEL_WORDS = (
    *handles.CONTEXT_WORDS,
    "paypal",
    "card",
    "visa",
    "master",
    "mastercard",
    "mc",
    "amex",
    "american",
    "discover",
    "maestro",
    "cc",
    "credit",
    "debit",
    "pan",
)
_CONTEXT_WORDS = "(?=" + word_alternation(_LABEL_WORDS) + "(?![a-zA-Z]))"


def _alternatives(national_phones: bool) -> list[tuple[str, str, str, tuple[str, ...], _Handler]]:
    """(name, guard, pattern, buckets, handler) in priority order; a bucket "w:ctx" or "w:sig" is the
    letter bucket behind the context-word or signal-character test shared by consecutive branches."""
    phone_pattern = phones.INTERNATIONAL_PATTERN
    if national_phones:
        phone_pattern = f"{phones.INTERNATIONAL_PATTERN}|{phones.NATIONAL_PATTERN}"
    return [
        ("label", handles.LABEL_GUARD, handles.LABEL_PATTERN, ("w:ctx",), handles.found_label),
        ("paypal", r"(?=[pP][aA][yY])", payments.PAYPAL_PATTERN, ("w:ctx",), payments.found_paypal),
        ("card", "", payments.CARD_PATTERN, ("w:ctx",), payments.found_card),
        ("url", r"(?=[hHfFwW])", urls.URL_PATTERN, ("w:sig",), urls.found_url),
        ("email", r"(?=[\w.+%'=-]{1,64}+(?:@|\s?[\[(]at[\])]))", emails.PATTERN, ("w:sig", "d"), emails.found),
        ("ipv4", r"(?=\d{1,3}(?:\.|\[\.\]|\(\.\)|\[dot\])\d)", ips.IPV4_PATTERN, ("d",), ips.found_ipv4),
        ("ipv6", r"(?=(?:IPv6:)?[0-9A-Fa-f]{0,4}:)", ips.IPV6_PATTERN, ("w:sig", "d", "colon"), ips.found_ipv6),
        ("stamp", "", timestamps.PATTERN, ("d",), _stamp),
        ("eth", r"(?=0x)", wallets.ETH_PATTERN, ("d",), wallets.found_eth),
        ("bech32", r"(?=[bB][cC]1)", wallets.BECH32_PATTERN, ("w:sig",), wallets.found_bech32),
        ("btc", r"(?=[13]\w{25})", wallets.BTC_PATTERN, ("d",), wallets.found_btc),
        ("xmr", r"(?=[48]\w{94})", wallets.XMR_PATTERN, ("d",), wallets.found_xmr),
        ("iban", r"(?=[A-Z]{2}\d\d)", payments.IBAN_PATTERN, ("w:sig",), payments.found_iban),
        ("digest", r"(?=[0-9a-fA-F]{32})", _HEX_DIGEST, ("w:sig", "d"), _skip),
        ("phone", "", phone_pattern, ("d", "plus", "paren"), phones.found),
        ("mention", "", handles.MENTION_PATTERN, ("at",), handles.found_mention),
        ("domain", "", urls.DOMAIN_PATTERN, ("w:sig", "d"), urls.found_domain),
        # a weekday opens an RFC 5322 or ctime date; after the signal group (the token "Mon," has no signal)
        ("stamp", r"(?=(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun))", timestamps.PATTERN, ("w",), _stamp),
    ]


_GROUP_GUARDS = {"ctx": _CONTEXT_WORDS, "sig": _SIGNAL}


@functools.cache
def _scanner(national_phones: bool) -> tuple[re.Pattern[str], dict[str, _Handler]]:
    alternatives = _alternatives(national_phones)
    handlers: dict[str, _Handler] = {}
    buckets = []
    for bucket, first in _BUCKETS:
        branches: list[str] = []
        group: str | None = None
        grouped: list[str] = []
        for name, guard, pattern, where, handler in alternatives:
            place = next((w for w in where if w.split(":")[0] == bucket), None)
            if place is None:
                continue
            place_group = place.split(":")[1] if ":" in place else None
            if place_group != group and grouped:
                branches.append(f"{_GROUP_GUARDS[group]}(?:{'|'.join(grouped)})" if group else "|".join(grouped))
                grouped = []
            group = place_group
            key = f"{name}_{len(handlers)}"
            handlers[key] = handler
            grouped.append(f"{guard}(?P<{key}>{pattern})")
        if grouped:
            branches.append(f"{_GROUP_GUARDS[group]}(?:{'|'.join(grouped)})" if group else "|".join(grouped))
        buckets.append(f"(?={first})(?:{'|'.join(branches)})")
    return re.compile(rf"(?<!\w)(?:{'|'.join(buckets)})"), handlers


# Pre-filter: every identifier holds one of these characters (a digit, "@", ":", "/", "=", "#", "[" or
# "."). ``_CLUSTER`` starts with that character class, so ``re`` skips to the next one in C, and takes the
# run of tokens holding one (a blank or two apart: "+44 20 7946 0958") plus the token after (" UTC").
# Each cluster, widened back by one token and to a context word on the same line ("telegram user name:",
# "Mon,"), is a window the combined scan reads; the rest of the text is never scanned.
_SIGNALS = r"\d@:/=#\[."
_CLUSTER = re.compile(rf"[{_SIGNALS}]\S*(?:[ \t]{{1,2}}[^\s{_SIGNALS}]*[{_SIGNALS}]\S*)*(?:[ \t]{{1,2}}\S+)?")
_CONTEXT_BEFORE = re.compile(
    r"(?<![\w@./-])(?:"
    + word_alternation((*_LABEL_WORDS, "mon", "tue", "wed", "thu", "fri", "sat", "sun"))
    + r")(?![a-zA-Z])"
)
_LOOK_BACK = 48  # characters searched back for a context word ("telegram user name: …")


def _token_start(text: str, pos: int, floor: int) -> int:
    return max(text.rfind(" ", floor, pos), text.rfind("\n", floor, pos), text.rfind("\t", floor, pos)) + 1 or floor


def _windows(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) stretches of ``text`` that may hold an identifier, in order, not overlapping."""
    window_start, window_end = -1, -1
    for cluster in _CLUSTER.finditer(text):
        pos, end = cluster.span()
        floor = max(pos - _LOOK_BACK - 80, text.rfind("\n", max(0, pos - _LOOK_BACK - 80), pos) + 1)
        start = _token_start(text, pos, floor)
        if start - 1 > floor:  # one token back: "version 1.2.3.4", "tg @name"
            start = _token_start(text, start - 1, floor)
            if start - 1 > floor and text[start : start + 4].lower() in ("(at)", "[at]"):  # "name (at) example.com"
                start = _token_start(text, start - 1, floor)
        context = _CONTEXT_BEFORE.search(text, max(floor, pos - _LOOK_BACK), start)
        if context is not None:
            start = context.start()
        if window_end >= 0 and start <= window_end + 2:  # touches the one before ("15 Jan" + "2024 14:03")
            window_end = end
            continue
        if window_end >= 0:
            yield window_start, window_end
        window_start, window_end = start, end
    if window_end >= 0:
        yield window_start, window_end


def find_identifiers(text: str, hint: Hint | None = None) -> list[Found]:
    """Every identifier in ``text``, ordered by position (see the module docstring for overlaps)."""
    hint = hint or Hint()
    pattern, handlers = _scanner(bool(hint.region))
    scan = Scan(text, hint)
    found: list[Found] = []
    for start, end in _windows(text):
        for match in pattern.finditer(text, start, end):
            name = match.lastgroup
            if name is not None:
                found.extend(handlers[name](scan, match.start(), match.end()))
    if not found and (hint.platform or hint.field):
        found.extend(handles.found_bare(text, hint))
    if scan.stamps:
        found = timestamps.attach(scan, found)
    found.sort(key=lambda item: (item.start, item.end, item.type))
    return found
