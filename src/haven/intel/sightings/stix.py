"""STIX 2.1 bundles: ``sighting`` objects and the ``observed-data`` they point to, parsed with ``stix2``.

Each observed-data (referenced by a sighting, or standing alone in the bundle) becomes observations: its
identifier objects (ipv4-addr, ipv6-addr, email-addr, user-account, url, domain-name) together with each
file object's hashes (MD5, SHA-1, SHA-256, and PDQ from a custom ``PDQ`` hash or an ``x_pdq`` property).
The time is the observed-data's ``first_observed`` (the sighting's ``first_seen`` when it has no observed
data); the source is the identity the sighting names in ``where_sighted_refs`` (or ``created_by_ref``); the
network is an ``x_network`` property or the protocols of a network-traffic object. A sighting with no
observed data is read from its indicator's pattern when that is a plain conjunction of equalities.
A bundle ``stix2`` rejects is refused whole, with the library's reason on one line.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import stix2
from stix2.exceptions import STIXDeprecationWarning, STIXError

from haven.intel.sightings.normalize import Normalized, normalize
from haven.intel.sightings.records import Observation, Skipped, check_hash
from haven.intel.sightings.tabular import MalformedFileError
from haven.intel.sightings.times import parse_utc

IDENTIFIER_OBJECTS = {
    "ipv4-addr": "ipv4",
    "ipv6-addr": "ipv6",
    "email-addr": "email",
    "url": "url",
    "domain-name": "domain",
    "user-account": "handle",
}
ACCOUNT_TYPES = {"phone-number": "phone", "cryptocurrency-wallet": "wallet", "payment-account": "payment"}
"""``user-account`` ``account_type`` values that mean an identifier type STIX has no object for."""
STIX_HASHES = {"md5": "md5", "sha1": "sha1", "sha256": "sha256", "pdq": "pdq", "xpdq": "pdq"}
"""A STIX hash name with '-', '_' and case dropped -> our hash type (``SHA-256`` -> sha256)."""
_EQUALITY = re.compile(r"([a-z0-9-]+):([A-Za-z0-9_.'-]+)\s*=\s*'((?:[^'\\]|\\.)*)'")
_COMPLEX = re.compile(r"\b(OR|FOLLOWEDBY|NOT|LIKE|MATCHES|IN|ISSUBSET|ISSUPERSET|REPEATS|WITHIN)\b")


def read_stix(text: str, default_source: str | None) -> Iterator[Observation | Skipped]:
    bundle = _parse(text)
    objects: dict[str, Any] = {obj["id"]: obj for obj in bundle.get("objects", [])}
    referenced: set[str] = set()
    for sighting in (obj for obj in objects.values() if obj["type"] == "sighting"):
        source = _identity_name(objects, sighting.get("where_sighted_refs") or [sighting.get("created_by_ref")])
        source = source or default_source
        refs = sighting.get("observed_data_refs") or []
        if not refs:
            yield _from_pattern(objects, sighting, source)
            continue
        for ref in refs:
            referenced.add(ref)
            observed = objects.get(ref)
            if observed is None:
                yield Skipped(sighting["id"], f"observed data {ref} is not in the bundle")
                continue
            yield from _observed(objects, observed, f"{sighting['id']}/{ref}", source, sighting.get("x_network"))
    for observed in (obj for obj in objects.values() if obj["type"] == "observed-data" and obj["id"] not in referenced):
        source = _identity_name(objects, [observed.get("created_by_ref")]) or default_source
        yield from _observed(objects, observed, observed["id"], source, None)


def _parse(text: str) -> Any:
    try:
        with warnings.catch_warnings():
            # observed-data's embedded ``objects`` is deprecated in 2.1 but valid, and tools still write it.
            warnings.simplefilter("ignore", STIXDeprecationWarning)
            bundle = stix2.parse(text, allow_custom=True, version="2.1")
    except (STIXError, ValueError, TypeError, KeyError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise MalformedFileError(f"not a valid STIX 2.1 bundle: {reason[:300]}") from None
    if not isinstance(bundle, stix2.v21.Bundle):
        raise MalformedFileError(f"a STIX {bundle.get('type', 'object')}, not a bundle")
    # 2.0 bundles carry spec_version on the bundle and objects without ids; stix2 lets some of that through.
    if bundle.get("spec_version", "2.1") != "2.1":
        raise MalformedFileError(f"a STIX {bundle['spec_version']} bundle; STIX 2.1 is read")
    for obj in bundle.get("objects", []):
        if "id" not in obj:
            raise MalformedFileError(f"not a valid STIX 2.1 bundle: a {obj.get('type', '?')} object without an id")
    return bundle


def _observed(
    objects: Mapping[str, Any], observed: Any, record: str, source: str | None, network: str | None
) -> Iterator[Observation | Skipped]:
    where = record
    embedded = observed.get("objects")  # STIX 2.0 style, deprecated in 2.1 but still valid
    scos = list(embedded.values()) if embedded else []
    for ref in observed.get("object_refs") or []:
        if ref not in objects:
            yield Skipped(where, f"refers to {ref}, which is not in the bundle")
            return
        scos.append(objects[ref])
    network = network or observed.get("x_network") or _protocols(scos)
    try:
        identifiers = [found for sco in scos if (found := _identifier(sco, network)) is not None]
        files = [_file(sco) for sco in scos if sco["type"] == "file"]
        when = _when(observed.get("first_observed"))
    except ValueError as error:
        yield Skipped(where, str(error))
        return
    files = [f for f in files if f[0]]
    if not identifiers and not files:
        yield Skipped(where, "no identifier or file hash among its objects")
        return
    for hashes, name in files or [({}, None)]:
        yield Observation(
            record=record,
            line=None,
            identifiers=list(identifiers),
            hashes=hashes,
            file_name=name,
            network=network,
            observed_at=when,
            source=source,
        )


def _identifier(sco: Any, network: str | None) -> Normalized | None:
    kind = IDENTIFIER_OBJECTS.get(sco["type"])
    if kind is None:
        return None
    if kind == "handle":
        value = sco.get("account_login") or sco.get("user_id") or sco.get("display_name")
        platform = sco.get("x_platform") or sco.get("account_type") or network
        # Haven's own referrals carry phones, wallets and payment references as accounts of these types.
        kind = ACCOUNT_TYPES.get(str(platform), kind)
    else:
        value, platform = sco.get("value"), network
    if not value:
        raise ValueError(f"{sco['id']} has no value")
    try:
        return normalize(kind, str(value), platform=platform)
    except ValueError as error:
        raise ValueError(f"{sco['id']}: {error}") from None


def _file(sco: Any) -> tuple[dict[str, str], str | None]:
    hashes: dict[str, str] = {}
    named = dict(sco.get("hashes") or {})
    if sco.get("x_pdq"):
        named["x_pdq"] = sco["x_pdq"]
    for name, value in named.items():
        kind = STIX_HASHES.get(re.sub(r"[-_\s]", "", str(name)).lower())
        if kind is None:
            continue
        try:
            hashes[kind] = check_hash(kind, str(value))
        except ValueError as error:
            raise ValueError(f"{sco['id']}: {error}") from None
    return hashes, sco.get("name")


def _protocols(scos: list[Any]) -> str | None:
    for sco in scos:
        if sco["type"] == "network-traffic" and sco.get("protocols"):
            return "/".join(str(p) for p in sco["protocols"])[:100]
    return None


def _identity_name(objects: Mapping[str, Any], refs: list[Any]) -> str | None:
    for ref in refs:
        found = objects.get(ref) if ref else None
        if found is not None and found["type"] == "identity" and found.get("name"):
            return str(found["name"])[:200]
    return None


def _when(moment: datetime | None) -> datetime | None:
    return None if moment is None else parse_utc(moment.isoformat(), column_says_utc=True)


def _from_pattern(objects: Mapping[str, Any], sighting: Any, source: str | None) -> Observation | Skipped:
    where = sighting["id"]
    indicator = objects.get(sighting["sighting_of_ref"])
    if indicator is None or indicator["type"] != "indicator" or indicator.get("pattern_type") != "stix":
        return Skipped(where, "no observed data, and what it sights is not a STIX-pattern indicator in the bundle")
    pattern = indicator["pattern"]
    if _COMPLEX.search(pattern):
        return Skipped(where, "no observed data, and its indicator's pattern is more than equalities joined by AND")
    network = sighting.get("x_network")
    observation = Observation(record=f"{where}/{indicator['id']}", line=None, source=source, network=network)
    try:
        for object_type, path, value in _EQUALITY.findall(pattern):
            value = value.replace("\\'", "'").replace("\\\\", "\\")
            _apply(observation, object_type, path.replace("'", ""), value, network)
        observation.observed_at = _when(sighting.get("first_seen"))
    except ValueError as error:
        return Skipped(where, str(error))
    if not observation.identifiers and not observation.hashes:
        return Skipped(where, "its indicator's pattern names no identifier or file hash")
    return observation


def _apply(observation: Observation, object_type: str, path: str, value: str, network: str | None) -> None:
    if object_type == "file" and path.startswith("hashes."):
        kind = STIX_HASHES.get(re.sub(r"[-_\s]", "", path.removeprefix("hashes.")).lower())
        if kind is not None:
            observation.hashes[kind] = check_hash(kind, value)
    elif object_type == "file" and path == "name":
        observation.file_name = value
    elif object_type == "user-account" and path in ("account_login", "user_id"):
        observation.identifiers.append(normalize("handle", value, platform=network))
    elif object_type in IDENTIFIER_OBJECTS and path == "value":
        observation.identifiers.append(normalize(IDENTIFIER_OBJECTS[object_type], value, platform=network))
