"""The agency directory: which unit receives leads for each country, and who sends them.

One file, TOML (``$HAVEN_HOME/agencies.toml``; ``HAVEN_AGENCY_DIRECTORY`` points elsewhere, TOML or CSV):

    tlp = "amber"                       # default marking of referrals: amber | red

    [sender]                            # our own contact, printed on every referral
    agency = "Example Police"
    unit = "Online Child Exploitation Unit"
    name = "DS A. Example"
    email = "oceu@example.police"
    phone = "+44 20 7946 0018"
    country = "GB"

    [fallback]                          # countries not listed below
    unit = "Interpol (via own NCB)"
    channel = "I-24/7 through your National Central Bureau"

    [[agency]]
    country = "US"                      # ISO 3166-1 alpha-2 (alpha-3 accepted, stored as alpha-2)
    unit = "ICAC Task Force"
    contact = "Intake desk"
    channel = "secure e-mail"
    email = "intake@icac.example"
    notes = "..."

A CSV directory has the header ``country,unit,contact,channel,email,phone,notes``; ``*`` as the country is
the fallback. ``import`` validates every row (line numbers in the refusal) and writes the TOML file whole;
a file without ``[sender]``/``[fallback]``/``tlp`` (any CSV) keeps the current ones.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tomllib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import pycountry
from email_validator import EmailNotValidError, validate_email

from haven.atomic import atomic_text
from haven.errors import HavenError

TLP_LEVELS = ("amber", "red")
AGENCY_KEYS = ("unit", "contact", "channel", "email", "phone", "notes")
SENDER_KEYS = ("agency", "unit", "name", "email", "phone", "country")
CSV_COLUMNS = ("country", *AGENCY_KEYS)
DEFAULT_FALLBACK_UNIT = "Interpol (via own NCB)"


@dataclass(frozen=True)
class Agency:
    """A receiving unit; ``country`` None for the fallback."""

    country: str | None
    unit: str
    contact: str | None = None
    channel: str | None = None
    email: str | None = None
    phone: str | None = None
    notes: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "country": self.country,
            "unit": self.unit,
            "contact": self.contact,
            "channel": self.channel,
            "email": self.email,
            "phone": self.phone,
            "notes": self.notes,
        }


@dataclass(frozen=True)
class Sender:
    agency: str
    unit: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    country: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT_FALLBACK = Agency(None, DEFAULT_FALLBACK_UNIT, channel="I-24/7 through your National Central Bureau")


@dataclass(frozen=True)
class Directory:
    agencies: dict[str, Agency] = field(default_factory=dict)
    fallback: Agency = DEFAULT_FALLBACK
    sender: Sender | None = None
    tlp: str = "amber"
    path: Path | None = None
    has_fallback: bool = False  # the file set one (else DEFAULT_FALLBACK)
    has_tlp: bool = False
    _views: dict[str | None, dict[str, Any]] = field(default_factory=dict, compare=False, repr=False)

    def for_country(self, country: str | None) -> tuple[Agency, bool]:
        """The unit receiving leads for ``country`` and whether it is the fallback."""
        if country and country in self.agencies:
            return self.agencies[country], False
        return self.fallback, True

    def recipient(self, country: str | None) -> dict[str, Any]:
        """``for_country`` as a JSON-ready dict with its ``fallback`` flag (cached: routing asks per lead)."""
        view = self._views.get(country)
        if view is None:
            agency, is_fallback = self.for_country(country)
            view = self._views[country] = {**agency.as_dict(), "fallback": is_fallback}
        return dict(view)


class DirectoryError(HavenError):
    def __init__(self, source: str, problems: list[str]) -> None:
        shown = "; ".join(problems[:10]) + (f"; … {len(problems) - 10} more" if len(problems) > 10 else "")
        super().__init__(f"agency directory {source} refused: {shown}")
        self.problems = problems


def directory_path(home: Path) -> Path:
    """``HAVEN_AGENCY_DIRECTORY`` or ``$HAVEN_HOME/agencies.toml``."""
    override = os.environ.get("HAVEN_AGENCY_DIRECTORY")
    return Path(override) if override else home / "agencies.toml"


def load_directory(home: Path) -> Directory:
    """The configured directory; an absent file is an empty directory (every country to the fallback)."""
    path = directory_path(home)
    if not path.exists():
        return Directory(path=path)
    return parse_file(path)


def parse_file(path: Path) -> Directory:
    """Read and validate a TOML or CSV directory; DirectoryError lists every bad row with its line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise HavenError(f"cannot read agency directory {path}: {exc}") from exc
    directory = _parse_csv(text, str(path)) if path.suffix.lower() == ".csv" else _parse_toml(text, str(path))
    return replace(directory, path=path)


def import_directory(file: Path, home: Path) -> tuple[Directory, Path, str]:
    """Validate ``file`` and install it as the directory (atomically); returns (directory, path, sha256)."""
    incoming = parse_file(file)
    target = directory_path(home)
    current = parse_file(target) if target.exists() else Directory()
    merged = Directory(
        agencies=incoming.agencies,
        fallback=incoming.fallback if incoming.has_fallback else current.fallback,
        sender=incoming.sender or current.sender,
        tlp=incoming.tlp if incoming.has_tlp else current.tlp,
        has_fallback=incoming.has_fallback or current.has_fallback,
        has_tlp=incoming.has_tlp or current.has_tlp,
        path=target,
    )
    if target.suffix.lower() == ".csv":
        raise HavenError(f"HAVEN_AGENCY_DIRECTORY ({target}) is a CSV file: import writes TOML; point it at a .toml")
    with atomic_text(target, errors="strict") as out:
        out.write(to_toml(merged))
    return merged, target, out.hexdigest()


def to_toml(directory: Directory) -> str:
    lines = ["# Haven agency directory (haven intel agencies import FILE rewrites this file).", ""]
    lines.append(f"tlp = {_toml_string(directory.tlp)}")
    if directory.sender:
        lines += ["", "[sender]", *_toml_pairs(directory.sender.as_dict(), SENDER_KEYS)]
    if directory.has_fallback:
        lines += ["", "[fallback]", *_toml_pairs(directory.fallback.as_dict(), AGENCY_KEYS)]
    for code in sorted(directory.agencies):
        agency = directory.agencies[code]
        lines += ["", "[[agency]]", *_toml_pairs(agency.as_dict(), ("country", *AGENCY_KEYS))]
    return "\n".join(lines) + "\n"


def iso_alpha2(value: str) -> str | None:
    """ISO 3166-1 alpha-2 for an alpha-2 or alpha-3 code (any case), or None."""
    code = value.strip().upper()
    country = pycountry.countries.get(alpha_2=code) if len(code) == 2 else None
    if country is None and len(code) == 3:
        country = pycountry.countries.get(alpha_3=code)
    return country.alpha_2 if country else None


# ---------------------------------------------------------------- parsing


def _parse_toml(text: str, source: str) -> Directory:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DirectoryError(source, [str(exc)]) from exc
    problems: list[str] = []
    header_lines = _header_lines(text)
    for key in set(data) - {"tlp", "sender", "fallback", "agency"}:
        problems.append(f"unknown key '{key}' (expected tlp, [sender], [fallback], [[agency]])")
    tlp = data.get("tlp", "amber")
    if not isinstance(tlp, str) or tlp.lower() not in TLP_LEVELS:
        problems.append(f"tlp must be one of {', '.join(TLP_LEVELS)}, not {tlp!r}")
        tlp = "amber"
    sender = None
    if "sender" in data:
        sender = _sender(data["sender"], header_lines.get("sender", [0])[0], problems)
    fallback, has_fallback = DEFAULT_FALLBACK, "fallback" in data
    if has_fallback:
        line = header_lines.get("fallback", [0])[0]
        fallback = _agency(data["fallback"], None, f"line {line} [fallback]", problems) or DEFAULT_FALLBACK
    agencies: dict[str, Agency] = {}
    entries = data.get("agency", [])
    if not isinstance(entries, list):
        problems.append("agency must be a list of [[agency]] tables")
        entries = []
    agency_lines = header_lines.get("agency", [])
    for index, entry in enumerate(entries):
        line = agency_lines[index] if index < len(agency_lines) else 0
        where = f"line {line}"
        if not isinstance(entry, dict):
            problems.append(f"{where}: not a table")
            continue
        raw_country = entry.get("country")
        code = iso_alpha2(raw_country) if isinstance(raw_country, str) else None
        if code is None:
            problems.append(f"{where}: country {raw_country!r} is not an ISO 3166-1 code")
            continue
        agency = _agency({k: v for k, v in entry.items() if k != "country"}, code, where, problems)
        if agency is None:
            continue
        if code in agencies:
            problems.append(f"{where}: {code} is listed twice")
            continue
        agencies[code] = agency
    if problems:
        raise DirectoryError(source, problems)
    return Directory(agencies, fallback, sender, tlp.lower(), None, has_fallback, "tlp" in data)


def _parse_csv(text: str, source: str) -> Directory:
    reader = csv.DictReader(io.StringIO(text))
    header = [c.strip().lower() for c in (reader.fieldnames or [])]
    if "country" not in header or "unit" not in header:
        raise DirectoryError(
            source, [f"line 1: the header must name country and unit (columns: {', '.join(CSV_COLUMNS)})"]
        )
    unknown = sorted(set(header) - set(CSV_COLUMNS))
    if unknown:
        raise DirectoryError(source, [f"line 1: unknown column(s) {', '.join(unknown)}"])
    reader.fieldnames = header
    problems: list[str] = []
    agencies: dict[str, Agency] = {}
    fallback, has_fallback = DEFAULT_FALLBACK, False
    for row in reader:
        where = f"line {reader.line_num}"
        if None in row:
            problems.append(f"{where}: more values than columns")
            continue
        values = {k: (v or "").strip() for k, v in row.items() if k != "country"}
        raw_country = (row.get("country") or "").strip()
        if raw_country == "*":
            fallback = _agency(values, None, where, problems) or fallback
            has_fallback = True
            continue
        code = iso_alpha2(raw_country)
        if code is None:
            problems.append(f"{where}: country {raw_country!r} is not an ISO 3166-1 code")
            continue
        agency = _agency(values, code, where, problems)
        if agency is not None:
            if code in agencies:
                problems.append(f"{where}: {code} is listed twice")
            else:
                agencies[code] = agency
    if problems:
        raise DirectoryError(source, problems)
    return Directory(agencies, fallback, None, "amber", None, has_fallback, False)


def _checked_values(
    entry: Any, keys: tuple[str, ...], required: str, where: str, problems: list[str]
) -> dict[str, str | None] | None:
    """The entry's values under ``keys`` (text or None), or None with the problem recorded: not a table,
    an unknown key, ``required`` missing, or an e-mail that is not an address."""
    if not isinstance(entry, dict):
        problems.append(f"{where}: not a table")
        return None
    unknown = sorted(set(entry) - set(keys))
    if unknown:
        problems.append(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(keys)})")
        return None
    values = {k: _text(entry.get(k)) for k in keys}
    if not values[required]:
        problems.append(f"{where}: {required} is required")
        return None
    if values["email"] and not _email_ok(values["email"]):
        problems.append(f"{where}: e-mail {values['email']!r} is not an address")
        return None
    return values


def _agency(entry: Any, country: str | None, where: str, problems: list[str]) -> Agency | None:
    values = _checked_values(entry, AGENCY_KEYS, "unit", where, problems)
    return None if values is None else Agency(country, **values)  # type: ignore[arg-type]


def _sender(entry: Any, line: int, problems: list[str]) -> Sender | None:
    where = f"line {line} [sender]"
    values = _checked_values(entry, SENDER_KEYS, "agency", where, problems)
    if values is None:
        return None
    if values["country"]:
        code = iso_alpha2(values["country"])
        if code is None:
            problems.append(f"{where}: country {values['country']!r} is not an ISO 3166-1 code")
            return None
        values["country"] = code
    return Sender(**values)  # type: ignore[arg-type]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _email_ok(value: str) -> bool:
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z_]+)\s*\]\]?")


def _header_lines(text: str) -> dict[str, list[int]]:
    """1-based line of each table header (``[sender]``, every ``[[agency]]``): tomllib gives none."""
    lines: dict[str, list[int]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _HEADER.match(line)
        if match:
            lines.setdefault(match.group(2), []).append(number)
    return lines


def _toml_string(value: str) -> str:
    # JSON's escapes (\" \\ \n \uXXXX for control characters) are valid in a TOML basic string.
    return json.dumps(value, ensure_ascii=False)


def _toml_pairs(values: dict[str, Any], keys: tuple[str, ...]) -> list[str]:
    return [f"{key} = {_toml_string(values[key])}" for key in keys if values.get(key) is not None]
