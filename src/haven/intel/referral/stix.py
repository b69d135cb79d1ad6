"""A referral as a STIX 2.1 bundle (built with ``stix2``, parsed back strictly before it is written).

Mapping:
- the sender: ``identity`` (organization, with its contact), ``created_by_ref`` of every SDO;
- each target: ``threat-actor`` (name, confidence 0-100, the routing reasons in its description);
- each identifier: an SCO (``email-addr``, ``ipv4-addr``, ``ipv6-addr``, ``url``, ``domain-name``;
  ``user-account`` for handles — ``account_type`` the platform — and for phone numbers, wallets and
  payment references, which STIX 2.1 has no object for: ``account_type`` ``phone-number``,
  ``cryptocurrency-wallet`` or ``payment-account``), inside an ``observed-data`` with its first/last
  observed times (UTC; the time Haven first saw it when the evidence gives none) and the ``file`` SCOs
  (MD5, SHA-1, SHA-256; no name) of the contents it was found in;
- each sighting (monitoring tool, tip): an ``observed-data`` with the identifier's SCO and a ``file`` SCO of
  the sighted file's hashes (no name), at the sighting's time;
- ``relationship`` ``related-to`` from each target to its identifiers' SCOs;
- a ``report`` holding every object, and the TLP marking (AMBER or RED) on every object.
Paths and lines stay in the observed-data description (there is no STIX property for "line 17 of").
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import stix2

from haven.errors import HavenError

_TLP = {"amber": stix2.TLP_AMBER, "red": stix2.TLP_RED}
_ACCOUNT_TYPES = {"phone": "phone-number", "wallet": "cryptocurrency-wallet", "payment": "payment-account"}


def stix_bundle(document: dict[str, Any], *, first_seen: dict[int, datetime]) -> str:
    """The bundle as JSON text, already validated by a strict parse."""
    marking = _TLP[document["tlp"]]
    marks = [marking.id]
    sender = document["sender"]
    identity = stix2.Identity(
        name=" — ".join(v for v in (sender["agency"], sender.get("unit")) if v),
        identity_class="organization",
        contact_information=_contact(sender),
        object_marking_refs=marks,
    )
    files = {
        c["sha256"]: stix2.File(
            hashes={"MD5": c["md5"], "SHA-1": c["sha1"], "SHA-256": c["sha256"]},
            size=c["size"],
            object_marking_refs=marks,
        )
        for c in document["contents"]
    }
    objects: list[Any] = [marking, identity, *files.values()]
    observables: dict[int, Any] = {}
    for item in document["identifiers"]:
        sco = _observable(item, marks)
        observables[item["id"]] = sco
        first = _time(item["first_observed"]) or first_seen.get(item["id"]) or datetime.now(UTC)
        last = _time(item["last_observed"]) or first
        found_in = sorted({o["sha256"] for o in item["occurrences"]})
        objects.append(sco)
        objects.append(
            stix2.ObservedData(
                created_by_ref=identity.id,
                first_observed=first,
                last_observed=max(first, last),
                number_observed=max(len(item["occurrences"]), 1),
                object_refs=[sco.id, *(files[s].id for s in found_in)],
                object_marking_refs=marks,
                allow_custom=False,
            )
        )
    for sighting in document["sightings"]:
        objects += _sighting_objects(sighting, observables[sighting["identifier"]], identity.id, marks, files)
    for target in document["targets"]:
        actor = stix2.ThreatActor(
            name=target["name"],
            description=_reasons(target),
            confidence=round(target["confidence"] * 100),
            created_by_ref=identity.id,
            object_marking_refs=marks,
        )
        objects.append(actor)
        for identifier_id in target["identifiers"]:
            objects.append(
                stix2.Relationship(
                    actor,
                    "related-to",
                    observables[identifier_id],
                    created_by_ref=identity.id,
                    object_marking_refs=marks,
                )
            )
    unique = list({o.id: o for o in objects}.values())  # a file sighted twice is one SCO (deterministic id)
    report = stix2.Report(
        name=f"Referral of case {document['case']} to {document['country_name'] or document['country']}",
        description=_report_description(document),
        published=_time(document["created_at"]),
        report_types=["threat-actor"],
        object_refs=[o.id for o in unique if o is not marking],
        created_by_ref=identity.id,
        object_marking_refs=marks,
    )
    bundle = stix2.Bundle(*unique, report, allow_custom=False)
    text = bundle.serialize(pretty=True)
    validate_bundle(text)
    return text + "\n"


def validate_bundle(text: str) -> Any:
    """Parse a bundle back with ``stix2`` strictly (no custom content); HavenError when it does not hold."""
    try:
        return stix2.parse(text, allow_custom=False, version="2.1")
    except (stix2.exceptions.STIXError, ValueError) as exc:
        raise HavenError(f"the STIX bundle does not validate: {exc}") from exc


def _sighting_objects(
    sighting: dict[str, Any], observable: Any, sender_id: str, marks: list[str], files: dict[str, Any]
) -> list[Any]:
    hashes = {k: sighting[f] for k, f in (("MD5", "md5"), ("SHA-1", "sha1"), ("SHA-256", "sha256")) if sighting[f]}
    refs = [observable.id]
    made: list[Any] = []
    if hashes:
        known = files.get(sighting["sha256"] or "")
        sighted = known or stix2.File(hashes=hashes, object_marking_refs=marks)
        if known is None:
            made.append(sighted)
        refs.append(sighted.id)
    when = _time(sighting["observed_at"])
    if when is None:
        return made  # STIX needs a time to observe; the JSON and HTML formats still carry it
    matched = "; ".join(
        f"{m['method']} match: "
        + (
            f"case content {m['content_sha256']}"
            if m["content_sha256"]
            else f"hash set {m['hash_set']} category {m['category'] or '-'}"
        )
        for m in sighting["matches"]
    )
    made.append(
        stix2.ObservedData(
            created_by_ref=sender_id,
            first_observed=when,
            last_observed=when,
            number_observed=1,
            object_refs=refs,
            object_marking_refs=marks,
            labels=["sighting", *([sighting["network"]] if sighting["network"] else [])],
            external_references=[
                {"source_name": sighting["source"] or "sighting", "description": matched or "no file match"}
            ],
        )
    )
    return made


def _observable(item: dict[str, Any], marks: list[str]) -> Any:
    kind, value = item["type"], item["value"]
    normalized = item["normalized"]
    if kind == "email":
        return stix2.EmailAddress(value=normalized, object_marking_refs=marks)
    if kind == "ipv4":
        return stix2.IPv4Address(value=normalized, object_marking_refs=marks)
    if kind == "ipv6":
        return stix2.IPv6Address(value=normalized, object_marking_refs=marks)
    if kind == "url":
        return stix2.URL(value=normalized, object_marking_refs=marks)
    if kind == "domain":
        return stix2.DomainName(value=normalized, object_marking_refs=marks)
    if kind == "handle":
        platform, _, login = normalized.partition("/")
        return stix2.UserAccount(
            account_login=login or value, account_type=platform or "unknown", object_marking_refs=marks
        )
    if kind in _ACCOUNT_TYPES:
        return stix2.UserAccount(account_login=normalized, account_type=_ACCOUNT_TYPES[kind], object_marking_refs=marks)
    raise HavenError(f"no STIX mapping for identifier type {kind!r}")


def _contact(sender: dict[str, Any]) -> str:
    parts = [sender.get("name"), sender.get("email"), sender.get("phone"), sender.get("country")]
    return "; ".join(p for p in parts if p) or sender["agency"]


def _reasons(target: dict[str, Any]) -> str:
    lines = [f"Routing confidence {target['confidence']:.2f}."]
    lines += [
        f"{e['basis']} {e['country']}: {e['source']}" + (f" ({e['note']})" if e["note"] else "")
        for e in target["evidence"]
    ]
    lines += [f"Conflicting country {c['country']} (support {c['support']})" for c in target["conflicts"]]
    lines += [f"Caveat: {c}" for c in target["caveats"]]
    return "\n".join(lines)


def _report_description(document: dict[str, Any]) -> str:
    recipient = document["recipient"]
    pointers = [
        f"{item['type']} {item['normalized']}: "
        + ", ".join(f"{o['sha256'][:16]} {o['path']} line {o['line']}" for o in item["occurrences"][:20])
        for item in document["identifiers"]
    ]
    head = (
        f"Case {document['case']}, for {recipient['unit']} ({document['country']}). "
        f"TLP:{document['tlp'].upper()}. No media is included; hashes identify the contents."
    )
    return "\n".join([head, "Evidence pointers (content SHA-256, path, line):", *pointers])


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def bundle_objects(text: str) -> list[dict[str, Any]]:
    """The objects of a bundle's JSON (for callers that read a written referral back)."""
    return list(json.loads(text)["objects"])
