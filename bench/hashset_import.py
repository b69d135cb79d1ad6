#!/usr/bin/env python
"""Hash-set import at scale (issue 4): a 10M-entry plain MD5 list and a 1M-media VICS 2.0 file.

Prints one JSON document on stdout (progress goes to stderr). In one run:

  plain      N random MD5s, one a line, imported into a fresh SQLite store with haven.hashsets.import_hashset
  vics       a VICS 2.0 #Cases file of N Media (MD5, SHA1, Category, IsPrecategorized, MediaSize,
             AlternativeHashes SHA256 + PDQ), imported the same way (best of --repeat runs); and a smaller
             one (--vics-small) to show peak memory does not grow with the file
  vics_pg    the big VICS file into a fresh PostgreSQL database, when --pg-url names a server
  naive      the big VICS file through json.load only (no inserts): its time and peak memory, the cost
             of not streaming before a single row is written
  compare    (--compare) the big VICS file again: ``background`` always with the forked reader (by
             default Haven reads in-process when the 1-minute load average leaves no core to spare),
             ``in_process`` with the reader in the importer's own process, and ``ijson_in_process``
             with ijson for every record as well (the import as it was before the fast path); the
             modes take turns, run by run, so they share the machine's minutes alike

Every measurement runs in a child process of its own, so peak RSS (getrusage ru_maxrss) belongs to that
one job: ``peak_rss_mib`` is the importer's, ``reader_peak_rss_mib`` the forked reader's (haven's
hashset_loader; 0 when the file was read in-process); ``rss_start_mib`` is the importer's RSS after its
imports, before the work. Files go to bench/out/ (gitignored) and are reused when they already have the
requested size. The machine is shared: compare figures from one run, and take the best of several.

    .venv/bin/python bench/hashset_import.py [--plain N] [--vics N] [--vics-small N] [--repeat N]
        [--pg-url postgresql+psycopg://USER@HOST:PORT/DB] [--compare] [--no-naive] [--keep-db]
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
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

OUT = Path(__file__).parent / "out" / "hashset_import"
CHUNK = 100_000
CONTEXT = "http://github.com/ICMEC/ProjectVic/DataModels/2.0.xml/US/$metadata#Cases"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def rss_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


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

MODES = ("default", "background", "in_process", "ijson_in_process")


def child_import(file: str, url: str, mode: str) -> dict[str, Any]:
    from haven import hashset_loader
    from haven.formats import vics, vics_scan
    from haven.hashsets import import_hashset
    from haven.store import open_store

    if mode == "background":
        hashset_loader._core_to_spare = lambda *_: True  # whatever the load: the forked reader's figure
    elif mode != "default":
        hashset_loader.BACKGROUND_MIN_BYTES = 1 << 62
    if mode == "ijson_in_process":

        def ijson_only(*_args: Any) -> Any:
            raise vics_scan.UnsureError("bench: ijson for every record")
            yield

        vics.media_batches = ijson_only  # type: ignore[assignment]
    store = open_store(url)
    load_before = os.getloadavg()[0]
    start_rss = rss_mib()
    cpu_before = cpu_seconds(resource.RUSAGE_SELF), cpu_seconds(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    result = import_hashset(store, file, user="bench")
    seconds = time.perf_counter() - began
    importer_cpu = cpu_seconds(resource.RUSAGE_SELF) - cpu_before[0]
    reader_cpu = cpu_seconds(resource.RUSAGE_CHILDREN) - cpu_before[1]
    store.dispose()
    report: dict[str, Any] = {
        "mode": mode,
        "load_average_before": round(load_before, 2),
        "format": result.format,
        "imported": result.imported,
        "skipped": result.skipped,
        "seconds": round(seconds, 2),
        "entries_per_s": round(result.imported / seconds),
        "rss_start_mib": round(start_rss, 1),
        "peak_rss_mib": round(peak_mib(), 1),
        "reader_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        # CPU seconds hardly depend on how busy the machine is, unlike wall time: the busiest process's
        # CPU time bounds the import from below on an idle machine with a core for each process.
        "importer_cpu_s": round(importer_cpu, 2),
        "reader_cpu_s": round(reader_cpu, 2),
        "entries_per_cpu_bound_s": round(result.imported / max(importer_cpu, reader_cpu, 1e-9)),
    }
    if url.startswith("sqlite:///"):
        db = Path(url.removeprefix("sqlite:///"))
        report["db_mib"] = round(sum(p.stat().st_size for p in db.parent.glob(db.name + "*")) / 2**20, 1)
    return report


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


# --- stores --------------------------------------------------------------------------------------------------


def sqlite_store(db_dir: Path, label: str) -> tuple[str, Callable[[], None]]:
    db_dir.mkdir(parents=True, exist_ok=True)
    db = db_dir / f"{label}.sqlite"

    def drop() -> None:
        for part in db.parent.glob(db.name + "*"):
            part.unlink()

    drop()
    return f"sqlite:///{db}", drop


def pg_store(admin_url: str) -> tuple[str, Callable[[], None]]:
    """A fresh database on the server of ``admin_url`` (as HAVEN_TEST_PG_URL), dropped by the returned call."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"haven_bench_{uuid.uuid4().hex[:12]}"
    libpq = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(libpq, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


def measure(
    label: str,
    path: Path,
    runs: int,
    make_store: Callable[[], tuple[str, Callable[[], None]]],
    modes: tuple[str, ...] = ("default",),
    keep: bool = False,
) -> dict[str, dict[str, Any]]:
    """``runs`` imports of ``path`` in each mode, each into a fresh store, the modes taking turns so that
    each sees the same share of a busy machine: all of them, and the fastest, by mode."""
    results: dict[str, list[dict[str, Any]]] = {mode: [] for mode in modes}
    for run in range(runs):
        for mode in modes:
            url, drop = make_store()
            log(f"{label}: importing {path.name} ({mode}, run {run + 1}/{runs})")
            try:
                results[mode].append(run_child("import", str(path), url, mode))
            finally:
                if not keep:
                    drop()
            log(json.dumps(results[mode][-1]))
    return {
        mode: {
            "file_mib": round(path.stat().st_size / 2**20, 1),
            "best": max(done, key=lambda result: result["entries_per_s"]),
            "entries_per_s_all": [result["entries_per_s"] for result in done],
            "peak_rss_mib_max": max(result["peak_rss_mib"] for result in done),
            "entries_per_cpu_bound_s_all": [result.get("entries_per_cpu_bound_s") for result in done],
        }
        for mode, done in results.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plain", type=int, default=10_000_000, help="entries in the plain MD5 list (0: skip)")
    parser.add_argument("--vics", type=int, default=1_000_000, help="Media in the big VICS file (0: skip)")
    parser.add_argument("--vics-small", type=int, default=200_000, help="Media in the small VICS file (0: skip)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each VICS import; the best is reported")
    parser.add_argument("--pg-url", help="PostgreSQL server (SQLAlchemy URL, e.g. $HAVEN_TEST_PG_URL): VICS there too")
    parser.add_argument("--compare", action="store_true", help="also import the big VICS file the slower ways")
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
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_at_start": os.getloadavg(),
            "platform": platform.platform(),
        },
        "store": "SQLite (WAL, synchronous=NORMAL), fresh file per import; PostgreSQL: fresh database",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }

    def sqlite_for(label: str) -> Callable[[], tuple[str, Callable[[], None]]]:
        return lambda: sqlite_store(args.db_dir, label)

    big = write_vics(OUT / f"vics-{args.vics}.json", args.vics) if args.vics else None
    if args.vics_small:
        small = write_vics(OUT / f"vics-{args.vics_small}.json", args.vics_small)
        label = f"vics_{args.vics_small}"
        report[label] = measure(label, small, args.repeat, sqlite_for(label), keep=args.keep_db)["default"]
    if big is not None:
        label = f"vics_{args.vics}"
        modes = MODES if args.compare else MODES[:1]
        for mode, figures in measure(label, big, args.repeat, sqlite_for(label), modes, args.keep_db).items():
            report[label if mode == "default" else f"{label}_{mode}"] = figures
        if args.pg_url:
            pg_modes = MODES[:2] if args.compare else MODES[:1]
            for mode, figures in measure(label, big, args.repeat, lambda: pg_store(args.pg_url), pg_modes).items():
                report[f"{label}_postgresql" if mode == "default" else f"{label}_postgresql_{mode}"] = figures
        if not args.no_naive:
            log("json.load of the big VICS file")
            report[f"naive_json_load_vics_{args.vics}"] = run_child("naive", str(big))
    if args.plain:
        label = f"plain_{args.plain}"
        plain = write_plain(OUT / f"plain-{args.plain}.txt", args.plain)
        report[label] = measure(label, plain, 1, sqlite_for(label), keep=args.keep_db)["default"]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
