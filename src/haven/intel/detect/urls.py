"""URLs (with a scheme, ``www.``, or a bare registrable host followed by a path) and bare domain names.

A host must end in a real public suffix (``tldextract`` with its bundled Public Suffix List snapshot,
never fetched). Bare names whose suffix is also a common file extension (``readme.md``, ``setup.py``,
``clip.mov``, ``files.zip``) count only with a scheme or ``www.``; ``file.txt``, ``photo.jpg``, ``v1.2.3``
have no public suffix at all. Defanged forms (``hxxp://``, ``[.]``, ``(.)``, ``[dot]``, ``[:]//``) are
re-fanged. A URL also yields the IP of an IP-literal host, the handle of a profile link (``t.me/name``,
``instagram.com/name`` ...), the PayPal reference of ``paypal.me/name`` and the phone of ``wa.me/<number>``.
Normalized URL: scheme and host lower-cased (IDNA), default port and fragment dropped, ``http://`` for a
URL written without a scheme. Normalized domain: the whole host name, lower-cased, IDNA, no trailing dot
(its registrable part is ``detail["registered"]``).
"""

from __future__ import annotations

import contextlib
import functools
import re
from urllib.parse import urlsplit, urlunsplit

import phonenumbers
import tldextract

from haven.intel.types import Found

from . import ips
from ._scan import Scan, word_alternation

_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def _top_level_domains() -> list[str]:
    """Every top-level label of the bundled Public Suffix List (ASCII, punycode and Unicode forms)."""
    labels = {suffix.rsplit(".", 1)[-1].lstrip("!*") for suffix in _EXTRACTOR.tlds}
    for label in list(labels):
        if label.startswith("xn--"):
            with contextlib.suppress(UnicodeError):
                labels.add(label.encode("ascii").decode("idna"))
    return sorted(label for label in labels if label)


DOT = r"(?:\.|\[\.\]|\(\.\)|\[dot\])"
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
# The last label must be a real top-level domain (a trie of the list: "report.pdf" fails inside the scan).
TLD = word_alternation(_top_level_domains())
HOST = rf"(?:{_LABEL}{DOT})+{TLD}(?![\w-]|{DOT}[^\W_])"
URL_PATTERN = (
    r"(?<![\w])(?i:(?:h(?:xx|XX|\[xx\]|tt)ps?|ftps?|fxps?)(?::\/\/|\[:\]\/\/|\[:\/\/\])|www(?:\.|\[\.\]))"
    r"[^\s<>\"'`{}|\\^]+"
)
DOMAIN_PATTERN = rf"(?<![\w@.\-/:]){HOST}(?:/[^\s<>\"'`{{}}|\\^]*)?"

# Public suffixes that are also file extensions people write: a bare ``name.md`` is a file, not a host.
FILE_LIKE_SUFFIXES = frozenset({"zip", "mov", "py", "sh", "md", "rs", "ps", "pm", "ai", "so", "cs", "app", "exe"})
_REFANG = re.compile(r"\[\.\]|\(\.\)|\[dot\]|\[:\]|\[://\]", re.I)
_TRAILING = ".,;:!?'\")]}>*"
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21}
_SCHEMES = {"hxxp": "http", "hxxps": "https", "h[xx]p": "http", "h[xx]ps": "https", "fxp": "ftp", "fxps": "ftps"}

# Profile links: host -> (platform, path segments that are site pages, not user names).
_PROFILES: dict[str, tuple[str, frozenset[str]]] = {
    "t.me": ("telegram", frozenset({"joinchat", "s", "c", "share", "addstickers", "proxy", "iv", "addlist"})),
    "telegram.me": ("telegram", frozenset({"joinchat", "s", "c", "share"})),
    "telegram.dog": ("telegram", frozenset({"joinchat", "s", "c", "share"})),
    "kik.me": ("kik", frozenset()),
    "instagram.com": ("instagram", frozenset({"p", "reel", "reels", "explore", "stories", "accounts", "tv"})),
    "twitter.com": ("twitter", frozenset({"i", "home", "search", "intent", "share", "hashtag", "settings"})),
    "x.com": ("twitter", frozenset({"i", "home", "search", "intent", "share", "hashtag", "settings"})),
    "tiktok.com": ("tiktok", frozenset({"tag", "music", "discover", "video"})),
    "facebook.com": ("facebook", frozenset({"profile.php", "pages", "groups", "events", "sharer", "watch"})),
    "reddit.com": ("reddit", frozenset()),
    "snapchat.com": ("snapchat", frozenset()),
    "github.com": ("github", frozenset({"orgs", "topics", "features", "about"})),
}
_HANDLE_NAME = re.compile(r"@?[A-Za-z0-9_][\w.\-]{1,63}")


@functools.lru_cache(maxsize=1 << 16)
def _extract(host: str) -> tldextract.tldextract.ExtractResult:
    return _EXTRACTOR(host)


def refang(text: str) -> str:
    return _REFANG.sub(lambda m: "://" if "/" in m.group() else (":" if ":" in m.group() else "."), text)


def normalize_host(host: str) -> str | None:
    """Lower-case IDNA host with a public suffix, or None."""
    host = refang(host).rstrip(".").lower()
    if not host:
        return None
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    parts = _extract(ascii_host)
    if not parts.suffix or not parts.domain:
        return None
    return ascii_host


def _trim(written: str) -> str:
    """Drop sentence punctuation a URL does not end with (a closing bracket stays when one was opened)."""
    while written and written[-1] in _TRAILING:
        last = written[-1]
        if last == ")" and written.count("(") >= written.count(")"):
            break
        if last == "]" and written.count("[") >= written.count("]"):
            break
        written = written[:-1]
    return written


def _host_of_written(written: str) -> tuple[int, int]:
    """(start, end) of the host inside a written URL (after the scheme and any user info)."""
    begin = written.find("//")
    begin = 0 if begin < 0 or begin > 12 else begin + 2
    if written[begin : begin + 3] == "[:]":
        begin += 3
    end = begin
    while end < len(written) and written[end] not in "/?#":
        end += 1
    authority = written[begin:end]
    if "@" in authority:
        begin += authority.rfind("@") + 1
        authority = written[begin:end]
    if authority.startswith("["):
        close = authority.find("]")
        return begin, begin + (close + 1 if close > 0 else len(authority))
    colon = authority.rfind(":")
    return begin, begin + (colon if colon > 0 and authority[colon + 1 :].isdigit() else len(authority))


def normalize_url(written: str) -> tuple[str, str] | None:
    """(normalized URL, host as written) or None when the host is not a host."""
    fanged = refang(written)
    lowered = fanged.lower()
    if lowered.startswith("www.") or "://" not in lowered[:12]:
        fanged = "http://" + fanged
    try:
        parts = urlsplit(fanged)
        port = parts.port
    except ValueError:
        return None
    scheme = _SCHEMES.get(parts.scheme.lower(), parts.scheme.lower())
    host = parts.hostname or ""
    ip = ips.parse_host(host)
    if ip is not None:
        netloc_host = f"[{ip[1]}]" if ip[0] == "ipv6" else ip[1]
    else:
        normalized_host = normalize_host(host)
        if normalized_host is None:
            return None
        netloc_host = normalized_host
    netloc = netloc_host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{netloc_host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, "")), host


def _profile(host: str, path: str) -> tuple[str, str] | None:
    """(platform, user name) of a profile link."""
    host = host[4:] if host.startswith("www.") else host
    host = host[2:] if host.startswith(("m.", "mobile.")) and host[2:] in _PROFILES else host
    entry = _PROFILES.get(host)
    segments = [s for s in path.split("/") if s]
    if entry is None or not segments:
        return None
    platform, pages = entry
    name = segments[0]
    if (platform == "reddit" and len(segments) > 1 and name in ("u", "user")) or (
        platform == "snapchat" and len(segments) > 1 and name == "add"
    ):
        name = segments[1]
    elif platform in ("reddit", "snapchat"):
        return None
    if name.lower() in pages or name.startswith("+") or not _HANDLE_NAME.fullmatch(name):
        return None
    if platform == "tiktok" and not name.startswith("@"):
        return None
    return platform, name.lstrip("@").lower()


def _extras(url: str, host_norm: str, start: int, end: int) -> list[Found]:
    """Handle, PayPal reference or phone a profile/payment link names."""
    parts = urlsplit(url)
    host = host_norm[4:] if host_norm.startswith("www.") else host_norm
    segments = [s for s in parts.path.split("/") if s]
    if host in ("paypal.me", "paypal.com") and segments:
        name = segments[1] if host == "paypal.com" and len(segments) > 1 and segments[0] == "paypalme" else segments[0]
        if host == "paypal.me" or segments[0] == "paypalme":
            return [Found("payment", name, f"paypal:{name.lower()}", start, end, {"scheme": "paypal"})]
        return []
    if host in ("wa.me", "api.whatsapp.com") and segments and segments[0].isdigit():
        try:
            number = phonenumbers.parse("+" + segments[0], None)
        except phonenumbers.NumberParseException:
            return []
        if phonenumbers.is_valid_number(number):
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            region = phonenumbers.region_code_for_number(number)
            return [Found("phone", segments[0], e164, start, end, {"region": region, "platform": "whatsapp"})]
        return []
    profile = _profile(host, parts.path)
    if profile is None:
        return []
    platform, name = profile
    return [Found("handle", name, f"{platform}/{name}", start, end, {"platform": platform})]


def _url_found(scan: Scan, start: int, written: str, with_scheme: bool) -> list[Found]:
    end = start + len(written)
    normalized = normalize_url(written)
    if normalized is None:
        return []
    url, host = normalized
    found = [Found("url", written, url, start, end, {})]
    host_start, host_end = _host_of_written(written)
    ip = ips.parse_host(host)
    if ip is not None:
        kind, address, detail = ip
        begin = start + host_start + (1 if written[host_start : host_start + 1] == "[" else 0)
        stop = start + host_end - (1 if written[host_end - 1 : host_end] == "]" else 0)
        found.append(Found(kind, scan.text[begin:stop], address, begin, stop, dict(detail)))
        return found
    host_norm = urlsplit(url).hostname or ""
    if not with_scheme and _extract(host_norm).suffix in FILE_LIKE_SUFFIXES:
        return []
    found.extend(_extras(url, host_norm, start, end))
    return found


def found_url(scan: Scan, start: int, end: int) -> list[Found]:
    written = _trim(scan.text[start:end])
    return _url_found(scan, start, written, with_scheme=True)


def found_domain(scan: Scan, start: int, end: int) -> list[Found]:
    """A bare host, or a bare host with a path (then a URL)."""
    written = _trim(scan.text[start:end])
    slash = written.find("/")
    host_written = written if slash < 0 else written[:slash]
    tld = refang(host_written).rsplit(".", 1)[-1]
    if not (tld.islower() or tld.isupper()):
        return []  # "now.Then": a missing space, not a host
    if slash >= 0 and len(written) > slash + 1:
        return _url_found(scan, start, written, with_scheme=False)
    host = normalize_host(host_written)
    if host is None:
        return []
    parts = _extract(host)
    if parts.suffix in FILE_LIKE_SUFFIXES and not host.startswith("www."):
        return []
    stop = start + len(host_written)
    return [Found("domain", host_written, host, start, stop, {"registered": f"{parts.domain}.{parts.suffix}"})]


def domain_found(written: str, start: int) -> Found | None:
    """A domain written inside something else (a Message-ID's right side)."""
    host = normalize_host(written)
    if host is None:
        return None
    parts = _extract(host)
    return Found("domain", written, host, start, start + len(written), {"registered": f"{parts.domain}.{parts.suffix}"})
