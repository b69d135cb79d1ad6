#!/usr/bin/env python
"""Targets (issue 7): fuzzy record linkage quality and the cost of linking a case.

Prints one JSON document on stdout. All data is generated (fictional names, example.org addresses,
+44 1632 drama numbers).

  fuzzy     a customer list, a forum list and an SMS log of the same synthetic people (names drawn from a
            small pool, so many different people share a name), scored by haven.intel.targets.fuzzy.score_pairs with
            the priors and with a forced training run: pairs, precision and recall against the truth, seconds.
  link      haven.intel.targets.service.link_case on a SQLite store: N records in the case and N in another
            case (every record: an e-mail, a phone, name + address + postcode), seconds and what was found.

    .venv/bin/python bench/intel_targets.py [--people 700] [--records 10000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from haven.cases import create_case
from haven.intel.targets.fuzzy import score_pairs
from haven.intel.targets.fuzzy_features import RecordFeatures, features
from haven.intel.targets.service import link_case
from haven.store import open_store
from haven.store.models import Case, Content, Identifier, IdentifierOccurrence, IntelRecord

FIRST = ["anna", "bob", "carla", "dmitri", "eve", "farid", "gina", "hugo", "ines", "jon", "kim", "lars", "mia", "nils"]
LAST = ["smith", "jones", "garcia", "novak", "kowalski", "müller", "rossi", "dubois", "silva", "berg", "ivanov", "khan"]
STREETS = ["high street", "church road", "station road", "main street", "park lane", "mill lane", "green way"]


def synthetic_lists(people: int, seed: int) -> tuple[list[RecordFeatures], dict[int, int]]:
    rnd = random.Random(seed)
    rows: list[RecordFeatures] = []
    person_of: dict[int, int] = {}
    for person in range(people):
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        house, street = rnd.randint(1, 200), rnd.choice(STREETS)
        postcode = f"AB{rnd.randint(1, 99)} {rnd.randint(1, 9)}XY"
        email, phone = f"{first}.{last}{rnd.randint(1, 999)}@example.org", f"+4416329{rnd.randint(10000, 99999)}"
        listed = [({"Name": f"{first} {last}", "Address": f"{house} {street}", "Postcode": postcode}, ("email", email))]
        if person % 2 == 0:
            forum = {
                "first": first,
                "last": last,
                "street": f"{house} {street}".replace("street", "st"),
                "zip": postcode,
            }
            listed.append((forum, ("phone", phone)))
            listed.append(({"sender": f"{first[0]} {last}"}, ("phone", phone)))  # an SMS log: initial, same phone
        for fields, identifier in listed:
            uid = len(rows) + 1
            rows.append(features(uid, 1, True, fields, [identifier]))
            person_of[uid] = person
    return rows, person_of


def fuzzy_quality(people: int) -> dict[str, Any]:
    rows, person_of = synthetic_lists(people, 3)
    truth = 3 * sum(1 for p in range(people) if p % 2 == 0)  # shop-forum, forum-SMS, shop-SMS
    found: dict[str, Any] = {"records": len(rows), "true_pairs": truth}
    for label, minimum in (("priors", 10**9), ("train", 100)):
        start = time.perf_counter()
        result = score_pairs(rows, train_min_records=minimum)
        correct = sum(person_of[p.left] == person_of[p.right] for p in result.pairs)
        found[label] = {
            "model": result.model,
            "pairs": len(result.pairs),
            "precision": round(correct / len(result.pairs), 4) if result.pairs else None,
            "recall": round(correct / truth, 4),
            "seconds": round(time.perf_counter() - start, 2),
        }
    return found


def link_cost(records: int) -> dict[str, Any]:
    rnd = random.Random(1)
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{Path(folder) / 'bench.db'}")
        with store.session() as session:
            cases = [create_case(session, f"BENCH-{k}", user="bench")[0] for k in range(2)]
            contents = []
            for case in cases:
                digest = hashlib.sha256(case.reference.encode()).hexdigest()
                content = Content(case_id=case.id, sha256=digest, md5="0" * 32, sha1="0" * 40, size=1, kind="document")
                session.add(content)
                session.flush()
                contents.append(content)
            values = [(f"user{i}@example.org", f"+4416329{i % records:06d}") for i in range(2 * records)]
            phones = sorted({phone for _, phone in values})  # the other case's people have the same phones
            identifiers = [("email", email) for email, _ in values] + [("phone", phone) for phone in phones]
            session.execute(
                insert(Identifier), [{"type": t, "normalized": v, "value": v, "detail": "{}"} for t, v in identifiers]
            )
            ids = dict(session.execute(select(Identifier.normalized, Identifier.id)).all())
            occurrences, intel_records = [], []
            for i, (email, phone) in enumerate(values):
                k = 0 if i < records else 1
                for offset, value in ((0, email), (40, phone)):
                    occurrences.append(
                        {
                            "case_id": cases[k].id,
                            "identifier_id": ids[value],
                            "content_id": contents[k].id,
                            "path": "EX1:/list.csv",
                            "line": i + 1,
                            "char_offset": offset,
                            "field": "email" if offset == 0 else "phone",
                            "record": f"row:{i}",
                        }
                    )
                fields = {
                    "Name": f"{rnd.choice(FIRST)} {rnd.choice(LAST)}",
                    "Address": f"{rnd.randint(1, 300)} high street",
                }
                intel_records.append(
                    {
                        "case_id": cases[k].id,
                        "content_id": contents[k].id,
                        "record": f"row:{i}",
                        "fields": json.dumps(fields | {"zip": f"AB{rnd.randint(1, 99)}"}, sort_keys=True),
                    }
                )
            for first in range(0, len(occurrences), 5000):
                session.execute(insert(IdentifierOccurrence), occurrences[first : first + 5000])
            for first in range(0, len(intel_records), 5000):
                session.execute(insert(IntelRecord), intel_records[first : first + 5000])
        start = time.perf_counter()
        with store.session() as session:
            case = session.scalars(select(Case).where(Case.reference == "BENCH-0")).one()
            summary = link_case(session, case, "bench")
        seconds = time.perf_counter() - start
        store.dispose()
    return {"records_in_case": records, "records_in_other_case": records, "seconds": round(seconds, 2),
            "targets": summary.targets, "leads": summary.leads, "model": summary.fuzzy_model}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=700)
    parser.add_argument("--records", type=int, default=10_000)
    args = parser.parse_args()
    json.dump({"fuzzy": fuzzy_quality(args.people), "link": link_cost(args.records)}, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
