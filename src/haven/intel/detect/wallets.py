"""Crypto-currency addresses, checksum-validated: BTC (legacy, P2SH, bech32/bech32m), ETH, XMR.

BTC legacy/P2SH/bech32 v0 and ETH are checked by ``coinaddrvalidator`` (ETH: EIP-55 checksum when
the address is written in mixed case). Taproot (bech32m, BIP-350) and Monero (keccak checksum over
Monero's block base58; ``coinaddrvalidator`` checks only the alphabet and length there) are checked here.
Normalized ``btc:<address>`` (bech32 lower-cased), ``eth:0x<lower-case>``, ``xmr:<address>``;
``detail``: ``chain`` and ``kind`` (p2pkh, p2sh, bech32, taproot, eth, standard, integrated, subaddress).
"""

from __future__ import annotations

import coinaddrvalidator
from Crypto.Hash import keccak

from haven.intel.types import Found

from ._scan import Scan

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_CLASS = "[1-9A-HJ-NP-Za-km-z]"
BTC_PATTERN = rf"(?<![\w])[13]{_B58_CLASS}{{25,34}}(?![\w])"
BECH32_PATTERN = r"(?<![\w])(?:bc1|BC1)[02-9ac-hj-np-zAC-HJ-NP-Z]{11,87}(?![\w])"
ETH_PATTERN = r"(?<![\w])0x[0-9a-fA-F]{40}(?![\w])"
XMR_PATTERN = rf"(?<![\w])[48]{_B58_CLASS}{{94}}(?:{_B58_CLASS}{{11}})?(?![\w])"

_BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32M_CONST = 0x2BC830A3


def bech32_polymod(values: list[int]) -> int:
    """BIP-173 checksum state over 5-bit values (also used by the synthetic corpus to write addresses)."""
    generator = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            check ^= generator[i] if (top >> i) & 1 else 0
    return check


def _bech32_kind(address: str) -> str | None:
    """'bech32' (witness v0, BIP-173) or 'taproot' (v1+, bech32m BIP-350) when the checksum holds."""
    hrp, _, data = address.rpartition("1")
    if hrp != "bc" or len(data) < 7:
        return None
    values = [_BECH32_CHARSET.find(c) for c in data]
    if -1 in values:
        return None
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    constant = bech32_polymod(expanded + values)
    version = values[0]
    if version == 0 and constant == 1:
        return "bech32" if len(address) in (42, 62) else None
    if version > 0 and constant == _BECH32M_CONST:
        return "taproot"
    return None


def _monero_decode(address: str) -> bytes | None:
    """Monero base58: 8-byte blocks written as 11 characters, the last block shorter."""
    sizes = {0: 0, 2: 1, 3: 2, 5: 3, 6: 4, 7: 5, 9: 6, 10: 7, 11: 8}
    out = bytearray()
    for begin in range(0, len(address), 11):
        block = address[begin : begin + 11]
        size = sizes.get(len(block))
        if size is None:
            return None
        number = 0
        for char in block:
            number = number * 58 + _B58.index(char)
        if number >> (8 * size):
            return None
        out += number.to_bytes(size, "big")
    return bytes(out)


def _monero_kind(address: str) -> str | None:
    raw = _monero_decode(address)
    if raw is None or len(raw) not in (69, 77):
        return None
    digest = keccak.new(digest_bits=256, data=raw[:-4]).digest()
    if digest[:4] != raw[-4:]:
        return None
    return {18: "standard", 19: "integrated", 42: "subaddress"}.get(raw[0])


def _valid(ticker: str, address: str) -> bool:
    try:
        return bool(coinaddrvalidator.validate(ticker, address.encode("ascii")).valid)
    except Exception:  # the library raises assorted errors on garbage input; garbage is simply not valid
        return False


def found_btc(scan: Scan, start: int, end: int) -> list[Found]:
    written = scan.text[start:end]
    if not _valid("btc", written):
        return []
    kind = "p2pkh" if written[0] == "1" else "p2sh"
    return [Found("wallet", written, f"btc:{written}", start, end, {"chain": "btc", "kind": kind})]


def found_bech32(scan: Scan, start: int, end: int) -> list[Found]:
    written = scan.text[start:end]
    if written != written.lower() and written != written.upper():
        return []  # BIP-173: mixed case is invalid
    address = written.lower()
    kind = _bech32_kind(address)
    if kind is None or (kind == "bech32" and not _valid("btc", address)):
        return []
    return [Found("wallet", written, f"btc:{address}", start, end, {"chain": "btc", "kind": kind})]


def found_eth(scan: Scan, start: int, end: int) -> list[Found]:
    written = scan.text[start:end]
    body = written[2:]
    if body.isdigit() or not _valid("eth", written if body != body.upper() else "0x" + body.lower()):
        return []
    return [Found("wallet", written, f"eth:0x{body.lower()}", start, end, {"chain": "eth", "kind": "eth"})]


def found_xmr(scan: Scan, start: int, end: int) -> list[Found]:
    written = scan.text[start:end]
    kind = _monero_kind(written)
    if kind is None:
        return []
    return [Found("wallet", written, f"xmr:{written}", start, end, {"chain": "xmr", "kind": kind})]
