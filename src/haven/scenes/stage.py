"""`haven analyze REF --scenes`: local features of a case's pictures, then the shared index brought up to date.

Re-runnable: a content that already has a row for this features version is skipped, and a batch's rows
are committed together, so a killed run resumes without duplicates. Pictures are read again from the
evidence (read-only) in a fork pool. A picture that cannot be read or decoded is recorded as that
content's error; the run goes on. A picture with no keypoints (a flat colour) is stored with none.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from multiprocessing.pool import Pool

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haven import audit
from haven.cases import case_chain, get_case
from haven.config import Config
from haven.faces.evidence_bytes import (
    EvidenceReadError,
    Place,
    close_readers,
    places_of,
    read_from_archive,
    read_original,
)
from haven.progress import make_progress
from haven.scenes.features import VERSION, PictureError, extract
from haven.scenes.rows import ScanResult, save_scans
from haven.scenes.stored_index import scene_index
from haven.settings import AnalysisSettings
from haven.store.db import Store
from haven.store.models import Content
from haven.store.models import SceneFeatures as SceneFeaturesRow

BATCH = 50
"""Rows per transaction: what a kill can cost, and what a commit costs."""
WORKERS = 2


@dataclass(frozen=True)
class SceneJob:
    content_id: int
    sha256: str
    places: list[Place]


@dataclass(frozen=True)
class SceneRunContext:
    case_id: int
    database_url: str
    analysis: AnalysisSettings


@dataclass
class SceneRunSummary:
    case: str
    version: str = VERSION
    pictures: int = 0
    already_done: int = 0
    scanned: int = 0
    keypoints: int = 0
    without_features: int = 0
    errors: int = 0
    indexed: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.scanned / self.seconds if self.seconds else 0.0


def analyse_scenes(
    store: Store, config: Config, case_ref: str, *, workers: int | None = None, show_progress: bool = True
) -> SceneRunSummary:
    started = time.monotonic()
    summary = SceneRunSummary(case=case_ref)
    with store.session() as session:
        case_id = get_case(session, case_ref).id
        jobs = _plan(session, case_id, summary)
    workers = workers or WORKERS
    context = SceneRunContext(
        case_id, store.engine.url.render_as_string(hide_password=False), config.analysis_settings()
    )
    store.engine.dispose()  # no pooled connection crosses the fork
    with _pool(workers, len(jobs)) as pool, make_progress(show_progress) as progress:
        task = progress.add_task("Scenes", total=len(jobs))
        batch: list[ScanResult] = []
        for result in _run(pool, jobs, context, workers):
            batch.append(result)
            summary.scanned += 1
            summary.errors += result.error is not None
            count = len(result.features) if result.features is not None else 0
            summary.keypoints += count
            summary.without_features += result.error is None and count == 0
            if len(batch) >= BATCH:
                _commit(store, batch)
            progress.advance(task)
        _commit(store, batch)
    close_readers()

    with store.session() as session:
        index = scene_index(session, config.index_dir)
        summary.indexed = len(index) if index is not None else 0
        summary.seconds = time.monotonic() - started
        audit.record(
            session,
            chain=case_chain(case_ref),
            user=config.user,
            action="analyze.scenes",
            detail={
                "version": VERSION,
                "pictures": summary.pictures,
                "already_done": summary.already_done,
                "scanned": summary.scanned,
                "keypoints": summary.keypoints,
                "without_features": summary.without_features,
                "errors": summary.errors,
            },
        )
    return summary


def _plan(session: Session, case_id: int, summary: SceneRunSummary) -> list[SceneJob]:
    pictures = (Content.case_id == case_id, Content.kind == "image")
    done = (
        select(SceneFeaturesRow.id)
        .where(SceneFeaturesRow.content_id == Content.id, SceneFeaturesRow.version == VERSION)
        .exists()
    )
    total = session.scalar(select(func.count()).select_from(Content).where(*pictures)) or 0
    todo = session.execute(select(Content.id, Content.sha256).where(*pictures, ~done).order_by(Content.id)).all()
    summary.pictures, summary.already_done = total, total - len(todo)
    places = places_of(session, [content_id for content_id, _ in todo])
    return [SceneJob(content_id, sha256, places.get(content_id, [])) for content_id, sha256 in todo]


def _commit(store: Store, batch: list[ScanResult]) -> None:
    if batch:
        with store.session() as session:
            save_scans(session, batch)
        batch.clear()


def _pool(workers: int, jobs: int) -> AbstractContextManager[Pool | None]:
    if workers <= 1 or jobs <= 1:
        return nullcontext()
    return multiprocessing.get_context("fork").Pool(workers)


def _run(pool: Pool | None, jobs: list[SceneJob], context: SceneRunContext, workers: int) -> Iterator[ScanResult]:
    args = [(job, context) for job in jobs]
    if pool is None:
        yield from (_scan(a) for a in args)
        return
    yield from pool.imap_unordered(_scan, args, chunksize=max(1, min(4, len(jobs) // (workers * 16))))


def _scan(arg: tuple[SceneJob, SceneRunContext]) -> ScanResult:
    job, context = arg
    try:
        data = _original(job, context)
        return ScanResult(job.content_id, extract(data), None)
    except (EvidenceReadError, PictureError) as exc:
        return ScanResult(job.content_id, None, str(exc))
    except Exception as exc:  # one picture never stops the run: OpenCV can fail on odd pixel data
        return ScanResult(job.content_id, None, f"feature extraction failed: {type(exc).__name__}: {exc}")


def _original(job: SceneJob, context: SceneRunContext) -> bytes:
    """From a top-level file when there is one, else (or when none still holds these bytes) from an archive."""
    in_archives = any(place.fs_path is None for place in job.places)
    if any(place.fs_path for place in job.places) or not in_archives:
        try:
            return read_original(job.places, job.sha256)
        except EvidenceReadError:
            if not in_archives:
                raise
    return read_from_archive(context.database_url, context.case_id, job.sha256, context.analysis)
