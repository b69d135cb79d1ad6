"""The comparison columns of one structured record, for fuzzy record linkage.

E-mail, phone and username come from the identifiers the extraction found in the record (already
validated and normalized: an E.164 phone, a lower-cased e-mail); name, address and postcode come from
the record's own fields, recognised by their column names (customer lists name them in many ways).
Every string is folded (accents stripped, lower case, punctuation to spaces) so spelling noise does not
count as a difference.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from email.utils import parseaddr
from functools import lru_cache
from typing import Any

NAME_KEYS = frozenset(
    {
        "name", "fullname", "customer", "customername", "realname", "displayname", "contactname", "accountholder",
        "holder", "cardholder", "cardholdername", "nameoncard", "billingname", "shippingname", "buyer", "buyername",
        "payername", "sendername", "recipientname",
    }
)  # fmt: skip
FIRST_NAME_KEYS = frozenset({"firstname", "givenname", "forename", "first", "fname"})
LAST_NAME_KEYS = frozenset({"lastname", "surname", "familyname", "last", "lname"})
ADDRESS_WORDS = ("address", "street", "addr", "city", "town", "county", "state", "province")
"""In the order an address is written: fields are stored as canonical (key-sorted) JSON, so the parts are
put back in this order (street before city) whatever the columns were called."""
NOT_ADDRESS_WORDS = ("email", "mail", "ip", "mac", "wallet", "btc", "eth", "web", "url")
POSTCODE_KEYS = frozenset({"zip", "zipcode", "postcode", "postalcode", "postal", "plz", "cp"})
SENDER_HEADERS = frozenset({"from", "sender", "replyto"})
"""E-mail header blocks: the display name of these fields is the sender's name."""

_NON_WORD = re.compile(r"[^0-9a-z]+")
_HOUSE = re.compile(r"\b\d+[a-z]?\b")


def fold(text: str) -> str:
    """Lower case, accents stripped, anything but letters and digits to single spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return _NON_WORD.sub(" ", plain).strip()


@lru_cache(maxsize=4096)
def column_key(column: str) -> str:
    """A column name as a lookup key: "E-Mail Address" -> "emailaddress" (names repeat: cached)."""
    return _NON_WORD.sub("", fold(column))


@dataclass(frozen=True, slots=True)
class RecordFeatures:
    """One row of the linkage table; None: the record says nothing about it (splink's null level)."""

    unique_id: int
    case_id: int
    in_case: int  # 1: a record of the case being linked; 0: another case's (a lead, never a link)
    email: str | None = None
    email_local: str | None = None
    username: str | None = None
    name: str | None = None
    name_key: str | None = None
    phone: str | None = None
    phone_tail: str | None = None
    address: str | None = None
    house: str | None = None  # the address's first number: "12" of "12 high street"
    postcode: str | None = None

    def useful(self) -> bool:
        return any((self.email_local, self.username, self.name, self.phone, self.address))

    def row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}  # asdict() deep-copies: 10x slower


def email_local(email: str) -> str:
    """The mailbox part without a ``+tag`` and without dots: j.smith+shop@x and jsmith@y compare alike."""
    local = email.split("@", 1)[0].split("+", 1)[0]
    return local.replace(".", "").lower()


def name_key(name: str) -> str | None:
    """Blocking key: last word and first initial ("jonathan smith" and "jon smith" meet)."""
    words = name.split()
    if len(words) < 2:
        return words[0] if words else None
    return f"{words[-1]} {words[0][0]}"


def _name_from_fields(fields: dict[str, str]) -> str | None:
    first = last = None
    for column, value in fields.items():
        key = column_key(column)
        if key in NAME_KEYS:
            if "," in value:  # "Smith, Jonathan"
                surname, _, given = value.partition(",")
                value = f"{given} {surname}"
            return fold(value) or None
        if key in FIRST_NAME_KEYS:
            first = value
        elif key in LAST_NAME_KEYS:
            last = value
        elif key in SENDER_HEADERS:
            display, _address = parseaddr(value)
            if display:
                return fold(display) or None
    joined = fold(" ".join(v for v in (first, last) if v))
    return joined or None


def _address_from_fields(fields: dict[str, str]) -> tuple[str | None, str | None]:
    parts: list[tuple[int, str, str]] = []
    postcode = None
    for column, value in fields.items():
        key = column_key(column)
        if key in POSTCODE_KEYS:
            postcode = _NON_WORD.sub("", fold(value)) or None
            continue
        if any(word in key for word in NOT_ADDRESS_WORDS):
            continue
        rank = next((n for n, word in enumerate(ADDRESS_WORDS) if word in key), None)
        if rank is not None:
            parts.append((rank, key, value))
    address = fold(" ".join(value for _, _, value in sorted(parts)))
    return (address or None), postcode


def _house(address: str | None) -> str | None:
    found = _HOUSE.search(address) if address else None
    return found.group() if found else None


def features(
    record_id: int, case_id: int, in_case: bool, fields: dict[str, Any], identifiers: list[tuple[str, str]]
) -> RecordFeatures:
    """Features of one record from its fields and its identifiers ``[(type, normalized)]``.

    A record holding two e-mail addresses (or phones, handles) contributes the first in sorted order, so
    the table is the same on every run.
    """
    text_fields = {str(k): str(v) for k, v in fields.items() if v is not None and str(v).strip()}
    by_type: dict[str, str] = {}
    for kind, normalized in sorted(identifiers):
        by_type.setdefault(kind, normalized)
    email = by_type.get("email")
    phone = by_type.get("phone")
    handle = by_type.get("handle")
    digits = re.sub(r"\D", "", phone) if phone else ""
    name = _name_from_fields(text_fields)
    address, postcode = _address_from_fields(text_fields)
    return RecordFeatures(
        unique_id=record_id,
        case_id=case_id,
        in_case=1 if in_case else 0,
        email=email,
        email_local=email_local(email) if email else None,
        username=handle.split("/", 1)[-1] if handle else None,
        name=name,
        name_key=name_key(name) if name else None,
        phone=digits or None,
        phone_tail=digits[-7:] if len(digits) >= 7 else None,
        address=address,
        house=_house(address),
        postcode=postcode,
    )
