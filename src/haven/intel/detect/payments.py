"""Payment account references: IBAN (mod-97), PayPal, and card numbers (Luhn, only beside card words).

IBAN: ``schwifty`` validates country, length, mod-97 and the national BBAN format; groups of four may be
spaced. PayPal: ``paypal: name-or-email`` here, ``paypal.me/name`` links in ``urls``. A card number
(13-19 digits, Luhn-valid) counts only after a card word ("card", "visa", "mastercard", "amex", "cc" ...):
a bare long number is far more often an order or account number. Normalized ``iban:<COMPACT>``,
``paypal:<name or e-mail, lower-case>``, ``card:<digits>``; ``detail``: ``scheme``, ``country`` (IBAN),
``kind`` (card brand).
"""

from __future__ import annotations

import re

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from haven.intel.types import Found

from . import emails, urls
from ._scan import Scan

IBAN_PATTERN = r"(?<![\w])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?(?![\w])"
CARD_PATTERN = (
    r"(?<![\w@./-])(?i:card(?:\s?(?:no|nr|number|num))?|visa|master\s?card|mc|amex|american express|"
    r"discover|maestro|cc|credit\s?card|debit\s?card|pan)\.?\s*[:#=]?\s*(?:\w+\s*[:#=]?\s*){0,2}"
    r"\d(?:[ -]?\d){12,18}(?![\w]|[.-]\d)"
)
CARD_GUARD = r"(?=[cCvVmMaAdDpP])(?=(?i:card|visa|master|mc|amex|american|discover|maestro|cc|credit|debit|pan)\b)"
PAYPAL_PATTERN = (
    r"(?<![\w@./-])(?i:paypal)(?i:\s?(?:account|acct|id|email|e-mail|user(?:name)?))?\s*[:=]\s*"
    rf"[\w.+%'-]{{1,64}}(?:{emails.AT}{urls.HOST})?(?<![.-])(?![\w/@\[(])"
)
_CARD_DIGITS = re.compile(r"\d(?:[ -]?\d){12,18}$")
_PAYPAL_VALUE = re.compile(r"[:=]\s*")


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card_kind(digits: str) -> str:
    if digits[0] == "4":
        return "visa"
    if digits[:2] in ("34", "37"):
        return "amex"
    if 51 <= int(digits[:2]) <= 55 or 2221 <= int(digits[:4]) <= 2720:
        return "mastercard"
    if digits.startswith(("6011", "65")) or 644 <= int(digits[:3]) <= 649:
        return "discover"
    if 3528 <= int(digits[:4]) <= 3589:
        return "jcb"
    return "unknown"


def iban(compact: str) -> IBAN | None:
    try:
        return IBAN(compact)
    except SchwiftyException:
        return None


def found_iban(scan: Scan, start: int, end: int) -> list[Found]:
    written = scan.text[start:end]
    # The pattern may run on into a following word of four capitals ("… 00 THEN"): shorten by groups.
    while len(written.replace(" ", "")) >= 15:
        account = iban(written.replace(" ", ""))
        if account is not None:
            compact = str(account.compact)
            detail = {"scheme": "iban", "country": account.country_code}
            return [Found("payment", written, f"iban:{compact}", start, start + len(written), detail)]
        if " " not in written:
            break
        written = written[: written.rfind(" ")]
    return []


def found_card(scan: Scan, start: int, end: int) -> list[Found]:
    number = _CARD_DIGITS.search(scan.text, start, end)
    if number is None:
        return []
    digits = re.sub(r"[ -]", "", number.group())
    if not 13 <= len(digits) <= 19 or not luhn_valid(digits) or len(set(digits)) < 2:
        return []
    detail = {"scheme": "card", "kind": _card_kind(digits)}
    return [Found("payment", number.group(), f"card:{digits}", number.start(), end, detail)]


def found_paypal(scan: Scan, start: int, end: int) -> list[Found]:
    label = _PAYPAL_VALUE.search(scan.text, start, end)
    if label is None:
        return []
    value_start = label.end()
    value = scan.text[value_start:end]
    results: list[Found] = []
    local_and_domain = emails.AT_SPLIT.split(value, maxsplit=1)
    if len(local_and_domain) == 2:
        address = emails.normalize(f"{local_and_domain[0]}@{urls.refang(local_and_domain[1])}")
        if address is None:
            return []
        results.append(Found("email", value, address, value_start, end, {}))
        reference = address
    else:
        reference = value.lower()
    results.append(Found("payment", value, f"paypal:{reference}", value_start, end, {"scheme": "paypal"}))
    return results
