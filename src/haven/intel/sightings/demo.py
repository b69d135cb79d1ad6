"""Synthetic sightings for ``make demo``: a monitor's CSV and a STIX 2.1 tip about the demo case.

Written after the case was triaged (and, when it ran, extracted), from what the case holds: the hashes of
a few known pictures, the PDQ of a near-known one with a few bits changed (an edited copy seen online), and
identifiers extraction found, mixed with documentation addresses (RFC 5737, RFC 3849) that are in no case.
One row has a time without a zone, to show a skipped row. Nothing here is real.

    python -m haven.intel.sightings.demo DEMO-001 demo-out/sightings
"""

from __future__ import annotations

import argparse
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import stix2
from sqlalchemy import select

from haven.cases import get_case
from haven.config import load_config
from haven.store import Store, open_store
from haven.store.models import Content, Identifier, IdentifierOccurrence

DOC_IPS = ("198.51.100.23", "203.0.113.77", "2001:db8::7")
START = datetime(2026, 2, 3, 21, 15, tzinfo=UTC)


def write_demo_sightings(store: Store, reference: str, out: Path) -> list[Path]:
    """Write ``monitor.csv`` and ``tip.stix.json`` about case ``reference`` into ``out``; return their paths."""
    with store.session() as session:
        case = get_case(session, reference)
        known = session.execute(
            select(Content.sha256, Content.md5)
            .where(Content.case_id == case.id, Content.status == "known")
            .order_by(Content.id)
            .limit(3)
        ).all()
        near_pdq = session.scalars(
            select(Content.pdq)
            .where(Content.case_id == case.id, Content.status == "near-known", Content.pdq.is_not(None))
            .order_by(Content.id)
            .limit(2)
        ).all()
        found = session.execute(
            select(Identifier.type, Identifier.value)
            .where(
                Identifier.id.in_(
                    select(IdentifierOccurrence.identifier_id).where(IdentifierOccurrence.case_id == case.id)
                ),
                Identifier.type.in_(("ipv4", "email", "handle")),
            )
            .order_by(Identifier.type, Identifier.id)
            .limit(3)
        ).all()
    near = [pdq for pdq in near_pdq if pdq]
    out.mkdir(parents=True, exist_ok=True)
    identifiers = [(kind, value) for kind, value in found] + [("ip", ip) for ip in DOC_IPS]
    rows = ["identifier,type,network,hash,hash_type,file_name,observed_at,source"]
    moment = START
    for i, (sha256, md5) in enumerate(known):
        kind, value = identifiers[i % len(identifiers)]
        hash_value, hash_type = (sha256, "sha256") if i % 2 == 0 else (md5, "md5")
        rows.append(f"{value},{kind},bittorrent,{hash_value},{hash_type},holiday_{i}.jpg,{_iso(moment)},")
        moment += timedelta(minutes=47)
    for i, pdq in enumerate(near):
        kind, value = identifiers[(i + 1) % len(identifiers)]
        rows.append(f"{value},{kind},gnutella,{_flip(pdq, 4, i)},pdq,edit_{i}.jpg,{_iso(moment)},")
        moment += timedelta(hours=5)
    rows.append(f"{DOC_IPS[0]},ip,bittorrent,,,,2026-02-04 09:00:00,")  # no zone: skipped, and says why
    csv_path = out / "monitor.csv"
    csv_path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    stix_path = out / "tip.stix.json"
    stix_path.write_text(_bundle(known[0][0] if known else None, near[0] if near else None).serialize(pretty=True))
    return [csv_path, stix_path]


def _bundle(sha256: str | None, pdq: str | None) -> stix2.Bundle:
    tipster = stix2.Identity(name="Hotline tip (synthetic)", identity_class="organization")
    ip = stix2.IPv4Address(value=DOC_IPS[1])
    hashes = {"SHA-256": sha256} if sha256 else {"MD5": "0" * 31 + "1"}
    extra = {"x_pdq": _flip(pdq, 6, 9)} if pdq else {}
    file = stix2.File(name="shared.jpg", hashes=hashes, allow_custom=True, **extra)
    observed = stix2.ObservedData(
        first_observed=_iso(START + timedelta(days=2)),
        last_observed=_iso(START + timedelta(days=2, minutes=3)),
        number_observed=1,
        object_refs=[ip.id, file.id],
    )
    indicator = stix2.Indicator(
        pattern=f"[ipv4-addr:value = '{DOC_IPS[1]}']", pattern_type="stix", valid_from=_iso(START)
    )
    sighting = stix2.Sighting(
        sighting_of_ref=indicator.id, observed_data_refs=[observed.id], where_sighted_refs=[tipster.id]
    )
    return stix2.Bundle(tipster, ip, file, observed, indicator, sighting, allow_custom=True)


def _flip(pdq: str, bits: int, seed: int) -> str:
    value = int(pdq, 16)
    for bit in random.Random(seed).sample(range(256), bits):
        value ^= 1 << bit
    return f"{value:064x}"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reference")
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    store = open_store(load_config().database_url)
    try:
        for path in write_demo_sightings(store, args.reference, args.out):
            print(path)
    finally:
        store.dispose()


if __name__ == "__main__":
    main()
