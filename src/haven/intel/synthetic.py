"""A labelled, synthetic corpus for the identifier detectors (bench, tests) and the demo's intel material.

Everything is made up: names from a small built-in list, ``example.*`` domains mixed with free-mail
domains, wallets and IBANs generated with valid checksums from seeded random bytes. Public IPs come from
``VERIFIED_IPS`` (big ISPs' address blocks, country checked against ``iptocc`` by a test), so routing
has real countries to find; private and documentation addresses appear too, labelled as identifiers
(not routable). Beside the planted identifiers sit look-alikes that must not be found: version numbers,
timestamps and dates, hex digests, order and invoice numbers, file names, wallets and IBANs with a
wrong checksum, national-format numbers without a country, product codes. Identifiers are written the
ways chat, mail, logs and forum posts write them: URLs in brackets, quotes or before punctuation, defanged,
upper-cased, with ports, queries and fragments, without a scheme; IPv6 compressed or in full, upper-case,
``[address]:port``, IPv4-mapped (``::ffff:81.2.69.160``: labelled as the IPv6 ``::ffff:5102:45a0`` and the IPv4),
link-local with a zone id (``fe80::1%eth0``, labelled without the zone: found, not routable).

``corpus(seed, scale)`` returns ``Corpus(files={name: bytes}, labels={name: {(type, normalized)}})``; the
same seed gives the same bytes. Customer-list usernames are bare cells: they are labelled as
``unknown/<name>`` handles, found through the column hint a reader gives (``Hint(field="username")``).
``demo_files()`` is the small benign set
``make demo`` plants in its case (a customer list, a chat log, an e-mail, a newsgroup article).
"""

from __future__ import annotations

import csv
import hashlib
import io
import ipaddress
import random
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import phonenumbers
from Crypto.Hash import keccak
from schwifty import IBAN

from haven.intel.detect.payments import luhn_valid
from haven.intel.detect.wallets import bech32_polymod

Label = tuple[str, str]

# Public addresses of large ISPs/providers, one block per line: (address, ISO country iptocc assigns).
# Planted IPv4s vary the last octet (blocks are at least /24). tests/test_intel_detect_corpus.py checks them.
VERIFIED_IPS: tuple[tuple[str, str], ...] = (
    ("73.162.10.20", "US"),
    ("24.5.6.7", "US"),
    ("98.137.11.163", "US"),
    ("81.2.69.142", "GB"),
    ("86.1.2.3", "GB"),
    ("90.192.1.1", "GB"),
    ("84.128.1.1", "DE"),
    ("91.0.0.1", "DE"),
    ("79.192.1.1", "DE"),
    ("90.0.0.1", "FR"),
    ("86.192.1.1", "FR"),
    ("82.64.1.1", "FR"),
    ("177.0.0.1", "BR"),
    ("189.0.0.1", "BR"),
    ("201.0.0.1", "BR"),
    ("1.120.0.1", "AU"),
    ("101.160.1.1", "AU"),
    ("58.160.1.1", "AU"),
    ("112.198.1.1", "PH"),
    ("49.144.1.1", "PH"),
    ("120.28.1.1", "PH"),
    ("117.192.1.1", "IN"),
    ("59.88.1.1", "IN"),
    ("122.160.1.1", "IN"),
    ("84.104.1.1", "NL"),
    ("77.160.1.1", "NL"),
    ("145.53.1.1", "NL"),
    ("24.48.1.1", "CA"),
    ("99.224.1.1", "CA"),
    ("142.112.1.1", "CA"),
)
VERIFIED_IPV6: tuple[tuple[str, str], ...] = (
    ("2001:4860:4860::8888", "US"),
    ("2003:e0::1", "DE"),
    ("2a01:e0a::1", "FR"),
    ("2804:14c::1", "BR"),
    ("2001:8003::1", "AU"),
    ("2a02:a440::1", "NL"),
    ("2405:201::1", "IN"),
    ("2607:fea8::1", "CA"),
    ("2a00:23c4::1", "GB"),
    ("2001:4454::1", "PH"),
)
PRIVATE_IPS = (
    "192.168.1.23",
    "10.0.4.17",
    "172.16.8.9",
    "127.0.0.1",
    "169.254.10.3",
    "203.0.113.45",
    "198.51.100.7",
    "100.64.2.2",
)
COUNTRIES = ("US", "GB", "DE", "FR", "BR", "AU", "PH", "IN", "NL", "CA")

_FIRST = (
    "Avery",
    "Bodhi",
    "Calla",
    "Darian",
    "Elsie",
    "Farron",
    "Gwyn",
    "Hollis",
    "Ines",
    "Jorun",
    "Kestrel",
    "Lowen",
    "Maren",
    "Nilo",
    "Orla",
    "Perrin",
    "Quill",
    "Rowan",
    "Sable",
    "Tamsin",
    "Ulric",
    "Vesna",
    "Wren",
    "Xanthe",
    "Yorick",
    "Zelda",
)
_LAST = (
    "Ashgrove",
    "Brindle",
    "Corvell",
    "Dunmore",
    "Elvery",
    "Fenwick",
    "Greyling",
    "Harrow",
    "Ilsley",
    "Jessop",
    "Kettering",
    "Larkspur",
    "Marchbank",
    "Nettleford",
    "Oakhurst",
    "Pemberly",
    "Quarrie",
    "Rookwood",
    "Sallow",
    "Thistlewood",
)
CHAT_WORDS = (  # filler for synthetic chat and mail
    "the",
    "parcel",
    "is",
    "ready",
    "send",
    "me",
    "later",
    "ok",
    "thanks",
    "new",
    "files",
    "tonight",
    "did",
    "you",
    "get",
    "it",
    "check",
    "again",
    "link",
    "works",
    "now",
    "meet",
    "tomorrow",
    "same",
    "place",
    "as",
    "before",
    "price",
    "changed",
    "call",
    "when",
    "free",
    "lol",
    "sure",
    "no",
    "problem",
    "wait",
)
_FREE_MAIL = {
    "US": "gmail.com",
    "GB": "yahoo.co.uk",
    "DE": "gmx.de",
    "FR": "orange.fr",
    "BR": "uol.com.br",
    "AU": "bigpond.com",
    "PH": "yahoo.com.ph",
    "IN": "rediffmail.com",
    "NL": "ziggo.nl",
    "CA": "rogers.com",
}
_EXAMPLE_DOMAINS = (
    "example.com",
    "example.org",
    "example.net",
    "mail.example.co.uk",
    "example.de",
    "example.com.br",
    "shop.example.fr",
    "example.nl",
)
_PLATFORMS = (
    ("telegram", "telegram"),
    ("kik", "kik"),
    ("snapchat", "snap"),
    ("wickr", "wickr"),
    ("discord", "discord"),
    ("instagram", "ig"),
    ("skype", "skype"),
    ("tiktok", "tiktok"),
)
_IBAN_COUNTRIES = {"DE": (8, 10), "NL": (4, 10), "GB": (10, 8), "FR": (10, 11), "AT": (5, 11)}
_EPOCH = datetime(2024, 1, 15, 9, 0, 0, tzinfo=UTC)


@dataclass
class Corpus:
    """Files (name -> bytes) and labels (name -> the identifiers planted in it, as (type, normalized))."""

    files: dict[str, bytes] = field(default_factory=dict)
    labels: dict[str, set[Label]] = field(default_factory=dict)


# --- values with valid checksums --------------------------------------------------------------------------

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _b58check(payload: bytes) -> str:
    data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rest = divmod(number, 58)
        out = _B58[rest] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def _segwit(version: int, program: bytes) -> str:
    bits, acc, data = 0, 0, [version]
    for byte in program:
        acc = (acc << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            data.append((acc >> bits) & 31)
    if bits:
        data.append((acc << (5 - bits)) & 31)
    constant = 1 if version == 0 else 0x2BC830A3
    expanded = [ord(c) >> 5 for c in "bc"] + [0] + [ord(c) & 31 for c in "bc"]
    polymod = bech32_polymod([*expanded, *data, 0, 0, 0, 0, 0, 0]) ^ constant
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return "bc1" + "".join(_BECH32[d] for d in data + checksum)


def _eth(raw: bytes) -> str:
    body = raw.hex()
    digest = keccak.new(digest_bits=256, data=body.encode()).hexdigest()
    return "0x" + "".join(c.upper() if int(h, 16) >= 8 else c for c, h in zip(body, digest[:40], strict=True))


def _monero(raw: bytes) -> str:
    data = bytes([18]) + raw
    data += keccak.new(digest_bits=256, data=data).digest()[:4]
    out = ""
    for begin in range(0, len(data), 8):
        block = data[begin : begin + 8]
        number = int.from_bytes(block, "big")
        width = {8: 11, 5: 7}[len(block)]
        chars = ""
        for _ in range(width):
            number, rest = divmod(number, 58)
            chars = _B58[rest] + chars
        out += chars
    return out


def _luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    digits = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return next(digits + check for check in "0123456789" if luhn_valid(digits + check))


def _spaced(text: str) -> str:
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


class _Values:
    """Seeded generator of identifiers (value as written, label) and of look-alikes."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.moment = _EPOCH

    def pick(self, items):  # type: ignore[no-untyped-def]
        return self.rng.choice(items)

    def name(self) -> tuple[str, str]:
        return self.pick(_FIRST), self.pick(_LAST)

    def tick(self) -> datetime:
        self.moment += timedelta(seconds=self.rng.randint(20, 900))
        return self.moment

    def email(self, country: str | None = None) -> tuple[str, Label]:
        first, last = self.name()
        domain = _FREE_MAIL[country] if country and self.rng.random() < 0.6 else self.pick(_EXAMPLE_DOMAINS)
        local = self.pick((f"{first}.{last}", f"{first[0]}{last}{self.rng.randint(1, 99)}", f"{last}_{first}"))
        written = f"{local}@{domain}"
        roll = self.rng.random()
        if roll < 0.3:
            written = f"{local.capitalize()}@{domain.upper() if self.rng.random() < 0.5 else domain}"
        elif roll < 0.4:  # defanged, as in threat reports and some forums
            written = f"{local}[at]{domain.replace('.', '[.]')}"
        return written, ("email", f"{local.lower()}@{domain}")

    def phone(self, country: str) -> tuple[str, Label]:
        example = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
        national = str(example.national_number)
        while True:
            digits = national[:-4] + f"{self.rng.randint(0, 9999):04d}"
            number = phonenumbers.parse(f"+{example.country_code}{digits}")
            if phonenumbers.is_valid_number(number) and phonenumbers.region_code_for_number(number) == country:
                break
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        forms = [
            international,
            e164,
            "00" + e164[1:],
            international.replace(" ", "-"),
            international.replace("-", " "),
            f"tel:{e164}",
        ]
        if example.country_code == 1:  # +1 (201) 555-0123
            forms.append(f"+1 ({e164[2:5]}) {e164[5:8]}-{e164[8:]}")
        written = self.pick(forms)
        return written, ("phone", e164)

    def ipv4(self, country: str | None = None) -> tuple[str, Label, str]:
        base, cc = self.pick([(ip, cc) for ip, cc in VERIFIED_IPS if country is None or cc == country])
        address = base.rsplit(".", 1)[0] + f".{self.rng.randint(2, 250)}"
        return address, ("ipv4", address), cc

    def ipv6(self) -> tuple[str, Label, str]:
        base, cc = self.pick(VERIFIED_IPV6)
        address = ipaddress.IPv6Address(base.rsplit(":", 1)[0] + f":{self.rng.randint(2, 0xFFFF):x}")
        forms = (address.compressed, address.exploded.upper(), address.exploded, address.compressed.upper())
        written = self.pick(forms)
        return written, ("ipv6", address.compressed), cc

    def ipv6_mention(self) -> tuple[str, list[Label]]:
        """IPv6 as logs and pasted tool output write it: ``[addr]:port`` (Go, nginx upstreams), an IPv4 mapped
        into IPv6 by a dual-stack socket (labels: the ``ipaddress`` compressed form ``::ffff:5102:45a0``, as
        the normalization contract says, and the IPv4 itself, the client other logs and the ISP know), a
        link-local address with a zone id (labelled: Haven reports it, not routable)."""
        roll = self.rng.randint(0, 3)
        if roll == 0:
            address, label, _cc = self.ipv6()
            return f"[{address}]:{self.rng.randint(1024, 65535)}", [label]
        if roll == 1:
            ipv4, ipv4_label, _cc = self.ipv4()
            mapped = ipaddress.IPv6Address(f"::ffff:{ipv4}")
            return f"::ffff:{ipv4}", [("ipv6", mapped.compressed), ipv4_label]
        if roll == 2:
            local = ipaddress.IPv6Address(f"fe80::{self.rng.randint(1, 0xFFFF):x}:{self.rng.randint(1, 0xFFFF):x}")
            return f"{local.compressed}%{self.pick(('eth0', 'wlan0', 'en0', '12'))}", [("ipv6", local.compressed)]
        address, label, _cc = self.ipv6()
        return address, [label]

    def private_ip(self) -> tuple[str, Label]:
        address = self.pick(PRIVATE_IPS)
        return address, ("ipv4", address)

    def handle_name(self) -> str:
        first, last = self.name()
        return self.pick(
            (
                f"{first.lower()}_{self.rng.randint(10, 999)}",
                f"{last.lower()}{first[0].lower()}",
                f"x{first.lower()}x",
                f"{first.lower()}.{last.lower()}",
            )
        )

    def handle(self) -> tuple[str, Label]:
        platform, word = self.pick(_PLATFORMS)
        name = self.handle_name().replace(".", "_")
        if platform == "discord":
            name = f"{name}#{self.rng.randint(1000, 9999)}"
        written = self.pick(
            (
                f"{word}: {name}",
                f"{word}: @{name}",
                f"my {word} is @{name}",
                f"add me on {word} @{name}",
                f"{word.upper()}: {name}",
            )
        )
        if "#" in name and "@" in written:
            written = f"{word}: {name}"
        return written, ("handle", f"{platform}/{name.lower()}")

    def wallet(self) -> tuple[str, Label]:
        kind = self.pick(("p2pkh", "p2sh", "bech32", "taproot", "eth", "xmr"))
        raw = self.rng.randbytes(64)
        if kind == "p2pkh":
            address = _b58check(b"\0" + raw[:20])
        elif kind == "p2sh":
            address = _b58check(b"\5" + raw[:20])
        elif kind == "bech32":
            address = _segwit(0, raw[:20])
        elif kind == "taproot":
            address = _segwit(1, raw[:32])
        elif kind == "eth":
            address = _eth(raw[:20])
            return address, ("wallet", f"eth:{address.lower()}")
        else:
            address = _monero(raw)
            return address, ("wallet", f"xmr:{address}")
        return address, ("wallet", f"btc:{address}")

    def iban(self) -> tuple[str, Label]:
        country = self.pick(tuple(_IBAN_COUNTRIES))
        bank_len, account_len = _IBAN_COUNTRIES[country]
        while True:
            bank = "".join(self.pick("0123456789") for _ in range(bank_len))
            if country in ("NL",):
                bank = "".join(self.pick("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4))
            if country == "GB":
                bank = "".join(self.pick("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4)) + bank[:6]
            account = "".join(self.pick("0123456789") for _ in range(account_len))
            try:
                iban = IBAN.generate(country, bank_code=bank, account_code=account)
                compact = str(iban.compact)
                IBAN(compact)
            except Exception:
                continue
            break
        written = _spaced(compact) if self.rng.random() < 0.5 else compact
        return written, ("payment", f"iban:{compact}")

    def card(self) -> tuple[str, Label]:
        number = _luhn_complete(self.pick(("4", "51", "55", "2221")), 16, self.rng)
        written = _spaced(number) if self.rng.random() < 0.5 else number
        return f"{self.pick(('card', 'visa', 'Card number:', 'cc'))} {written}", ("payment", f"card:{number}")

    def paypal(self) -> tuple[str, list[Label]]:
        if self.rng.random() < 0.5:
            name = self.handle_name().replace(".", "").replace("_", "")
            return f"https://paypal.me/{name}", [
                ("payment", f"paypal:{name.lower()}"),
                ("url", f"https://paypal.me/{name}"),
            ]
        written, label = self.email()
        return f"paypal: {written}", [("payment", f"paypal:{label[1]}"), label]

    def url(self) -> tuple[str, list[Label]]:
        choice = self.rng.randint(0, 4)
        path = f"/{self.pick(('files', 'dl', 'share', 'p'))}/{self.rng.randbytes(4).hex()}"
        host = self.pick(_EXAMPLE_DOMAINS)
        if choice == 0:
            return f"https://{host}{path}", [("url", f"https://{host}{path}")]
        if choice == 1:
            return f"hxxp://{host.replace('.', '[.]')}{path}", [("url", f"http://{host}{path}")]
        if choice == 2:
            name = self.handle_name().replace(".", "_")
            return f"https://t.me/{name}", [("url", f"https://t.me/{name}"), ("handle", f"telegram/{name.lower()}")]
        if choice == 3:
            address, label, _cc = self.ipv4()
            return f"http://{address}:8080{path}", [("url", f"http://{address}:8080{path}"), label]
        return f"www.{host}{path}", [("url", f"http://www.{host}{path}")]

    def url_mention(self) -> tuple[str, list[Label]]:
        """A URL as chat, mail and forum text writes it: inside brackets or quotes, before sentence
        punctuation, defanged, with a port, query and fragment, upper-cased, without a scheme."""
        host = self.pick(_EXAMPLE_DOMAINS)
        path = f"/{self.pick(('files', 'dl', 'share', 'p', 'view'))}/{self.rng.randbytes(4).hex()}"
        query = f"?{self.pick(('id', 'ref', 'page', 'b'))}={self.rng.randint(1, 999)}"
        roll = self.rng.randint(0, 8)
        if roll == 0:
            url = f"https://{host}{path}{query}"
            return f"(see {url}).", [("url", url)]
        if roll == 1:
            url = f"https://{host}{path}"
            return f"<{url}>", [("url", url)]
        if roll == 2:
            written = f"hxxps://{host.replace('.', '[.]')}{path}{query}"
            return written, [("url", f"https://{host}{path}{query}")]
        if roll == 3:
            port = self.pick((8080, 8443, 3000))
            url = f"https://{host}:{port}{path}{query}&lang=en"
            return f"{url}#{self.pick(('top', 'comments', 'p2'))}", [("url", url)]
        if roll == 4:
            return f"HTTPS://{host.upper()}{path}", [("url", f"https://{host}{path}")]
        if roll == 5:
            url = f"https://{host}{path}{query}"
            return f'{{"url": "{url}", "ok": true}}', [("url", url)]
        if roll == 6:
            name = self.handle_name().replace(".", "_")
            return f"t.me/{name}", [("url", f"http://t.me/{name}"), ("handle", f"telegram/{name.lower()}")]
        if roll == 7:
            return f"www.{host}{path}{query}, thanks", [("url", f"http://www.{host}{path}{query}")]
        return f'"https://{host}{path}"', [("url", f"https://{host}{path}")]

    def domain(self) -> tuple[str, Label]:
        host = self.pick(
            (
                "darkpost.example.org",
                "files.example.net",
                "mirror.example.de",
                "board.example.nl",
                "upload.example.com.br",
                "cdn.example.fr",
            )
        )
        return host, ("domain", host)

    def distractor(self) -> str:
        """A look-alike that is not an identifier."""
        rng = self.rng
        options: list[Callable[[], str]] = [
            lambda: f"version {rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 99)}",
            lambda: f"v{rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 20)}",
            lambda: f"md5 {rng.randbytes(16).hex()}",
            lambda: f"sha1 {rng.randbytes(20).hex()}",
            lambda: f"sha256 {rng.randbytes(32).hex()}",
            lambda: f"order #{rng.randint(10**9, 10**10)}",
            lambda: f"invoice INV-{rng.randint(2019, 2025)}-{rng.randint(100000, 999999)}",
            lambda: self.pick(
                (
                    "report.pdf",
                    "readme.md",
                    "setup.py",
                    "photo.jpg",
                    "notes.txt",
                    "clip.mov",
                    "backup.zip",
                    "run.sh",
                    "data.csv",
                )
            ),
            lambda: f"{rng.randint(2019, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            lambda: f"at {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}",
            lambda: f"SKU {rng.randint(400, 999)}-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
            lambda: f"ref {rng.randint(10**11, 10**12)}",
            lambda: f"call {rng.randint(200, 999)} {rng.randint(200, 999)} {rng.randint(1000, 9999)}",
            lambda: self._broken_wallet(),
            lambda: self._broken_iban(),
            lambda: f"build {rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(0, 99)}.{rng.randint(0, 999)}",
            lambda: "mac " + ":".join(f"{rng.randint(0, 255):02x}" for _ in range(6)),
            lambda: f"at {rng.randint(0, 23)}:{rng.randint(0, 59):02d} {self.pick(('AM', 'PM', 'UTC', ''))}".rstrip(),
        ]
        return self.pick(options)()

    def _broken_wallet(self) -> str:
        address, _label = self.wallet()
        position = self.rng.randint(5, len(address) - 2)
        replacement = "2" if address[position] != "2" else "3"
        return address[:position] + replacement + address[position + 1 :]

    def _broken_iban(self) -> str:
        _written, label = self.iban()
        compact = label[1].split(":", 1)[1]
        check = int(compact[2:4])
        return compact[:2] + f"{(check + 1) % 97 or 2:02d}" + compact[4:]


# --- documents --------------------------------------------------------------------------------------------


def _stamp(moment: datetime, style: int) -> str:
    if style == 0:
        return f"[{moment:%Y-%m-%d %H:%M:%S}]"
    if style == 1:
        return f"{moment:%d.%m.%Y %H:%M:%S}"
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}"


def _chat_log(values: _Values, lines: int) -> tuple[bytes, set[Label]]:
    labels: set[Label] = set()
    out = ["# chat export, all times UTC"]
    nicks = [values.handle_name().replace(".", "_") for _ in range(4)]
    style = values.rng.randint(0, 2)
    for _ in range(lines):
        words = " ".join(values.pick(CHAT_WORDS) for _ in range(values.rng.randint(3, 9)))
        roll = values.rng.random()
        extra = ""
        if roll < 0.08:
            text, label = values.handle()
            extra, labels = text, labels | {label}
        elif roll < 0.16:
            address, label, _cc = values.ipv4()
            extra = f"connected from {address}"
            labels.add(label)
        elif roll < 0.19:
            address, label = values.private_ip()
            extra = f"router at {address}"
            labels.add(label)
        elif roll < 0.21:
            address, label, _cc = values.ipv6()
            extra = f"v6 {address}"
            labels.add(label)
        elif roll < 0.28:
            text, label = values.phone(values.pick(COUNTRIES))
            extra = f"call {text}"
            labels.add(label)
        elif roll < 0.33:
            text, label = values.email(values.pick(COUNTRIES))
            extra = f"mail {text}"
            labels.add(label)
        elif roll < 0.37:
            text, label = values.wallet()
            extra = f"send to {text}"
            labels.add(label)
        elif roll < 0.41:
            text, found = values.url()
            extra = f"link {text}"
            labels.update(found)
        elif roll < 0.43:
            text, found = values.paypal()
            extra = text
            labels.update(found)
        elif roll < 0.45:
            text, label = values.iban()
            extra = f"IBAN {text}"
            labels.add(label)
        elif roll < 0.47:
            text, label = values.domain()
            extra = f"new board on {text}"
            labels.add(label)
        elif roll < 0.51:
            text, found = values.ipv6_mention()
            extra = values.pick((f"my ip {text}", f"inet6 {text}", f"blocked {text}"))
            labels.update(found)
        elif roll < 0.55:
            text, found = values.url_mention()
            extra = f"link {text}"
            labels.update(found)
        elif roll < 0.72:
            extra = values.distractor()
        line = f"{_stamp(values.tick(), style)} {values.pick(nicks)}: {words} {extra}".rstrip()
        out.append(line)
    return ("\n".join(out) + "\n").encode(), labels


def _customers(values: _Values, rows: int) -> tuple[list[list[str]], set[Label]]:
    """Rows of a customer list (header first) and its labels (usernames: found through the column hint)."""
    header = ["name", "email", "phone", "username", "ip", "wallet", "address", "country"]
    table = [header]
    labels: set[Label] = set()
    for _ in range(rows):
        country = values.pick(COUNTRIES)
        first, last = values.name()
        email, email_label = values.email(country)
        phone, phone_label = values.phone(country)
        username = values.handle_name()
        address, ip_label, _cc = values.ipv4(country)
        wallet, wallet_label = values.wallet()
        street = f"{values.rng.randint(1, 200)} {values.pick(_LAST)} Road"
        table.append([f"{first} {last}", email, phone, username, address, wallet, street, country])
        labels |= {email_label, phone_label, ("handle", f"unknown/{username.lower()}"), ip_label, wallet_label}
    return table, labels


def _csv_bytes(table: list[list[str]]) -> bytes:
    stream = io.StringIO()
    csv.writer(stream, lineterminator="\n").writerows(table)
    return stream.getvalue().encode()


def _fixed_zip(data: bytes) -> bytes:
    """Re-pack an Office zip with fixed entry times, so the same seed gives the same bytes."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2024, 1, 15, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time over ours
                content = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>2024-01-15T00:00:00Z", content)
            target.writestr(fixed, content)
    return out.getvalue()


def _xlsx_bytes(table: list[list[str]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "customers"
    for row in table:
        sheet.append(row)
    fixed = datetime(2024, 1, 15)
    book.properties.created = fixed
    book.properties.modified = fixed
    stream = io.BytesIO()
    book.save(stream)
    return _fixed_zip(stream.getvalue())


def _email_message(values: _Values, to_many: bool = False) -> tuple[str, set[Label]]:
    labels: set[Label] = set()
    sender, sender_label = values.email(values.pick(COUNTRIES))
    recipient, recipient_label = values.email(values.pick(COUNTRIES))
    labels |= {sender_label, recipient_label}
    relay_ip, relay_label, _cc = values.ipv4()
    origin_ip, origin_label, _cc2 = values.ipv4()
    v6, v6_label, _cc3 = values.ipv6()
    relay_v6, relay_v6_label, _cc4 = values.ipv6()
    labels |= {relay_label, origin_label, v6_label, relay_v6_label}
    relay_host, relay_host_label = "mx1.example.net", ("domain", "mx1.example.net")
    labels |= {relay_host_label, ("domain", "mx.example.com")}
    moment = values.tick()
    msgid = f"{values.rng.randbytes(6).hex()}@mail.example.org"
    labels.add(("domain", "mail.example.org"))
    first, last = values.name()
    body_lines = []
    for _ in range(3):
        roll = values.rng.random()
        if roll < 0.3:
            text, label = values.phone(values.pick(COUNTRIES))
            body_lines.append(f"You can reach me on {text}.")
            labels.add(label)
        elif roll < 0.5:
            text, found = values.url()
            body_lines.append(f"Files are at {text}")
            labels.update(found)
        elif roll < 0.6:
            text, label = values.handle()
            body_lines.append(f"Or {text}")
            labels.add(label)
        elif roll < 0.75:
            text, found = values.url_mention()
            body_lines.append(f"The new set is here {text}")
            labels.update(found)
        else:
            body_lines.append(f"See attachment {values.distractor()}.")
    headers = (
        f"Received: from {relay_host} ({relay_host} [{relay_ip}])\n"
        f"\tby mx.example.com with ESMTPS id {values.rng.randbytes(5).hex()};\n"
        f"\t{format_datetime(moment + timedelta(seconds=40))}\n"
        f"Received: from [{origin_ip}] (helo=localhost)\n\tby {relay_host}; {format_datetime(moment)}\n"
        f"Received: from [IPv6:{v6}] by localhost; {format_datetime(moment - timedelta(seconds=5))}\n"
        f"Received: from {relay_host} ({relay_host}. [{relay_v6}])\n"
        f"\tby mx.example.com with ESMTPS; {format_datetime(moment - timedelta(seconds=2))}\n"
        f"X-Originating-IP: [{v6}]\n"
        f"From: {first} {last} <{sender}>\n"
        f"To: {recipient}\n"
        f"Subject: the {values.pick(CHAT_WORDS)} {values.pick(CHAT_WORDS)}\n"
        f"Date: {format_datetime(moment)}\n"
        f"Message-ID: <{msgid}>\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
    )
    return headers + "\n" + "\n".join(body_lines) + "\n", labels


def _news_article(values: _Values) -> tuple[str, set[Label]]:
    labels: set[Label] = set()
    sender, sender_label = values.email(values.pick(COUNTRIES))
    posting_ip, posting_label, _cc = values.ipv4()
    labels |= {sender_label, posting_label, ("domain", "news.example.net"), ("domain", "feeder.example.org")}
    moment = values.tick()
    first, last = values.name()
    body, body_labels = [], set()
    for _ in range(2):
        if values.rng.random() < 0.5:
            text, found = values.url()
            body.append(f"new set at {text}")
            body_labels.update(found)
        else:
            text, label = values.wallet()
            body.append(f"donations: {text}")
            body_labels.add(label)
    labels |= body_labels
    article = (
        f"Path: news.example.net!feeder.example.org!not-for-mail\n"
        f"From: {first} {last} <{sender}>\n"
        f"Newsgroups: alt.test.synthetic\n"
        f"Subject: {values.pick(CHAT_WORDS)} {values.pick(CHAT_WORDS)}\n"
        f"Date: {format_datetime(moment)}\n"
        f"Message-ID: <{values.rng.randbytes(5).hex()}@news.example.net>\n"
        f"NNTP-Posting-Host: {posting_ip}\n"
        f"NNTP-Posting-Date: {format_datetime(moment)}\n"
        f"X-Trace: news.example.net {int(moment.timestamp())} {values.rng.randint(1000, 99999)} {posting_ip} "
        f"({moment:%d %b %Y %H:%M:%S} GMT)\n"
        "\n" + "\n".join(body) + "\n"
    )
    return article, labels


def _web_log(values: _Values, lines: int) -> tuple[bytes, set[Label]]:
    """A web server's access log (combined format; clients over IPv4 and IPv6, dual-stack mapped addresses,
    referrer URLs in quotes) with the Go server's TLS errors, which write ``[address]:port``."""
    labels: set[Label] = set()
    out = []
    for _ in range(lines):
        moment = values.tick()
        roll = values.rng.random()
        if roll < 0.45:
            _written, label, _cc = values.ipv6()
            client, found = label[1], [label]  # servers log the canonical form
        elif roll < 0.6:
            client, found = values.ipv6_mention()
        else:
            client, label, _cc = values.ipv4()
            found = [label]
        labels.update(found)
        if client.startswith("[") or values.rng.random() < 0.15:
            if not client.startswith("["):
                client = f"[{client}]:{values.rng.randint(1024, 65535)}"
            out.append(f"{moment:%Y/%m/%d %H:%M:%S} http: TLS handshake error from {client}: EOF")
            continue
        referrer = "-"
        if values.rng.random() < 0.4:
            host = values.pick(_EXAMPLE_DOMAINS)
            path = f"/{values.pick(('p', 'view', 'files'))}/{values.rng.randbytes(3).hex()}"
            referrer = f"https://{host}{path}?ref={values.rng.randint(1, 99)}"
            labels.add(("url", referrer))
        request = f"/{values.pick(('dl', 'share', 'files'))}/{values.rng.randbytes(4).hex()}"
        out.append(
            f'{client} - - [{moment:%d/%b/%Y:%H:%M:%S +0000}] "GET {request} HTTP/1.1" '
            f'{values.pick((200, 206, 304, 404))} {values.rng.randint(200, 90000)} "{referrer}" "Mozilla/5.0"'
        )
    return ("\n".join(out) + "\n").encode(), labels


def _document(values: _Values, paragraphs: int) -> tuple[list[str], set[Label]]:
    labels: set[Label] = set()
    out = []
    makers: list[Callable[[], tuple[str, list[Label]]]] = [
        lambda: (lambda t, lab: (f"Contact {t}.", [lab]))(*values.email(values.pick(COUNTRIES))),
        lambda: (lambda t, lab: (f"Phone {t}.", [lab]))(*values.phone(values.pick(COUNTRIES))),
        lambda: (lambda t, f: (f"Mirror: {t}", f))(*values.url()),
        lambda: (lambda t, lab: (f"Payment to {t}.", [lab]))(*values.iban()),
        lambda: (lambda t, lab: (f"Pay with {t}.", [lab]))(*values.card()),
        lambda: (lambda t, f: (f"Or {t}", f))(*values.paypal()),
        lambda: (lambda t, lab: (f"Wallet {t}", [lab]))(*values.wallet()),
        lambda: (lambda t, lab, _c: (f"Seen from {t} on 2024-01-16.", [lab]))(*values.ipv4()),
        lambda: (lambda t, lab: (f"Board: {t}", [lab]))(*values.domain()),
        lambda: (lambda t, lab: (f"Reach out: {t}", [lab]))(*values.handle()),
    ]
    for _ in range(paragraphs):
        sentence, found = values.pick(makers)()
        filler = " ".join(values.pick(CHAT_WORDS) for _ in range(values.rng.randint(6, 14)))
        out.append(f"{filler.capitalize()}, {values.distractor()}. {sentence}")
        labels.update(found)
    return out, labels


def _html(paragraphs: list[str], links: Sequence[str] = ()) -> bytes:
    import html

    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    body += "".join(f'\n<p><a href="{link}">mirror</a></p>' for link in links)
    return f"<!doctype html>\n<html><head><title>notes</title></head><body>\n{body}\n</body></html>\n".encode()


def _docx(paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    fixed = datetime(2024, 1, 15)
    document.core_properties.created = fixed
    document.core_properties.modified = fixed
    document.core_properties.last_printed = fixed
    stream = io.BytesIO()
    document.save(stream)
    return _fixed_zip(stream.getvalue())


def corpus(seed: int = 7, scale: int = 1) -> Corpus:
    """The labelled corpus: chat logs, customer lists (CSV, XLSX), e-mails (.eml, mbox), newsgroup
    articles, documents (text, HTML with links, DOCX) and a web server log. ``scale`` multiplies lines and rows."""
    values = _Values(random.Random(seed))
    result = Corpus()

    def add(name: str, data: bytes, labels: set[Label]) -> None:
        result.files[name] = data
        result.labels[name] = set(labels)

    for index in range(3):
        add(f"chat/log{index + 1}.txt", *_chat_log(values, 150 * scale))
    for index, suffix in enumerate(("csv", "xlsx")):
        table, labels = _customers(values, 60 * scale)
        add(f"customers/list{index + 1}.{suffix}", _csv_bytes(table) if suffix == "csv" else _xlsx_bytes(table), labels)
    for index in range(2 * scale):
        message, labels = _email_message(values)
        add(f"mail/message{index + 1}.eml", message.encode(), labels)
    mbox, mbox_labels = [], set()
    for _ in range(3 * scale):
        message, labels = _email_message(values)
        mbox.append(f"From MAILER-DAEMON {_EPOCH:%a %b %d %H:%M:%S %Y}\n{message}")
        mbox_labels |= labels
    add("mail/archive.mbox", "\n".join(mbox).encode(), mbox_labels)
    for index in range(2 * scale):
        article, labels = _news_article(values)
        add(f"news/article{index + 1}.txt", article.encode(), labels)
    paragraphs, labels = _document(values, 20 * scale)
    add("docs/notes.txt", "\n\n".join(paragraphs).encode(), labels)
    paragraphs, labels = _document(values, 20 * scale)
    links = []
    for _ in range(3 * scale):
        text, found = values.url()
        if text.startswith(("http", "www")):  # an href holds a working link, not a defanged one
            links.append(text if not text.startswith("www") else f"http://{text}")
            labels.update(found)
    add("docs/page.html", _html(paragraphs, links), labels)
    add("logs/access.log", *_web_log(values, 60 * scale))
    paragraphs, labels = _document(values, 20 * scale)
    add("docs/memo.docx", _docx(paragraphs), labels)
    return result


def demo_files(seed: int = 11) -> dict[str, bytes]:
    """Benign synthetic intel material for ``make demo``: a customer list, a chat log, an e-mail and a
    newsgroup article, with identifiers planted in several countries."""
    values = _Values(random.Random(seed))
    table, _labels = _customers(values, 12)
    chat, _ = _chat_log(values, 40)
    message, _ = _email_message(values)
    article, _ = _news_article(values)
    return {
        "intel/customers.csv": _csv_bytes(table),
        "intel/chat.log": chat,
        "intel/message.eml": message.encode(),
        "intel/article.txt": article.encode(),
    }
