"""What every intel module shares: identifier types, a detector's finding, and the hint a reader gives.

Normalized forms (the comparison and deconfliction key; two spellings of one identifier normalize alike):
- ``email``: ``local@domain`` lower-cased (IDNA domain), no display name.
- ``handle``: ``platform/username`` lower-cased, ``unknown/username`` when nothing says the platform.
- ``ipv4`` / ``ipv6``: ``ipaddress`` compressed form.
- ``phone``: E.164 (``+14155550123``).
- ``url``: scheme and host lower-cased, default port and fragment dropped, defanged forms re-fanged.
- ``domain``: lower-cased registrable host name (IDNA), no trailing dot.
- ``wallet``: ``btc:<address>`` (legacy as written; bech32 lower-cased), ``eth:<0x lower-case>``, ``xmr:<address>``.
- ``payment``: ``<scheme>:<reference>`` e.g. ``iban:DE89370400440532013000``, ``paypal:name``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

IDENTIFIER_TYPES: tuple[str, ...] = (
    "email",
    "handle",
    "ipv4",
    "ipv6",
    "phone",
    "url",
    "domain",
    "wallet",
    "payment",
)


@dataclass(frozen=True, slots=True)
class Hint:
    """What a reader knows about the text it hands to the detectors.

    ``field``: where the text came from (an e-mail header name, a CSV column, ``table.column``);
    ``platform``: the service the context names (``telegram``, ``kik`` ...), so a bare name is a handle there;
    ``region``: ISO country assumed for national phone numbers (None: only international numbers count).
    """

    field: str | None = None
    platform: str | None = None
    region: str | None = None


@dataclass(frozen=True, slots=True)
class Found:
    """One identifier a detector found in a text; ``start``/``end`` are character offsets in that text.

    ``detail`` carries what the detector knew, JSON-serialisable: ``platform`` (handle), ``routable`` and
    ``range`` (IP: False with "private", "reserved", "loopback" ...), ``chain`` and ``kind`` (wallet),
    ``observed_at`` (ISO-8601 UTC of a timestamp written beside it), ``region`` (phone).
    """

    type: str
    value: str
    normalized: str
    start: int
    end: int
    detail: dict[str, Any] = field(default_factory=dict)
