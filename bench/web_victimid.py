#!/usr/bin/env python
"""Latency of the victim-identification and intel pages on a synthetic 100,000-item case (SQLite, and
PostgreSQL with --pg-url). Prints one JSON document on stdout (progress on stderr).

The case comes from bench/synthetic_case.py (contents with EXIF camera and GPS on some, a blurred
thumbnail each); faces are planted straight into the store (`--identities` identities of 1-20 faces on
random pictures, with random embeddings) and so are identifiers (`--identifiers` e-mail addresses and
phones, 1-5 occurrences each). One analyst (in-process TestClient, one request at a time: the unloaded
cost of a page) times each page `--repeat` times and reports p50/max in ms:

    identities_first / identities_deep   GET /cases/REF/identities (first page; a keyset page ~90% in)
    identity                             GET /cases/REF/identities/one?identity=N (the largest)
    cameras, places                      GET /cases/REF/cameras, /places (whole-case clue functions)
    identifiers_first / identifiers_deep GET /cases/REF/intel/identifiers (first page; ~90% in)
    targets, deconfliction               GET /cases/REF/intel/targets, /intel/deconfliction

    .venv/bin/python bench/web_victimid.py                         # 100,000 items on SQLite
    .venv/bin/python bench/web_victimid.py --items 20000 --pg-url postgresql+psycopg://haven@127.0.0.1:54329/haven_test
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from backends import fresh_pg_database
from haven import accounts
from haven.config import Config
from haven.faces.model import model_name
from haven.store import Store, open_store
from haven.store.models import Case, Content, Face, FaceIdentity, Identifier, IdentifierOccurrence
from haven.web.app import create_app
from synthetic_case import build_synthetic_case
from web_fixtures import BASE_URL, PASSWORD, login

CASE_REF = "BENCH-VID"
USER = "analyst"
BATCH = 5000


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def plant_faces(store: Store, case_id: int, identities: int, model: str, rng: random.Random) -> None:
    with store.session() as session:
        pictures = list(session.scalars(select(Content.id).where(Content.case_id == case_id, Content.kind == "image")))
        session.execute(
            insert(FaceIdentity), [{"case_id": case_id, "model": model, "created_by": "bench"}] * identities
        )
        ids = list(session.scalars(select(FaceIdentity.id).where(FaceIdentity.case_id == case_id)))
    rows: list[dict[str, Any]] = []
    seq: dict[int, int] = {}
    for identity in ids:
        for _ in range(rng.randint(1, 20)):
            content = rng.choice(pictures)
            seq[content] = seq.get(content, -1) + 1
            rows.append(
                {
                    "content_id": content, "model": model, "seq": seq[content], "x": 10, "y": 10, "w": 60, "h": 60,
                    "landmarks": "[]", "quality": round(rng.random(), 4), "detector_score": 1.0,
                    "embedding": np.asarray(np.random.default_rng(identity).random(128), dtype="<f4").tobytes(),
                    "identity_id": identity,
                }
            )  # fmt: skip
    for start in range(0, len(rows), BATCH):
        with store.session() as session:
            session.execute(insert(Face), rows[start : start + BATCH])
    log(f"planted {len(ids):,} identities, {len(rows):,} faces")


def plant_identifiers(store: Store, case_id: int, count: int, rng: random.Random) -> None:
    with store.session() as session:
        pictures = list(session.scalars(select(Content.id).where(Content.case_id == case_id).limit(5000)))
    values = []
    for n in range(count):
        if n % 2:
            values.append(
                {"type": "email", "normalized": f"user{n:07d}@mailbox.org", "value": f"user{n:07d}@mailbox.org"}
            )
        else:
            number = f"+4420794{n:06d}"[:13]
            values.append({"type": "phone", "normalized": f"{number}{n}", "value": number, "country": "GB"})
    for start in range(0, len(values), BATCH):
        with store.session() as session:
            session.execute(insert(Identifier), values[start : start + BATCH])
    with store.session() as session:
        ids = list(session.scalars(select(Identifier.id)))
    occurrences = []
    for identifier in ids:
        for k in range(rng.randint(1, 5)):
            occurrences.append(
                {"case_id": case_id, "identifier_id": identifier, "content_id": rng.choice(pictures),
                 "path": f"EX1:/lists/customers_{identifier % 40}.csv", "line": identifier % 9000 + k, "char_offset": k}
            )  # fmt: skip
    for start in range(0, len(occurrences), BATCH):
        with store.session() as session:
            session.execute(insert(IdentifierOccurrence), occurrences[start : start + BATCH])
    log(f"planted {len(ids):,} identifiers, {len(occurrences):,} occurrences")


def timed(client: Any, url: str, repeat: int) -> dict[str, Any]:
    times, status = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url, headers={"accept": "text/html"})
        times.append((time.perf_counter() - started) * 1000)
        status = response.status_code
    return {"p50_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1), "status": status}


def deep_cursor(client: Any, first_url: str, link_id: str, pages: int) -> str:
    """The URL of the page ``pages`` links in, following the pages' own next links."""
    url = first_url
    for _ in range(pages):
        found = re.search(rf'href="([^"]+)" id="{link_id}"', client.get(url).text)
        if not found:
            break
        url = found.group(1).replace("&amp;", "&")
    return url


def run(database_url: str, home: Path, args: argparse.Namespace) -> dict[str, Any]:
    store = open_store(database_url)
    rng = random.Random(1)
    started = time.perf_counter()
    build_synthetic_case(store, CASE_REF, items=args.items)
    config = Config(home=home, database_url=database_url, user="bench")
    with store.session() as session:
        case_id = session.scalar(select(Case.id).where(Case.reference == CASE_REF))
        accounts.create_user(session, USER, PASSWORD, role="investigator", by="bench")
        accounts.add_member(session, CASE_REF, USER, role="investigator", by="bench")
    plant_faces(store, case_id, args.identities, model_name(config.faces), rng)
    plant_identifiers(store, case_id, args.identifiers, rng)
    if store.engine.url.get_backend_name() == "sqlite":
        with store.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    build_seconds = time.perf_counter() - started
    log(f"case built in {build_seconds:.0f} s")

    from fastapi.testclient import TestClient

    client = TestClient(create_app(config, store), base_url=BASE_URL, follow_redirects=False)
    assert login(client, USER, PASSWORD).status_code == 303
    base = f"/cases/{CASE_REF}"
    largest_identity = re.search(r'data-identity="(\d+)"', client.get(f"{base}/identities").text).group(1)
    identity_pages = args.identities // 30
    identifier_pages = args.identifiers // 50
    urls = {
        "identities_first": f"{base}/identities",
        "identities_deep": deep_cursor(client, f"{base}/identities", "identities-next", int(identity_pages * 0.9)),
        "identity": f"{base}/identities/one?identity={largest_identity}",
        "cameras": f"{base}/cameras",
        "places": f"{base}/places",
        "identifiers_first": f"{base}/intel/identifiers",
        "identifiers_deep": deep_cursor(
            client, f"{base}/intel/identifiers", "identifiers-next", int(identifier_pages * 0.9)
        ),
        "targets": f"{base}/intel/targets",
        "deconfliction": f"{base}/intel/deconfliction",
    }
    pages = {}
    for name, url in urls.items():
        pages[name] = timed(client, url, args.repeat)
        log(f"{name}: {pages[name]}")
    return {"build_seconds": round(build_seconds, 1), "pages": pages}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--identities", type=int, default=3_000)
    parser.add_argument("--identifiers", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pg-url", default=None, help="also run on PostgreSQL (a fresh database on that server)")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {
        "items": args.items, "identities": args.identities, "identifiers": args.identifiers, "repeat": args.repeat
    }  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="haven-bench-vid-") as tmp:
        results["sqlite"] = run(f"sqlite:///{tmp}/store.db", Path(tmp) / "home", args)
        if args.pg_url:
            with fresh_pg_database(args.pg_url) as url:
                results["postgresql"] = run(url, Path(tmp) / "home-pg", args)
    json.dump(results, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
