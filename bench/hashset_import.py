#!/usr/bin/env python
"""Hash-set import at scale (issue 4): a 10M-entry plain MD5 list and a 1M-media VICS 2.0 file.

Prints one JSON document on stdout (progress goes to stderr). In one run:

  plain      N random MD5s, one a line, imported into a fresh SQLite store with haven.hashsets.import_hashset
  vics       a VICS 2.0 #Cases file of N Media (MD5, SHA1, Category, IsPrecategorized, MediaSize,
             AlternativeHashes SHA256 + PDQ), imported the same way; and a smaller one (--vics-small) to
             show peak memory does not grow with the file
  naive      the big VICS file through json.load only (no inserts): its time and peak memory, the cost
             of not streaming before a single row is written

Every measurement runs in a child process of its own, so peak RSS (getrusage ru_maxrss) belongs to that
one job; ``rss_start_mib`` is the child's RSS after its imports, before the work. Files go to bench/out/
(gitignored) and are reused when they already have the requested size.

    .venv/bin/python bench/hashset_import.py [--plain N] [--vics N] [--vics-small N] [--no-naive] [--keep-db]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

OUT = Path(__file__).parent / "out" / "hashset_import"
CHUNK = 100_000
CONTEXT = "http://github.com/ICMEC/ProjectVic/DataModels/2.0.xml/US/$metadata#Cases"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def rss_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def write_plain(path: Path, count: int) -> Path:
    if path.exists() and path.stat().st_size == count * 33:  # 32 hex digits and a newline
        return path
    log(f"writing {count:,} MD5s to {path}")
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as out:
        for start in range(0, count, CHUNK):
            raw = os.urandom(16 * min(CHUNK, count - start)).hex()
            out.write("\n".join(raw[i : i + 32] for i in range(0, len(raw), 32)) + "\n")
    tmp.rename(path)
    return path


def write_vics(path: Path, count: int) -> Path:
    marker = path.with_suffix(".count")
    if path.exists() and marker.exists() and marker.read_text() == str(count):
        return path
    log(f"writing {count:,} VICS Media to {path}")
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as out:
        out.write(f'{{"@odata.context": "{CONTEXT}", "value": [{{"CaseID": "BENCH-1", "CaseNumber": "B1", "Media": [')
        for start in range(0, count, CHUNK):
            n = min(CHUNK, count - start)
            raw = os.urandom((16 + 20 + 32 + 32) * n).hex()
            records = []
            for i in range(n):
                base = i * 200
                md5, sha1 = raw[base : base + 32], raw[base + 32 : base + 72]
                sha256, pdq = raw[base + 72 : base + 136], raw[base + 136 : base + 200]
                records.append(
                    f'{{"MediaID": {start + i + 1}, "Category": {1 + (start + i) % 3}, "IsPrecategorized": true,'
                    f' "MD5": "{md5.upper()}", "SHA1": "{sha1.upper()}",'
                    f' "MediaSize": {1000 + (start + i) * 7 % 900_000},'
                    f' "AlternativeHashes": [{{"HashName": "SHA256", "HashValue": "{sha256}"}},'
                    f' {{"HashName": "PDQ", "HashValue": "{pdq}"}}]}}'
                )
            out.write(("," if start else "") + ",\n".join(records))
        out.write("]}]}\n")
    tmp.rename(path)
    marker.write_text(str(count))
    return path


# --- children: one measurement each --------------------------------------------------------------------------


def child_import(file: str, db: str) -> dict[str, Any]:
    from haven.hashsets import import_hashset
    from haven.store import open_store

    Path(db).unlink(missing_ok=True)
    store = open_store(f"sqlite:///{db}")
    start_rss = rss_mib()
    began = time.perf_counter()
    result = import_hashset(store, file, user="bench")
    seconds = time.perf_counter() - began
    store.dispose()
    return {
        "format": result.format,
        "imported": result.imported,
        "skipped": result.skipped,
        "seconds": round(seconds, 2),
        "entries_per_s": round(result.imported / seconds),
        "rss_start_mib": round(start_rss, 1),
        "peak_rss_mib": round(peak_mib(), 1),
        "db_mib": round(sum(p.stat().st_size for p in Path(db).parent.glob(Path(db).name + "*")) / 2**20, 1),
    }


def child_naive(file: str) -> dict[str, Any]:
    start_rss = rss_mib()
    began = time.perf_counter()
    with Path(file).open("rb") as stream:
        document = json.load(stream)
    media = sum(len(case.get("Media", ())) for case in document["value"])
    seconds = time.perf_counter() - began
    return {
        "what": "json.load of the whole file only, no parsing into entries and no inserts",
        "media": media,
        "seconds": round(seconds, 2),
        "media_per_s": round(media / seconds),
        "rss_start_mib": round(start_rss, 1),
        "peak_rss_mib": round(peak_mib(), 1),
    }


def run_child(*args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"child {args} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plain", type=int, default=10_000_000, help="entries in the plain MD5 list (0: skip)")
    parser.add_argument("--vics", type=int, default=1_000_000, help="Media in the big VICS file (0: skip)")
    parser.add_argument("--vics-small", type=int, default=200_000, help="Media in the small VICS file (0: skip)")
    parser.add_argument("--no-naive", action="store_true", help="skip the json.load comparison")
    parser.add_argument("--keep-db", action="store_true", help="keep the SQLite stores in bench/out")
    parser.add_argument("--db-dir", type=Path, default=OUT, help="where the SQLite stores go (default: with the files)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        print(json.dumps(child_import(*rest) if kind == "import" else child_naive(*rest)))
        return

    OUT.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "store": "SQLite (WAL, synchronous=NORMAL), fresh file per import",
    }
    jobs: list[tuple[str, Path]] = []
    if args.plain:
        jobs.append((f"plain_{args.plain}", write_plain(OUT / f"plain-{args.plain}.txt", args.plain)))
    if args.vics_small:
        jobs.append((f"vics_{args.vics_small}", write_vics(OUT / f"vics-{args.vics_small}.json", args.vics_small)))
    if args.vics:
        jobs.append((f"vics_{args.vics}", write_vics(OUT / f"vics-{args.vics}.json", args.vics)))
    for label, path in jobs:
        args.db_dir.mkdir(parents=True, exist_ok=True)
        db = args.db_dir / f"{label}.sqlite"
        log(f"importing {path.name}")
        report[label] = {"file_mib": round(path.stat().st_size / 2**20, 1), **run_child("import", str(path), str(db))}
        if not args.keep_db:
            for part in db.parent.glob(db.name + "*"):
                part.unlink()
        log(json.dumps(report[label]))
    if args.vics and not args.no_naive:
        log("json.load of the big VICS file")
        report[f"naive_json_load_vics_{args.vics}"] = run_child("naive", str(OUT / f"vics-{args.vics}.json"))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
