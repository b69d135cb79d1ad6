"""Phone numbers, found and validated by ``phonenumbers`` (PhoneNumberMatcher, leniency VALID).

Without ``hint.region`` only international numbers count (``+44 …``, ``0044 …``); with it, national
numbers of that region too. The combined scan has already taken dates, times, IPs, version numbers and
hex digests as tokens of their own, so they never reach here; a number right after "order", "invoice",
"ref", "SKU", "serial", "tracking", "#" ... is an order or product number, not a phone. Normalized E.164;
``detail["region"]`` is the number's region, ``detail["platform"]`` a messenger named just before it.
"""

from __future__ import annotations

import functools
import re

import phonenumbers
from phonenumbers import Leniency, PhoneNumberFormat, PhoneNumberMatcher

from haven.intel.types import Found

from ._scan import Scan

_SEP = r"[ \u00a0.\-/]{0,2}"
INTERNATIONAL_PATTERN = (
    rf"(?<![\w+.\-/#])(?:\+|(?<!\d)00)\s?\(?\d{{1,4}}\)?(?:{_SEP}\(?\d{{1,6}}\)?){{1,7}}(?![\w]|[.\-/]\d)"
)
NATIONAL_PATTERN = rf"(?<![\w+.\-/#])\(?\d{{2,5}}\)?(?:{_SEP}\(?\d{{2,6}}\)?){{1,5}}(?![\w]|[.\-/]\d)"

_NOT_A_PHONE_BEFORE = re.compile(
    r"(?i)(?:\b(?:order|invoice|inv|ref|reference|sku|item|product|article|art|serial|s/n|sn|tracking|ticket|"
    r"isbn|ean|upc|model|part|batch|lot|receipt|transaction|txn|code|po)\b\.?\s*(?:no\.?|nr\.?|number|num|id|code)?"
    r"\s*[:#=]?\s*|#\s*|\bno\.\s*|\bnr\.\s*)$"
)
_MESSENGER_BEFORE = re.compile(r"(?i)\b(whatsapp|signal|telegram|viber|wechat|threema|sms|imessage)\b")


def found(scan: Scan, start: int, end: int) -> list[Found]:
    if _NOT_A_PHONE_BEFORE.search(scan.before(start, 32)):
        return []
    written = scan.text[start:end]
    region = scan.hint.region.upper() if scan.hint.region else None
    # "00" is the international prefix in most of the world: read it as "+" (same length, offsets kept).
    candidate = " +" + written[2:] if written.startswith("00") else written
    if not candidate.lstrip().startswith("+") and (region is None or not _national_form(candidate, region)):
        return []
    results: list[Found] = []
    for match_start, match_end, e164, number_region in _numbers(candidate, region):
        detail: dict[str, object] = {"region": number_region}
        messenger = _MESSENGER_BEFORE.search(scan.before(start, 40))
        if messenger is not None:
            detail["platform"] = messenger.group(1).lower()
        begin = start + match_start
        if written.startswith("00") and match_start == 1:
            begin = start  # the "00" the matcher saw as " +"
        results.append(Found("phone", scan.text[begin : start + match_end], e164, begin, start + match_end, detail))
    return results


def _national_form(candidate: str, region: str) -> bool:
    """A national number is written with the region's trunk prefix ("0" in most of Europe, Australia, India…):
    ``20240115`` is a date or a code, ``020 7946 0958`` a London number. North American numbers are written
    without their "1"."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        return False
    prefix = metadata.national_prefix
    if not prefix or metadata.country_code == 1:
        return True
    return candidate.lstrip("( ").startswith(prefix)


@functools.lru_cache(maxsize=1 << 14)
def _numbers(candidate: str, region: str | None) -> tuple[tuple[int, int, str, str | None], ...]:
    """(start, end, E.164, region) of each valid number in a candidate (numbers repeat in logs: cached)."""
    return tuple(
        (
            match.start,
            match.end,
            phonenumbers.format_number(match.number, PhoneNumberFormat.E164),
            phonenumbers.region_code_for_number(match.number),
        )
        for match in PhoneNumberMatcher(candidate, region, leniency=Leniency.VALID)
    )
