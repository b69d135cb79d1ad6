"""Ingest: walk sources, analyse each file in a process pool, store the results.

Per-item work (``process_source_file``) is a pure function of (walk entry, settings), so the local
pool here can be replaced by a cluster runner without touching the analysis. The unit of resumption
is a top-level file: its occurrence rows and those of everything inside it are committed in the same
transaction, so after a crash the files already stored are skipped and the rest are redone.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.pool import Pool
from pathlib import Path

from sqlalchemy import func, select

from haven import audit
from haven.cases import case_chain, get_case, register_source
from haven.config import Config
from haven.errors import HavenError
from haven.evidence.process import process_source_file
from haven.evidence.walker import WalkEntry, walk_source
from haven.progress import make_progress
from haven.results import FoundItem
from haven.settings import AnalysisSettings
from haven.store.db import Store
from haven.store.models import Occurrence, Source
from haven.store.writer import ResultWriter, path_digest
from haven.tuning import tune_allocator
from haven.warmup import warm_up


@dataclass
class IngestSummary:
    case: str
    sources: list[str] = field(default_factory=list)
    files_walked: int = 0
    already_done: int = 0
    items_stored: int = 0
    errors: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.items_stored / self.seconds if self.seconds else 0.0


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def source_labels(paths: list[Path], label: str | None) -> list[str]:
    """One label per path: the given exhibit label (numbered when several paths), else the file name."""
    if label is None:
        return [p.resolve().name or str(p) for p in paths]
    if len(paths) == 1:
        return [label]
    return [f"{label}-{i}" for i in range(1, len(paths) + 1)]


def ingest(
    store: Store,
    config: Config,
    case_ref: str,
    paths: list[Path],
    *,
    label: str | None = None,
    workers: int | None = None,
    show_progress: bool = True,
) -> IngestSummary:
    missing = [str(p) for p in paths if not p.exists() and not p.is_symlink()]
    if missing:
        raise HavenError(f"evidence path not found: {', '.join(missing)}")
    workers = workers or default_workers()
    settings = config.analysis_settings()
    config.scratch_dir.mkdir(parents=True, exist_ok=True)
    summary = IngestSummary(case=case_ref)
    started = time.monotonic()

    plan: list[tuple[int, list[WalkEntry]]] = []
    with store.session() as session:
        case = get_case(session, case_ref)
        case_id = case.id
        for path, path_label in zip(paths, source_labels(paths, label), strict=True):
            source, _ = register_source(session, case, path, path_label, user=config.user)
            source.status = "ingesting"
            summary.sources.append(source.label)
            done = set(session.scalars(select(Occurrence.top_level).where(Occurrence.source_id == source.id)))
            entries = list(walk_source(path, source.label))
            summary.files_walked += len(entries)
            todo = [e for e in entries if path_digest(e.virtual_path) not in done]
            summary.already_done += len(entries) - len(todo)
            plan.append((source.id, todo))

    writer = ResultWriter(store, case_id, batch_items=config.ingest_batch_items)
    work = [(source_id, entry) for source_id, todo in plan for entry in todo]
    # The pool is forked before the progress thread starts and with no pooled DB connections open.
    store.engine.dispose()
    tune_allocator()  # before the fork: workers inherit it
    warm_up(settings)  # one-off first-use costs paid once, here, not once per worker
    pool = _start_pool(workers, len(work))
    try:
        with make_progress(show_progress) as progress:
            task = progress.add_task("Ingesting", total=len(work))
            for source_id, entry, items in _analyse(pool, work, settings, workers):
                writer.add(source_id, entry, items)
                summary.items_stored += len(items)
                summary.errors += sum(1 for i in items if i.error or (i.content and i.content.error))
                progress.advance(task)
            writer.flush()
    except BaseException:
        if pool is not None:
            pool.terminate()  # stop the workers now: an error, or Ctrl-C
        raise
    if pool is not None:
        _retire(pool)

    with store.session() as session:
        for source_id, _ in plan:
            source = session.get_one(Source, source_id)
            source.status = "complete"
            source.files_seen = session.scalar(
                select(func.count()).select_from(Occurrence).where(Occurrence.source_id == source_id)
            )
        summary.seconds = time.monotonic() - started
        audit.record(
            session,
            chain=case_chain(case_ref),
            user=config.user,
            action="ingest",
            detail={
                "paths": [str(p.resolve()) for p in paths],
                "sources": summary.sources,
                "workers": workers,
                "files_walked": summary.files_walked,
                "already_done": summary.already_done,
                "items_stored": summary.items_stored,
                "errors": summary.errors,
            },
        )
    return summary


def _start_pool(workers: int, jobs: int) -> Pool | None:
    if workers <= 1 or jobs <= 1:
        return None  # one worker runs in this process: no pickling, no IPC
    # fork: workers start instantly with every module already imported.
    return multiprocessing.get_context("fork").Pool(workers)


def _retire(pool: Pool) -> None:
    """Lets the workers exit once they are idle (all work is done) without waiting for them: a worker's
    exit returns its memory to the system, tens of milliseconds on 12-MP pictures, and nothing here
    needs it to have happened. Matching and the report go on meanwhile."""
    pool.close()
    threading.Thread(target=pool.join, name="haven-pool-retire", daemon=True).start()


def _analyse(
    pool: Pool | None, work: list[tuple[int, WalkEntry]], settings: AnalysisSettings, workers: int
) -> Iterator[tuple[int, WalkEntry, list[FoundItem]]]:
    """Yield (source id, entry, found items) as they complete."""
    job = partial(_process, settings=settings)
    if pool is None:
        yield from map(job, work)
        return
    yield from pool.imap_unordered(job, work, chunksize=_chunk(len(work), workers))


def _process(work: tuple[int, WalkEntry], settings: AnalysisSettings) -> tuple[int, WalkEntry, list[FoundItem]]:
    source_id, entry = work
    return source_id, entry, process_source_file(entry, settings)


def _chunk(count: int, workers: int) -> int:
    # Small chunks: a worker left alone with a long last chunk idles the other core.
    return max(1, min(4, count // (workers * 32)))
