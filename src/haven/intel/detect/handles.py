"""User names on messaging and social platforms, with the platform when the context names it.

Found as: ``@name`` mentions (platform from the nearest platform word on the same line, before or just
after: "my telegram is @name", "@name on kik"; else ``hint.platform``; else ``unknown``), ``platform: name``
labels (``kik: name``, ``telegram: @name``, ``session id: 05…``, ``discord - name#1234``), profile links
(``t.me/name``: see ``urls``), and a bare cell value when the reader's hint says the field holds user
names (a CSV column ``telegram``, ``username``, ``handle``, ``screen_name`` ...). Normalized
``platform/username`` lower-cased.
"""

from __future__ import annotations

import re

from haven.intel.types import Found, Hint

from ._scan import Scan, last_word_match

# Platform words as people write them -> canonical platform name.
_ALIASES = {
    "telegram": "telegram",
    "tg": "telegram",
    "tele": "telegram",
    "kik": "kik",
    "snap": "snapchat",
    "snapchat": "snapchat",
    "sc": "snapchat",
    "wickr": "wickr",
    "wickr me": "wickr",
    "wickrme": "wickr",
    "session": "session",
    "session id": "session",
    "sessionid": "session",
    "discord": "discord",
    "skype": "skype",
    "instagram": "instagram",
    "insta": "instagram",
    "ig": "instagram",
    "twitter": "twitter",
    "twitter/x": "twitter",
    "tiktok": "tiktok",
    "whatsapp": "whatsapp",
    "signal": "signal",
    "threema": "threema",
    "icq": "icq",
    "facebook": "facebook",
    "fb": "facebook",
    "reddit": "reddit",
    "wechat": "wechat",
    "viber": "viber",
    "teleguard": "teleguard",
    "omegle": "omegle",
    "roblox": "roblox",
    "twitch": "twitch",
    "steam": "steam",
    "xbox": "xbox",
    "psn": "psn",
    "mega": "mega",
    "element": "element",
    "matrix": "matrix",
    "jabber": "jabber",
    "xmpp": "jabber",
    "tox": "tox",
}
# First words of the labels below (the scan's cheap test that a label may start here).
CONTEXT_WORDS = (
    "telegram",
    "tele",
    "tg",
    "kik",
    "snap",
    "snapchat",
    "wickr",
    "session",
    "discord",
    "skype",
    "insta",
    "instagram",
    "ig",
    "twitter",
    "tiktok",
    "whatsapp",
    "threema",
    "icq",
    "facebook",
    "fb",
    "reddit",
    "wechat",
    "viber",
    "teleguard",
    "roblox",
    "twitch",
    "steam",
    "xbox",
    "psn",
    "jabber",
    "xmpp",
)
_WORDS = (
    r"telegram|tele|tg|kik|snap(?:chat)?|wickr(?:\s?me)?|session(?:\s?id)|discord|skype|insta(?:gram)?|ig"
    r"|twitter(?:/x)?|tiktok|whatsapp|threema|icq|facebook|fb|reddit|wechat|viber|teleguard|roblox"
    r"|twitch|steam|xbox|psn|jabber|xmpp"
)
# "kik: name", "telegram = @name", "discord - name#1234", "tg @name": a label then the name. Only a
# colon/equals/dash, or an "@", ties a bare word to the platform ("snap it" is not a user name).
LABEL_PATTERN = (
    rf"(?<![\w@./-])(?i:{_WORDS})(?i:\s?(?:user\s?name|username|user|name|handle|id|acc(?:oun)?t|nick))?"
    r"(?:\s*[:=]\s*|\s+-\s+|\s+(?=@))@?[\w][\w.\-#]{1,67}(?<![.\-#])(?![\w/@]|\.[^\W_])"
)
# Cheap test before the label pattern: one to three short words, then ":", "=", " - " or "@".
LABEL_GUARD = r"(?=[A-Za-z]{2,9}+(?:[ /][A-Za-z]{1,9}+){0,2}\s*(?:[:=]|-\s|@))"
MENTION_PATTERN = r"(?<![\w@.+%/-])@[A-Za-z_][\w.]{1,31}(?<!\.)(?![\w@])"

_LABEL_HEAD = re.compile(
    rf"(?i)({_WORDS})(?:\s?(?:user\s?name|username|user|name|handle|id|acc(?:oun)?t|nick))?(?:\s*[:=]\s*|\s+-\s+|\s+)@?"
)
_CONTEXT = re.compile(rf"(?i)(?<![\w@./-])({_WORDS}|on x|x \(twitter\))(?![\w])")
_DISCORD_TAG = re.compile(r"#\d{4}$")
_NAME = re.compile(r"@?[\w][\w.\-#]{1,63}")

# CSV/XLSX column names (and table.column tails) that hold user names.
HANDLE_FIELDS = frozenset(
    {
        "username",
        "user_name",
        "user",
        "handle",
        "screen_name",
        "screenname",
        "nick",
        "nickname",
        "alias",
        "login",
        "account",
        "account_name",
        "userid",
        "user_id",
        "profile",
        *(_ALIASES),
    }
)


def canonical_platform(word: str) -> str:
    word = re.sub(r"\s+", " ", word.lower().strip())
    if word in ("on x", "x (twitter)", "x"):
        return "twitter"
    return _ALIASES.get(word, _ALIASES.get(word.replace(" ", ""), word))


def make(platform: str, name: str, start: int, end: int, written: str) -> Found:
    name = name.lstrip("@").lower()
    return Found("handle", written, f"{platform}/{name}", start, end, {"platform": platform})


def found_label(scan: Scan, start: int, end: int) -> list[Found]:
    head = _LABEL_HEAD.match(scan.text, start, end)
    if head is None:
        return []
    platform = canonical_platform(head.group(1))
    value_start = head.end()
    value = scan.text[value_start:end]
    if value.replace("-", "").replace(".", "").isdigit() and platform != "session":
        return []  # a number: a phone (found as such when written with "+") or an account id
    if platform == "discord" and "#" in value and not _DISCORD_TAG.search(value):
        return []
    return [make(platform, value, value_start, end, value)]


# "@" words that are not users when no platform is named: group pings (Discord, Slack), CSS at-rules and
# doc/annotation tags met in HTML and code.
_NOT_USERS = frozenset(
    {
        "everyone",
        "here",
        "channel",
        "all",
        "media",
        "import",
        "font",
        "charset",
        "keyframes",
        "page",
        "supports",
        "namespace",
        "param",
        "return",
        "returns",
        "see",
        "override",
        "property",
        "staticmethod",
        "classmethod",
    }
)


def found_mention(scan: Scan, start: int, end: int) -> list[Found]:
    written = scan.text[start:end]
    platform = _platform_near(scan, start, end) or (scan.hint.platform and canonical_platform(scan.hint.platform))
    if platform is None and written[1:].lower() in _NOT_USERS:
        return []
    return [make(platform or "unknown", written, start, end, written)]


def _platform_near(scan: Scan, start: int, end: int) -> str | None:
    before = last_word_match(_CONTEXT, scan.before(start, 48))
    if before is not None:
        return canonical_platform(before.group(1))
    after = _CONTEXT.search(scan.after(end, 24))
    if after is not None and not after.string[: after.start()].count("@"):
        return canonical_platform(after.group(1))
    return None


def field_platform(hint: Hint) -> str | None:
    """The platform a hint implies for a bare value, or None when the field does not hold user names."""
    if hint.platform:
        return canonical_platform(hint.platform)
    if not hint.field:
        return None
    column = hint.field.rsplit(".", 1)[-1].strip().lower().replace(" ", "_").replace("-", "_")
    if column not in HANDLE_FIELDS:
        return None
    platform = canonical_platform(column.replace("_", " "))
    return platform if platform in _ALIASES.values() else "unknown"


def found_bare(text: str, hint: Hint) -> list[Found]:
    """A whole cell that is a user name, when the hint says the field holds them."""
    platform = field_platform(hint)
    stripped = text.strip()
    if platform is None or not stripped or not _NAME.fullmatch(stripped):
        return []
    if stripped.lstrip("@").replace(".", "").replace("-", "").isdigit():
        return []
    start = text.find(stripped)
    return [make(platform, stripped, start, start + len(stripped), stripped)]
