#!/usr/bin/env python
"""Intel at scale (issue 7): deconfliction against a 1,000,000-identifier register, register export and
import rates, and identifier extraction MB/s. Prints one JSON document on stdout (progress on stderr).

  store        --identifiers identifiers (default 1,000,000) spread over --cases cases (default 1,000), each
               held once (identifier + identifier_occurrence rows written directly, as extraction would),
               plus one matched series and one named victim identity per case (200 series, 300 names).
  new case     --new identifiers (default 10,000), --overlap of them (default 10%) already in the store.
  export       the register of the --cases cases (before the new case exists) under an agreed key: entries/s.
  import       that file imported back as a partner register (1M keyed hashes): entries/s.
  deconflict   the new case against the store's other cases and the partner register
               (haven.intel.register.deconflict: the code `haven intel deconflict REF` runs): first run and
               best of three; target < 1 s. --store-wide also times the run without REF (here every value
               matches the partner register, since it is this store's own: a worst case).
  extract      haven.intel.detect.find_identifiers over --extract-mb MB of generated chat-log text
               (skipped, and said so, if the detect part is not installed).
  peak RSS     ru_maxrss of this process after each phase.

    .venv/bin/python bench/intel_scale.py [--identifiers N --cases N --new N] [--database-url URL]

SQLite in a temporary folder by default; --database-url must name an EMPTY database (e.g. PostgreSQL).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from haven.intel.register.deconflict import deconflict
from haven.intel.register.exchange import export_register, import_register
from haven.intel.register.keys import KeyRing
from haven.store import Store, open_store
from haven.store.models import (
    Case,
    Content,
    FaceIdentity,
    HashEntry,
    HashSet,
    Identifier,
    IdentifierOccurrence,
    Match,
)

BATCH = 20_000
USER = "bench"
TYPES = ("email", "phone", "ipv4", "handle", "domain", "wallet", "url", "payment")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def synthetic(index: int) -> tuple[str, str]:
    """A distinct (type, normalized) per index, shaped like the real normalized forms."""
    kind = TYPES[index % len(TYPES)]
    if kind == "email":
        return kind, f"user{index}@mail{index % 997}.example.org"
    if kind == "phone":
        return kind, f"+1415{index:07d}"
    if kind == "ipv4":
        return kind, f"{1 + index // 16_777_216 % 223}.{index // 65_536 % 256}.{index // 256 % 256}.{index % 256}"
    if kind == "handle":
        return kind, f"telegram/trader_{index}"
    if kind == "domain":
        return kind, f"shop{index}.example.net"
    if kind == "wallet":
        return kind, f"eth:0x{index:040x}"
    if kind == "url":
        return kind, f"http://files{index % 5000}.example.com/get/{index}"
    return kind, f"paypal:buyer{index}"


def _rows(count: int, start: int) -> Iterator[list[dict[str, Any]]]:
    now = datetime.now(UTC)
    batch: list[dict[str, Any]] = []
    for i in range(start, start + count):
        kind, normalized = synthetic(i)
        batch.append(
            {
                "id": i + 1,
                "type": kind,
                "normalized": normalized,
                "value": normalized,
                "detail": "{}",
                "first_seen_at": now,
            }
        )
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def build_store(store: Store, identifiers: int, cases: int) -> dict[str, Any]:
    """Cases (and an empty one for the new case), one content each, identifiers and their occurrences."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    with store.session() as session:
        session.execute(
            insert(Case),
            [
                {"id": c + 1, "reference": f"SCALE-{c:05d}", "scheme": "vic-us", "created_by": USER, "created_at": now}
                for c in range(cases + 1)
            ],
        )
        session.execute(
            insert(Content),
            [
                {
                    "id": c + 1,
                    "case_id": c + 1,
                    "sha256": f"{c:064x}",
                    "md5": f"{c:032x}",
                    "sha1": f"{c:040x}",
                    "size": 1,
                    "kind": "text",
                }
                for c in range(cases + 1)
            ],
        )
        known = HashSet(name="bench-series", kind="known", format="plain", file_sha256="0" * 64, imported_by=USER)
        session.add(known)
        session.flush()
        series_entries = []
        for s in range(200):
            entry = HashEntry(set_id=known.id, sha256=f"{s:064x}", series=f"Series {s}")
            session.add(entry)
            series_entries.append(entry)
        session.flush()
        session.execute(
            insert(Match),
            [
                {
                    "content_id": c + 1,
                    "entry_id": series_entries[c % 200].id,
                    "set_id": known.id,
                    "method": "sha256",
                    "distance": 0,
                }
                for c in range(cases)
            ],
        )
        session.execute(
            insert(FaceIdentity),
            [
                {
                    "case_id": c + 1,
                    "model": "bench",
                    "name": f"Victim {c % 300}",
                    "analyst_named": True,
                    "locked": True,
                    "created_by": USER,
                    "created_at": now,
                }
                for c in range(cases)
            ],
        )
    log(f"cases: {cases + 1}")
    written = 0
    for batch in _rows(identifiers, 0):
        with store.session() as session:
            session.execute(insert(Identifier), batch)
            session.execute(
                insert(IdentifierOccurrence),
                [
                    {
                        "case_id": row["id"] % cases + 1,
                        "identifier_id": row["id"],
                        "content_id": row["id"] % cases + 1,
                        "path": "EX1:/customers.csv",
                        "line": row["id"] // cases + 1,
                        "char_offset": 0,
                    }
                    for row in batch
                ],
            )
        written += len(batch)
        if written % 200_000 == 0:
            log(f"identifiers: {written:,}")
    analyze(store)
    return {"seconds": round(time.perf_counter() - started, 1)}


def add_new_case(store: Store, identifiers: int, cases: int, new: int, overlap: float) -> int:
    """The case to deconflict: ``new`` identifiers, ``overlap`` of them already held by other cases."""
    with store.session() as session:
        series_entry, known_set = session.execute(select(HashEntry.id, HashEntry.set_id).order_by(HashEntry.id)).first()
    new_case = cases + 1
    overlapping = int(new * overlap)
    rng = random.Random(7)
    old_ids = rng.sample(range(1, identifiers + 1), overlapping)
    with store.session() as session:
        for batch in _rows(new - overlapping, identifiers):
            session.execute(insert(Identifier), batch)
        held = old_ids + list(range(identifiers + 1, identifiers + new - overlapping + 1))
        session.execute(
            insert(IdentifierOccurrence),
            [
                {
                    "case_id": new_case,
                    "identifier_id": i,
                    "content_id": new_case,
                    "path": "NEW:/list.csv",
                    "line": n + 1,
                    "char_offset": 0,
                }
                for n, i in enumerate(held)
            ],
        )
        session.execute(
            insert(Match),
            [
                {
                    "content_id": new_case,
                    "entry_id": series_entry,
                    "set_id": known_set,
                    "method": "sha256",
                    "distance": 0,
                }
            ],
        )
    analyze(store)
    return overlapping


def analyze(store: Store) -> None:
    """Fresh planner statistics after the bulk load (SQLite never gathers them itself; PostgreSQL's
    autovacuum would, later)."""
    if store.dialect == "postgresql":
        with store.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    else:
        store.refresh_statistics()


def timed(action: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def bench_exchange(store: Store, ring: KeyRing, home: Path) -> dict[str, Any]:
    """Export every case's register under an agreed key, then import it back as a partner's."""
    key = ring.generate("bench-partner")
    register = home / "register.jsonl"
    with store.session() as session:
        written, export_s = timed(
            lambda: export_register(
                session, register, key=key, agency="Bench Partner Unit", contact="desk@example.org", user=USER
            )
        )
    log(f"export: {written.entry_count:,} entries in {export_s:.1f} s")
    with store.session() as session:
        imported, import_s = timed(lambda: import_register(session, register, key=key, user=USER))
        entries = imported.register.entry_count
    log(f"import: {entries:,} entries in {import_s:.1f} s")
    analyze(store)
    return {
        "export": {
            "entries": written.entry_count,
            "seconds": round(export_s, 2),
            "entries_per_s": round(written.entry_count / export_s),
            "file_mb": round(register.stat().st_size / 1e6, 1),
        },
        "import": {"entries": entries, "seconds": round(import_s, 2), "entries_per_s": round(entries / import_s)},
        "peak_rss_mb_after_exchange": peak_rss_mb(),
    }


def bench_deconflict(store: Store, ring: KeyRing, new_ref: str, store_wide: bool) -> dict[str, Any]:
    runs, found = [], None
    for _ in range(3):
        with store.session() as session:
            case = session.scalar(select(Case).where(Case.reference == new_ref))
            found, seconds = timed(lambda case=case, session=session: deconflict(session, case, user=USER, ring=ring))
        runs.append(seconds)
        log(f"deconflict {new_ref}: {len(found.overlaps):,} overlaps in {seconds:.3f} s")
    assert found is not None
    kinds: dict[str, int] = {}
    for overlap in found.overlaps:
        kinds[overlap.kind] = kinds.get(overlap.kind, 0) + 1
    result: dict[str, Any] = {
        "deconflict_new_case": {
            "first_s": round(runs[0], 3),
            "best_s": round(min(runs), 3),
            "target_s": 1.0,
            "overlaps": len(found.overlaps),
            "by_kind": kinds,
            "with_partner": sum(1 for o in found.overlaps if o.partners),
            "with_other_cases": sum(1 for o in found.overlaps if o.cases),
        },
        "peak_rss_mb_after_deconflict": peak_rss_mb(),
    }
    if store_wide:
        with store.session() as session:
            whole, whole_s = timed(lambda: deconflict(session, None, user=USER, ring=ring))
        log(f"deconflict store-wide: {len(whole.overlaps):,} overlaps in {whole_s:.1f} s")
        result["deconflict_store_wide"] = {"seconds": round(whole_s, 1), "overlaps": len(whole.overlaps)}
    return result


def chat_text(megabytes: float) -> str:
    rng = random.Random(11)
    lines, size, i = [], 0, 0
    words = [
        "ok",
        "sure",
        "send",
        "it",
        "later",
        "tonight",
        "the",
        "files",
        "are",
        "ready",
        "check",
        "the",
        "link",
        "version",
        "2.4.1",
        "build",
    ]
    while size < megabytes * 1_000_000:
        i += 1
        filler = " ".join(rng.choice(words) for _ in range(rng.randint(4, 12)))
        kind, value = synthetic(i)
        if kind == "handle":
            value = "@" + value.split("/")[1]
        elif kind == "wallet" or kind == "payment":
            value = "paypal.me/" + value.split(":")[1] if kind == "payment" else "not-a-wallet"
        line = f"[2024-03-0{i % 9 + 1} 12:{i % 60:02d}:00] user{i % 50}: {filler} {value} {filler[:20]}\n"
        lines.append(line)
        size += len(line)
    return "".join(lines)


def bench_extract(megabytes: float) -> dict[str, Any]:
    try:
        from haven.intel.detect import find_identifiers
    except ImportError as error:
        return {"skipped": f"haven.intel.detect not available ({error})"}
    text = chat_text(megabytes)
    blocks, block, size = [], [], 0
    for line in text.splitlines(keepends=True):  # the readers hand the detectors text in pieces like these
        block.append(line)
        size += len(line)
        if size >= 64 * 1024:
            blocks.append("".join(block))
            block, size = [], 0
    if block:
        blocks.append("".join(block))
    started = time.perf_counter()
    found = sum(len(find_identifiers(b)) for b in blocks)
    seconds = time.perf_counter() - started
    mb = len(text.encode()) / 1e6
    return {"mb": round(mb, 1), "seconds": round(seconds, 2), "mb_per_s": round(mb / seconds, 2), "identifiers": found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--identifiers", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=1_000)
    parser.add_argument("--new", type=int, default=10_000)
    parser.add_argument("--overlap", type=float, default=0.1, help="share of the new case already in the store")
    parser.add_argument("--database-url", help="an EMPTY database (default: SQLite in a temporary folder)")
    parser.add_argument("--extract-mb", type=float, default=8.0)
    parser.add_argument("--store-wide", action="store_true", help="also time `haven intel deconflict` without REF")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (store, register file)")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="haven-intel-scale-"))
    url = args.database_url or f"sqlite:///{home}/haven.db"
    store = open_store(url)
    result: dict[str, Any] = {
        "backend": store.dialect,
        "identifiers": args.identifiers,
        "cases": args.cases,
        "new_case_identifiers": args.new,
    }
    try:
        result["build"] = build_store(store, args.identifiers, args.cases)
        result["peak_rss_mb_after_build"] = peak_rss_mb()
        ring = KeyRing(home)
        result.update(bench_exchange(store, ring, home))
        result["new_case_overlapping"] = add_new_case(store, args.identifiers, args.cases, args.new, args.overlap)
        result.update(bench_deconflict(store, ring, f"SCALE-{args.cases:05d}", args.store_wide))
        result["extract"] = bench_extract(args.extract_mb)
        result["peak_rss_mb"] = peak_rss_mb()
    finally:
        store.dispose()
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
