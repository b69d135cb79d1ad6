"""The frame of a re-runnable analysis stage over a case's pictures (faces, OCR, ...).

A stage plans the pictures it has not done yet (its own "done" marker row, per content), reads each
picture's original bytes again from the evidence (read-only, haven.faces.evidence_bytes) in a fork pool,
runs its per-picture work there, and saves the results a batch per transaction: a killed run resumes
without duplicates, and a picture that cannot be read becomes that content's error, never the run's.
What a stage loads once (a model) it sets before the fork; workers inherit it.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from multiprocessing.pool import Pool
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from haven.faces.evidence_bytes import (
    EvidenceReadError,
    Place,
    close_readers,
    places_of,
    read_from_archive,
    read_original,
)
from haven.progress import make_progress
from haven.settings import AnalysisSettings
from haven.store.db import Store
from haven.store.models import Content

BATCH = 50
"""Results per transaction: what a kill can cost, and what a commit costs."""

C = TypeVar("C")
R = TypeVar("R")


@dataclass(frozen=True)
class PictureJob:
    content_id: int
    sha256: str
    places: list[Place]


@dataclass(frozen=True)
class EvidenceAccess:
    """What a worker needs to read a picture found only inside archives (it opens its own connection)."""

    case_id: int
    database_url: str
    analysis: AnalysisSettings


def evidence_access(store: Store, case_id: int, analysis: AnalysisSettings) -> EvidenceAccess:
    return EvidenceAccess(case_id, store.engine.url.render_as_string(hide_password=False), analysis)


def plan_pictures(session: Session, case_id: int, done: ColumnElement[bool]) -> tuple[int, list[PictureJob]]:
    """(pictures in the case, a job for each one without the stage's ``done`` marker), in content order.

    ``done`` is an EXISTS over the stage's marker table, correlated with ``Content.id``.
    """
    pictures = (Content.case_id == case_id, Content.kind == "image")
    total = session.scalar(select(func.count()).select_from(Content).where(*pictures)) or 0
    todo = session.execute(select(Content.id, Content.sha256).where(*pictures, ~done).order_by(Content.id)).all()
    places = places_of(session, [content_id for content_id, _ in todo])
    return total, [PictureJob(content_id, sha256, places.get(content_id, [])) for content_id, sha256 in todo]


def read_picture(job: PictureJob, access: EvidenceAccess) -> bytes:
    """From a top-level file when there is one, else (or when none still holds these bytes) from an archive.
    Raises EvidenceReadError."""
    in_archives = any(place.fs_path is None for place in job.places)
    if any(place.fs_path for place in job.places) or not in_archives:
        try:
            return read_original(job.places, job.sha256)
        except EvidenceReadError:
            if not in_archives:
                raise
    return read_from_archive(access.database_url, access.case_id, job.sha256, access.analysis)


def run_pictures(
    store: Store,
    jobs: list[PictureJob],
    work: Callable[[PictureJob, C], R],
    context: C,
    *,
    save: Callable[[Session, list[R]], None],
    on_result: Callable[[R], None],
    workers: int,
    label: str,
    show_progress: bool = True,
) -> None:
    """``work(job, context)`` for every job (in a fork pool of ``workers`` when there is more than one),
    results handed to ``on_result`` as they come and to ``save`` a batch per transaction.

    ``work`` must be a module-level function (it is pickled by name) and never raise for one picture.
    """
    store.engine.dispose()  # no pooled connection crosses the fork
    with _pool(workers, len(jobs)) as pool, make_progress(show_progress) as progress:
        task = progress.add_task(label, total=len(jobs))
        batch: list[R] = []
        for result in _results(pool, jobs, work, context, workers):
            batch.append(result)
            on_result(result)
            if len(batch) >= BATCH:
                _save(store, save, batch)
            progress.advance(task)
        _save(store, save, batch)
    close_readers()  # those opened here when the work ran in this process


def _save(store: Store, save: Callable[[Session, list[R]], None], batch: list[R]) -> None:
    if batch:
        with store.session() as session:
            save(session, batch)
        batch.clear()


def _pool(workers: int, jobs: int) -> AbstractContextManager[Pool | None]:
    if workers <= 1 or jobs <= 1:
        return nullcontext()
    return multiprocessing.get_context("fork").Pool(workers)


def _results(
    pool: Pool | None, jobs: list[PictureJob], work: Callable[[PictureJob, C], R], context: C, workers: int
) -> Iterator[R]:
    args = [(work, job, context) for job in jobs]
    if pool is None:
        yield from (_call(a) for a in args)
        return
    yield from pool.imap_unordered(_call, args, chunksize=max(1, min(4, len(jobs) // (workers * 16))))


def _call(arg: tuple[Callable[[PictureJob, Any], Any], PictureJob, Any]) -> Any:
    work, job, context = arg
    return work(job, context)
