#!/usr/bin/env python
"""Web app latency under concurrent analysts, on a synthetic 100,000-item case (SQLite and PostgreSQL).

Prints one JSON document on stdout (progress on stderr). For each back end:

1. builds the case straight into a fresh store with bulk inserts (bench/synthetic_case.py), plus one
   investigator account per client, members of the case;
2. starts the real server in a subprocess: `haven serve` (one uvicorn worker, as a user runs it) and,
   with `--workers N`, also uvicorn with N worker processes on the same app factory;
3. logs in `--clients` concurrent clients (httpx async, each with its own login session and CSRF token;
   the session cookie is Secure, so the bench carries cookies itself over plain http to 127.0.0.1);
4. for `--duration` seconds per measure (or `--requests` in all), clients loop on one request, in three
   modes: serial (one client: the unloaded cost), closed (every client back to back, no pause: the
   stress case) and paced (every client pausing 0-2x `--think-ms` between requests: analysts at work):
     healthz        GET /healthz: the baseline (no session, one `SELECT 1`): the server's own floor
     grid_first     GET /cases/REF/review: the full grid page, first page
     grid_deep      GET /cases/REF/review/page?cursor=...: a keyset page ~90% of the way in (htmx partial)
     thumbnail      GET /cases/REF/items/SHA/thumbnail: a stored blurred thumbnail, random item
     decision       POST /cases/REF/decisions: categorize one item, a different one every time
   and reports p50/p95/max latency (ms), throughput and errors. Target: p95 < 150 ms.
   In the closed loop latency is about clients / throughput (Little's law): it measures capacity.

    .venv/bin/python bench/web_latency.py                       # 100,000 items, both back ends, 20 clients
    .venv/bin/python bench/web_latency.py --backends sqlite --items 20000 --duration 10 --workers 2
    .venv/bin/python bench/web_latency.py --pg-url postgresql+psycopg://haven@127.0.0.1:54329/haven_test

PostgreSQL: `--pg-url` (default: $HAVEN_TEST_PG_URL) names a server and an admin database; the bench
creates its own database there and drops it afterwards. The client and the server share this machine's
cores: the figures include the client's own cost (the healthz baseline shows how much).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import select
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from haven import accounts
from haven.review.categories import scheme_categories
from haven.store import Store, open_store
from haven.store.models import Case, Content
from synthetic_case import SyntheticCaseSummary, build_synthetic_case

CASE_REF = "BENCH-WEB"
PASSWORD = "bench-password-not-secret-1"
TARGET_P95_MS = 150.0
SERVER_START_SECONDS = 120.0
CSRF_META = re.compile(r'data-csrf-token="([^"]+)"')
CSRF_FIELD = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the store


@contextmanager
def bench_database(backend: str, home: Path, pg_url: str | None) -> Iterator[str]:
    """A fresh database URL: a SQLite file in ``home``, or a new PostgreSQL database dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{home / 'haven.db'}"
        return
    if not pg_url:
        raise SystemExit("postgresql: no --pg-url and no HAVEN_TEST_PG_URL")
    name = f"haven_bench_{uuid.uuid4().hex[:12]}"
    admin_url = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class BenchCase:
    summary: SyntheticCaseSummary
    users: list[str]
    category_code: str
    deep_cursor: str
    analyze_seconds: float = 0.0


def prepare_case(store: Store, items: int, clients: int, *, sqlite_analyze: bool = True) -> BenchCase:
    summary = build_synthetic_case(store, CASE_REF, items=items)
    started = time.perf_counter()
    users = [f"analyst{n:02d}" for n in range(clients)]
    with store.session() as session:
        for name in users:
            accounts.create_user(session, name, PASSWORD, role="investigator", by="bench")
            accounts.add_member(session, CASE_REF, name, role="investigator", by="bench")
        case = session.scalars(select(Case).where(Case.reference == CASE_REF)).one()
        categories = [c for c in scheme_categories(session, case.scheme) if c.key]
        code = categories[1].code if len(categories) > 1 else categories[0].code
        # ~90% of the way through the unknown pictures: the cursor of a page deep in the grid.
        unknown_ids = session.scalars(
            select(Content.id).where(Content.case_id == case.id, Content.status == "unknown").order_by(Content.id)
        ).all()
        deep_cursor = f"0.{unknown_ids[int(len(unknown_ids) * 0.9)]}"
    # PostgreSQL's autovacuum analyzes a freshly filled table by itself soon after; do it now, as a user's
    # server would have. On SQLite `haven match` refreshes the statistics (Store.refresh_statistics): the
    # generator bypasses match, so it does the same. --no-sqlite-analyze shows the store without them.
    if store.dialect == "postgresql":
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    elif sqlite_analyze:
        store.refresh_statistics()
    log(f"  users and planner statistics in {time.perf_counter() - started:.1f}s")
    return BenchCase(summary=summary, users=users, category_code=code, deep_cursor=deep_cursor)


# ---------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_command(port: int, workers: int) -> list[str]:
    """`haven serve` for one worker (what a user runs); uvicorn's own workers on the factory for more."""
    haven = Path(sys.executable).parent / "haven"
    if workers == 1 and haven.exists():
        return [str(haven), "serve", "--host", "127.0.0.1", "--port", str(port)]
    return [
        sys.executable, "-m", "uvicorn", "haven.web.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--no-access-log",
    ]  # fmt: skip


@contextmanager
def running_server(env: dict[str, str], workers: int, log_path: Path) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = server_command(port, workers)
    with log_path.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"server exited ({process.returncode}): {log_path.read_text(errors='replace')[-2000:]}"
                )
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not answer within {SERVER_START_SECONDS:.0f}s")
            time.sleep(0.2)
        log(f"  server up: {' '.join(command[1:3])} ... workers={workers} at {url}")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---------------------------------------------------------------- clients


class Analyst:
    """One logged-in browser: its own cookies (carried by hand: they are Secure) and CSRF token."""

    def __init__(self, client: httpx.AsyncClient, name: str) -> None:
        self.client = client
        self.name = name
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def _remember(self, response: httpx.Response) -> None:
        for header in response.headers.get_list("set-cookie"):
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for key, morsel in jar.items():
                expired = morsel["max-age"] == "0" or "1970" in morsel["expires"]
                if expired or not morsel.value:
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = morsel.value

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        return headers | (extra or {})

    async def get(self, path: str, **headers: str) -> httpx.Response:
        response = await self.client.get(path, headers=self._headers(headers))
        self._remember(response)
        return response

    async def post(self, path: str, data: dict[str, str], **headers: str) -> httpx.Response:
        response = await self.client.post(path, data=data, headers=self._headers(headers))
        self._remember(response)
        return response

    async def login(self) -> None:
        page = await self.get("/login")
        token = CSRF_FIELD.search(page.text)
        if page.status_code != 200 or token is None:
            raise RuntimeError(f"login page: {page.status_code}")
        done = await self.post("/login", {"username": self.name, "password": PASSWORD, "csrf_token": token.group(1)})
        if done.status_code != 303 or "haven_session" not in self.cookies:
            raise RuntimeError(f"login of {self.name} failed: {done.status_code}")
        cases = await self.get("/cases")  # every page carries the session's CSRF token
        found = CSRF_META.search(cases.text)
        if cases.status_code != 200 or found is None:
            raise RuntimeError(f"case list after login: {cases.status_code}")
        self.csrf = found.group(1)


@dataclass
class Measure:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    wall_seconds: float = 0.0

    def result(self) -> dict[str, Any]:
        values = sorted(self.latencies_ms)
        if not values:
            return {"requests": 0, "errors": self.errors, "statuses": self.statuses}
        return {
            "requests": len(values),
            "errors": self.errors,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "p50_ms": round(percentile(values, 50), 1),
            "p95_ms": round(percentile(values, 95), 1),
            "max_ms": round(values[-1], 1),
            "mean_ms": round(statistics.fmean(values), 1),
            "requests_per_s": round(len(values) / self.wall_seconds, 1) if self.wall_seconds else None,
        }


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, round(pct / 100 * len(sorted_values) + 0.5 - 1e-9))
    return sorted_values[min(rank, len(sorted_values)) - 1]


Request = Callable[[Analyst, int], Awaitable[httpx.Response]]


async def run_measure(
    name: str,
    analysts: list[Analyst],
    request: Request,
    *,
    duration: float,
    requests: int | None,
    ok: tuple[int, ...],
    think_ms: float = 0.0,
) -> Measure:
    """Every analyst loops on ``request`` until the time (or the request budget) is spent.

    ``think_ms`` > 0 pauses each analyst a random 0..2x that long before the first request and between
    requests (a person looking at the screen); 0 is a closed loop, the worst case: all start at once and
    the next request leaves as soon as one returns.
    """
    measure = Measure(name)
    pause = random.Random(7)
    counter = iter(range(10**9))
    deadline = time.perf_counter() + duration

    async def loop(analyst: Analyst) -> None:
        if think_ms > 0:  # analysts do not start in lockstep: without this the first 20 requests land at once
            await asyncio.sleep(pause.uniform(0, 2 * think_ms) / 1000)
        while time.perf_counter() < deadline:
            n = next(counter)
            if requests is not None and n >= requests:
                return
            started = time.perf_counter()
            try:
                response = await request(analyst, n)
                await response.aread()
                status = response.status_code
            except httpx.HTTPError:
                status = 0
            elapsed = (time.perf_counter() - started) * 1000
            measure.statuses[status] = measure.statuses.get(status, 0) + 1
            if status in ok:
                measure.latencies_ms.append(elapsed)
            else:
                measure.errors += 1
            if think_ms > 0:
                await asyncio.sleep(pause.uniform(0, 2 * think_ms) / 1000)

    started = time.perf_counter()
    await asyncio.gather(*(loop(a) for a in analysts))
    measure.wall_seconds = time.perf_counter() - started
    return measure


async def measure_server(url: str, case: BenchCase, args: argparse.Namespace) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=args.clients * 2, max_keepalive_connections=args.clients * 2)
    timeout = httpx.Timeout(30.0)
    clients = [
        httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout, follow_redirects=False)
        for _ in range(args.clients)
    ]
    try:
        analysts = [Analyst(client, name) for client, name in zip(clients, case.users, strict=True)]
        started = time.perf_counter()
        await asyncio.gather(*(a.login() for a in analysts))
        login_seconds = time.perf_counter() - started
        thumbs = case.summary.sample_sha256
        rng = random.Random(1)
        decide_pool = list(thumbs)  # popped: a different undecided item for every decision, warm-up included
        rng.shuffle(decide_pool)
        ref, deep = CASE_REF, case.deep_cursor

        async def healthz(a: Analyst, n: int) -> httpx.Response:
            return await a.client.get("/healthz")

        async def grid_first(a: Analyst, n: int) -> httpx.Response:
            return await a.get(f"/cases/{ref}/review")

        async def grid_deep(a: Analyst, n: int) -> httpx.Response:
            return await a.get(f"/cases/{ref}/review/page?cursor={deep}", **{"HX-Request": "true"})

        async def thumbnail(a: Analyst, n: int) -> httpx.Response:
            return await a.get(f"/cases/{ref}/items/{rng.choice(thumbs)}/thumbnail")

        async def decision(a: Analyst, n: int) -> httpx.Response:
            form = {"sha256": decide_pool.pop(), "category": case.category_code}
            return await a.post(f"/cases/{ref}/decisions", form, **{"X-CSRF-Token": a.csrf, "HX-Request": "true"})

        plan: list[tuple[str, Request, tuple[int, ...]]] = [
            ("healthz", healthz, (200,)),
            ("grid_first", grid_first, (200,)),
            ("grid_deep", grid_deep, (200,)),
            ("thumbnail", thumbnail, (200,)),
            ("decision", decision, (200, 204, 303)),
        ]
        results: dict[str, Any] = {"login_seconds": round(login_seconds, 2)}
        for mode in args.modes:
            # serial: one client, back to back (the unloaded cost of a request); closed: every client back to
            # back (the stress case); paced: every client with a think time (analysts at a brisk pace).
            crowd = analysts[:1] if mode == "serial" else analysts
            think = args.think_ms if mode == "paced" else 0.0
            figures: dict[str, Any] = {"clients": len(crowd), "think_ms": think}
            for name, request, ok in plan:
                if args.only and name not in args.only:
                    continue
                budget = args.requests
                if name == "decision":  # never run out of undecided items
                    budget = max(0, min(budget or 10**9, len(decide_pool) - 40 - len(crowd)))
                await run_measure(name, crowd, request, duration=min(2.0, args.duration), requests=40, ok=ok)  # warm-up
                measure = await run_measure(
                    name, crowd, request, duration=args.duration, requests=budget, ok=ok, think_ms=think
                )
                figures[name] = measure.result()
                log(f"  {mode:6s} {name:11s} {json.dumps(figures[name])}")
            results[mode] = figures
        return results
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


# ---------------------------------------------------------------- main


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    log(f"{backend}: building a {args.items:,}-item case")
    home = Path(tempfile.mkdtemp(prefix=f"haven-webbench-{backend}-"))
    try:
        with bench_database(backend, home, args.pg_url) as url:
            store = open_store(url)
            try:
                case = prepare_case(store, args.items, args.clients, sqlite_analyze=args.sqlite_analyze)
            finally:
                store.dispose()
            log(f"  case built in {case.summary.seconds:.1f}s: {json.dumps(case.summary.as_dict())}")
            env = dict(os.environ)
            env.update({"HAVEN_HOME": str(home), "HAVEN_DATABASE_URL": url, "HAVEN_USER": "bench"})
            out: dict[str, Any] = {"case": case.summary.as_dict(), "servers": {}}
            for workers in sorted({1, *args.workers}):
                with running_server(env, workers, home / f"server-{workers}.log") as server_url:
                    out["servers"][f"workers_{workers}"] = asyncio.run(measure_server(server_url, case, args))
            return out
    finally:
        shutil.rmtree(home, ignore_errors=True)


def verdict(results: dict[str, Any]) -> dict[str, Any]:
    """Each app measure's p95 against the target, per back end, server and mode."""
    checks: dict[str, Any] = {}
    for backend, data in results.items():
        for server, modes in data.get("servers", {}).items():
            for mode, measures in modes.items():
                if not isinstance(measures, dict):
                    continue
                for name, figures in measures.items():
                    if isinstance(figures, dict) and "p95_ms" in figures and name != "healthz":
                        checks[f"{backend}/{server}/{mode}/{name}"] = figures["p95_ms"] < TARGET_P95_MS
    return {"target_p95_ms": TARGET_P95_MS, "all_met": all(checks.values()) if checks else None, "checks": checks}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per measure")
    parser.add_argument("--requests", type=int, default=None, help="stop a measure after this many requests")
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--pg-url", default=os.environ.get("HAVEN_TEST_PG_URL"))
    parser.add_argument(
        "--workers", type=lambda s: [int(x) for x in s.split(",") if x], default=[1],
        help="server worker counts to measure, e.g. 1,2 (1 = `haven serve`)",
    )  # fmt: skip
    parser.add_argument(
        "--modes",
        type=lambda s: [m for m in s.split(",") if m],
        default=["serial", "closed", "paced"],
        help="serial (1 client), closed (all clients back to back), paced (all clients with --think-ms)",
    )
    parser.add_argument("--think-ms", type=float, default=1000.0, help="paced mode: mean pause between requests")
    parser.add_argument(
        "--sqlite-analyze",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="refresh SQLite's planner statistics after building the case, as `haven match` does (default)",
    )
    parser.add_argument("--only", type=lambda s: set(s.split(",")), default=None, help="measures to run")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    load_before = os.getloadavg()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    results: dict[str, Any] = {}
    for backend in backends:
        if backend == "postgresql" and not args.pg_url:
            log("postgresql: skipped (no --pg-url, no HAVEN_TEST_PG_URL)")
            results[backend] = {"skipped": "no --pg-url and no HAVEN_TEST_PG_URL"}
            continue
        results[backend] = run_backend(backend, args)
    document = {
        "bench": "web_latency",
        "items": args.items,
        "clients": args.clients,
        "duration_s": args.duration,
        "modes": args.modes,
        "paced_think_ms": args.think_ms,
        "sqlite_analyze": args.sqlite_analyze,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            # Other work on the machine inflates every figure: the load averages say how busy it was.
            "load_average_1m_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        },
        "results": results,
        "verdict": verdict(results),
    }
    print(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
