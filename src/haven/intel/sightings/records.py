"""What every sightings reader yields: an observation, or a record skipped with its place and reason.

Rows of CSV and JSON files go through ``observation_from_fields``: column names are matched tolerantly
(``identifier`` or ``value``, ``observed_at`` or ``timestamp`` or ``seen`` ...), hashes are checked, the
identifier normalized and the time made UTC. A row with anything wrong is skipped whole, with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from haven.formats.base import EMPTY_FILE_HASHES, ZERO_PDQ
from haven.intel.sightings.normalize import Normalized, canonical_type, guess_type, normalize
from haven.intel.sightings.times import parse_utc

HASH_TYPES = ("md5", "sha1", "sha256", "pdq")
HASH_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}
TEXT_MAX = {"network": 100, "source": 200, "file_name": 1000}

COLUMN_ALIASES: dict[str, str] = {
    **dict.fromkeys(("identifier", "value", "indicator", "observable", "ioc", "address"), "identifier"),
    **dict.fromkeys(("type", "identifier_type", "kind", "ioc_type", "indicator_type", "value_type"), "type"),
    **dict.fromkeys(("network", "protocol", "service", "platform", "channel"), "network"),
    **dict.fromkeys(("hash", "file_hash", "digest", "checksum"), "hash"),
    **dict.fromkeys(("hash_type", "algorithm", "hash_algorithm", "hashtype", "digest_type"), "hash_type"),
    **dict.fromkeys(("md5", "md5_hash"), "md5"),
    **dict.fromkeys(("sha1", "sha_1", "sha1_hash"), "sha1"),
    **dict.fromkeys(("sha256", "sha_256", "sha256_hash"), "sha256"),
    **dict.fromkeys(("pdq", "pdq_hash", "x_pdq"), "pdq"),
    **dict.fromkeys(("file_name", "filename", "file", "name", "file_path"), "file_name"),
    **dict.fromkeys(
        ("observed_at", "timestamp", "seen", "seen_at", "time", "date", "datetime", "observed", "observation_time"),
        "observed_at",
    ),
    **dict.fromkeys(("source", "reporter", "tool", "origin", "feed", "reported_by"), "source"),
}
"""Column (or JSON key) names, normalized by ``column_key``, -> the field they fill."""

TYPED_COLUMNS: tuple[str, ...] = (
    "ip",
    "ip_address",
    "ipv4",
    "ipv6",
    "email",
    "e_mail",
    "email_address",
    "username",
    "user",
)
TYPED_COLUMNS += ("handle", "account", "phone", "telephone", "msisdn", "url", "domain", "hostname", "wallet")
"""Columns that hold an identifier of the type they name (a row may fill several: one sighting each)."""

_UTC_MARK = re.compile(r"[\s_-]*[(\[]?(?<![a-z])utc(?![a-z])[)\]]?[\s_-]*", re.IGNORECASE)
_HEX = re.compile(r"[0-9a-f]+")
_SCALARS = (str, int, float)


@dataclass(frozen=True, slots=True)
class Column:
    """One column (JSON key) understood: the field it fills, the identifier type it implies, whether it says UTC."""

    name: str
    field: str  # a COLUMN_ALIASES value, or "typed:<type>" for TYPED_COLUMNS
    says_utc: bool = False


@dataclass(slots=True)
class Observation:
    """One observation: identifiers (each becomes a sighting) and/or one file's hashes."""

    record: str  # "line:17", "record:3", "sighting--…/observed-data--…"
    line: int | None
    identifiers: list[Normalized] = field(default_factory=list)
    hashes: dict[str, str] = field(default_factory=dict)  # md5 / sha1 / sha256 / pdq -> lower-case hex
    file_name: str | None = None
    network: str | None = None
    observed_at: datetime | None = None  # UTC
    source: str | None = None


@dataclass(frozen=True, slots=True)
class Skipped:
    where: str  # "line 17", "record 3", "observed-data--…"
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


def column_key(name: str) -> tuple[str, bool]:
    """A column name compared case- and spacing-insensitively, and whether it says its times are UTC."""
    text = name.replace("\ufeff", "").strip()
    says_utc = bool(_UTC_MARK.search(text))
    text = _UTC_MARK.sub("_", text).strip("_ ")
    return re.sub(r"[\s\-.]+", "_", text.lower()).strip("_"), says_utc


def understand(name: str) -> Column | None:
    """The field a column fills, or None when the column means nothing here (it is ignored)."""
    key, says_utc = column_key(name)
    if key in COLUMN_ALIASES:
        return Column(name, COLUMN_ALIASES[key], says_utc)
    if key in TYPED_COLUMNS:
        kind = canonical_type(key.replace("e_mail", "email"))
        return Column(name, f"typed:{kind}", says_utc) if kind else None
    return None


def check_hash(kind: str, value: str) -> str:
    """The lower-case hex of a ``kind`` hash; ValueError for a malformed one or one that matches everything."""
    text = value.strip().lower()
    if len(text) != HASH_LENGTHS[kind] or not _HEX.fullmatch(text):
        raise ValueError(f"{kind} {value[:80]!r} is not {HASH_LENGTHS[kind]} hex digits")
    if text in EMPTY_FILE_HASHES:
        raise ValueError(f"{kind} {text} is the hash of an empty file (it would match every empty file)")
    if kind == "pdq" and text == ZERO_PDQ:
        raise ValueError("all-zero PDQ hash (a blank image)")
    return text


def typed_hash(value: str, declared: str | None) -> tuple[str, str]:
    """(type, hex) of a ``hash`` cell: type from ``declared``, an ``md5:`` prefix, or a length that says it."""
    text = value.strip()
    if ":" in text and text.split(":", 1)[0].strip().lower().replace("-", "") in HASH_TYPES:
        prefix, text = text.split(":", 1)
        declared = prefix
    if declared:
        kind = declared.strip().lower().replace("-", "").replace("_", "")
        if kind not in HASH_TYPES:
            raise ValueError(f"unknown hash type {declared!r} (one of: {', '.join(HASH_TYPES)})")
        return kind, check_hash(kind, text)
    by_length = {32: "md5", 40: "sha1"}.get(len(text))
    if by_length is None:
        raise ValueError(
            f"hash {text[:80]!r}: say which it is (a hash_type column, or md5:/sha1:/sha256:/pdq: before it); "
            "64 hex digits may be SHA-256 or PDQ"
        )
    return by_length, check_hash(by_length, text)


def observation_from_fields(
    values: Sequence[tuple[Column, object]], *, record: str, line: int | None, default_source: str | None
) -> Observation:
    """Build an observation from one row's understood columns; ValueError with the reason if it is not usable."""
    cells: dict[str, str] = {}
    typed: list[tuple[str, str]] = []
    when: tuple[object, bool] | None = None
    for column, raw in values:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        if column.field == "observed_at":
            when = (raw, column.says_utc)
            continue
        if not isinstance(raw, _SCALARS) or isinstance(raw, bool):
            raise ValueError(f"{column.name}: expected text, got {type(raw).__name__}")
        if column.field.startswith("typed:"):
            typed.append((column.field.removeprefix("typed:"), str(raw)))
        else:
            cells[column.field] = str(raw).strip()
    network = _bounded(cells.get("network"), "network")
    observation = Observation(
        record=record,
        line=line,
        network=network,
        file_name=_bounded(cells.get("file_name"), "file_name"),
        source=_bounded(cells.get("source"), "source") or default_source,
    )
    if "identifier" in cells and "hash" not in cells and cells.get("type", "").lower().replace("-", "") in HASH_TYPES:
        # A file listing hashes as indicators: ``value,type`` = ``<hex>,sha256``.
        cells["hash"], cells["hash_type"] = cells.pop("identifier"), cells.pop("type")
    if "identifier" in cells:
        declared = cells.get("type") or guess_type(cells["identifier"])
        if declared is None:
            raise ValueError(f"identifier {cells['identifier'][:80]!r}: no type given and none evident")
        typed.insert(0, (declared, cells["identifier"]))
    elif "type" in cells and not typed:
        raise ValueError(f"a type ({cells['type'][:40]!r}) but no identifier")
    for kind, value in typed:
        try:
            observation.identifiers.append(normalize(kind, value, platform=network))
        except ValueError as error:
            raise ValueError(f"identifier: {error}") from None
    if "hash" in cells:
        kind, hex_value = typed_hash(cells["hash"], cells.get("hash_type"))
        observation.hashes[kind] = hex_value
    elif "hash_type" in cells:
        raise ValueError(f"a hash type ({cells['hash_type'][:40]!r}) but no hash")
    for kind in HASH_TYPES:
        if kind in cells:
            hex_value = check_hash(kind, cells[kind])
            if observation.hashes.get(kind, hex_value) != hex_value:
                raise ValueError(f"two different {kind} hashes")
            observation.hashes[kind] = hex_value
    if not observation.identifiers and not observation.hashes:
        raise ValueError("no identifier and no hash")
    if when is not None:
        raw, says_utc = when
        if not isinstance(raw, _SCALARS):
            raise ValueError(f"time: expected text or a number, got {type(raw).__name__}")
        observation.observed_at = parse_utc(raw, column_says_utc=says_utc)
    return observation


def _bounded(text: str | None, name: str) -> str | None:
    if text is None:
        return None
    if len(text) > TEXT_MAX[name]:
        raise ValueError(f"{name} longer than {TEXT_MAX[name]} characters")
    return text
