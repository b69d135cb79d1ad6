"""E-mail addresses, validated by ``email-validator`` (syntax only: never DNS).

Defanged forms (``name[at]example[.]com``, ``name (at) example.com``) are re-fanged. A Message-ID
(``<id@host>`` in ``Message-ID``/``References``/``In-Reply-To``/``Supersedes`` headers, or a reader's hint
naming such a field) is not a mailbox: it yields its host as a domain. Normalized: ``local@domain``
lower-cased, IDNA domain.
"""

from __future__ import annotations

import functools
import re

import email_validator

from haven.intel.types import Found

from . import urls
from ._scan import Scan

AT = r"(?:@|\[@\]|\[at\]|\(at\)|\s\[at\]\s|\s\(at\)\s)"
PATTERN = rf"(?<![\w.+%'/=-])[\w.+%'=-]{{1,64}}{AT}{urls.HOST}"
AT_SPLIT = re.compile(AT)
_MESSAGE_ID_FIELDS = frozenset(
    {"message-id", "references", "in-reply-to", "supersedes", "content-id", "x-message-id", "resent-message-id"}
)
_MESSAGE_ID_LINE = re.compile(
    r"(?:message-id|references|in-reply-to|supersedes|content-id|x-message-id|"
    r"resent-message-id)\s*:|\s+<",
    re.I,
)


def _message_id(scan: Scan, start: int) -> bool:
    if scan.hint.field and scan.hint.field.lower() in _MESSAGE_ID_FIELDS:
        return True
    if start == 0 or scan.text[start - 1] != "<":
        return False
    return bool(_MESSAGE_ID_LINE.match(scan.text, scan.line_start(start)))


# RFC 5322 dot-atom of ASCII characters: what email-validator accepts for an ASCII local part without
# quoting. Checked here first because the library costs ~100 µs an address (a customer list has 100k).
_ASCII_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


@functools.lru_cache(maxsize=1 << 16)
def normalize(address: str) -> str | None:
    """``local@domain`` lower-cased (IDNA domain), or None when not an address."""
    local, _, domain = address.rpartition("@")
    host = urls.normalize_host(domain)
    if not local or host is None or len(local) > 64:
        return None
    if _ASCII_LOCAL.fullmatch(local):
        return f"{local.lower()}@{host}"
    try:
        # Special-use names (.onion, .local) are refused by the validator but are real mailboxes in
        # seized material: the host was checked above, so only the local part is validated here.
        checked = email_validator.validate_email(f"{local}@example.com", check_deliverability=False)
    except email_validator.EmailNotValidError:
        return None
    return f"{checked.local_part.lower()}@{host}"


def found(scan: Scan, start: int, end: int) -> list[Found]:
    written = scan.text[start:end]
    raw_local, domain = AT_SPLIT.split(written, maxsplit=1)
    local = raw_local.lstrip("'=-.")
    start += len(raw_local) - len(local)
    written = scan.text[start:end]
    if _message_id(scan, start):
        domain_start = end - len(domain)
        hit = urls.domain_found(domain, domain_start)
        return [hit] if hit is not None else []
    normalized = normalize(f"{local}@{urls.refang(domain)}")
    if normalized is None:
        return []
    return [Found("email", written, normalized, start, end, {})]
