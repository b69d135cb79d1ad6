"""`haven analyze REF --faces`: find and embed the faces of a case's pictures, then cluster them.

Re-runnable: a content already scanned by the same model is skipped (``face_scan``), and a batch's
faces and scan markers are committed together, so a killed run resumes without duplicates. Pictures
are read again from the evidence (read-only) in a fork pool; the model is loaded once, before the
fork. A picture that cannot be read or decoded is recorded as that content's error; the run goes on.
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
from haven.faces.analysis import analyse_picture
from haven.faces.clustering import ClusterSummary, recluster_case
from haven.faces.evidence_bytes import (
    EvidenceReadError,
    Place,
    close_readers,
    places_of,
    read_from_archive,
    read_original,
)
from haven.faces.model import FaceModel, load_face_model
from haven.faces.rows import ScanResult, save_scans
from haven.progress import make_progress
from haven.settings import AnalysisSettings
from haven.store.db import Store
from haven.store.models import Content, FaceScan

BATCH = 50
"""Scans per transaction: what a kill can cost, and what a commit costs."""
WORKING_SIDE_FACTOR = 2
"""Pictures are decoded to twice the detection size: landmarks and embeddings see the finer pixels."""

_MODEL: FaceModel | None = None  # set in the parent before the fork; workers inherit it


@dataclass(frozen=True)
class FaceJob:
    content_id: int
    sha256: str
    places: list[Place]


@dataclass(frozen=True)
class FaceRunContext:
    """What every job of a run shares (pickled once per chunk, small)."""

    case_id: int
    database_url: str
    working_side: int
    analysis: AnalysisSettings


@dataclass
class FaceRunSummary:
    case: str
    model: str
    pictures: int = 0
    already_done: int = 0
    scanned: int = 0
    faces: int = 0
    errors: int = 0
    seconds: float = 0.0
    clusters: ClusterSummary | None = None

    @property
    def rate(self) -> float:
        return self.scanned / self.seconds if self.seconds else 0.0


def analyse_faces(
    store: Store, config: Config, case_ref: str, *, workers: int | None = None, show_progress: bool = True
) -> FaceRunSummary:
    global _MODEL
    settings = config.faces
    model = load_face_model(settings)
    started = time.monotonic()
    summary = FaceRunSummary(case=case_ref, model=model.name)
    with store.session() as session:
        case_id = get_case(session, case_ref).id
        jobs = _plan(session, case_id, model.name, summary)

    _MODEL = model
    workers = workers or settings.workers
    context = FaceRunContext(
        case_id,
        store.engine.url.render_as_string(hide_password=False),
        settings.max_side * WORKING_SIDE_FACTOR,
        config.analysis_settings(),
    )
    store.engine.dispose()  # no pooled connection crosses the fork
    with _pool(workers, len(jobs)) as pool, make_progress(show_progress) as progress:
        task = progress.add_task("Faces", total=len(jobs))
        batch: list[ScanResult] = []
        for result in _run(pool, jobs, context, workers):
            batch.append(result)
            summary.scanned += 1
            summary.faces += len(result.faces)
            summary.errors += result.error is not None
            if len(batch) >= BATCH:
                _commit(store, model.name, batch)
            progress.advance(task)
        _commit(store, model.name, batch)
    close_readers()  # those opened here when the work ran in this process

    with store.session() as session:
        summary.clusters = recluster_case(session, case_id, model.name, model.cluster_threshold, config.user)
        summary.seconds = time.monotonic() - started
        audit.record(
            session,
            chain=case_chain(case_ref),
            user=config.user,
            action="analyze.faces",
            detail={
                "model": model.name,
                "detector": settings.detector,
                "upsample": settings.upsample,
                "cluster_threshold": model.cluster_threshold,
                "pictures": summary.pictures,
                "already_done": summary.already_done,
                "scanned": summary.scanned,
                "faces": summary.faces,
                "errors": summary.errors,
                "identities": summary.clusters.identities,
            },
        )
    return summary


def _plan(session: Session, case_id: int, model: str, summary: FaceRunSummary) -> list[FaceJob]:
    pictures = (Content.case_id == case_id, Content.kind == "image")
    scanned = select(FaceScan.id).where(FaceScan.content_id == Content.id, FaceScan.model == model).exists()
    total = session.scalar(select(func.count()).select_from(Content).where(*pictures)) or 0
    todo = session.execute(select(Content.id, Content.sha256).where(*pictures, ~scanned).order_by(Content.id)).all()
    summary.pictures, summary.already_done = total, total - len(todo)
    places = places_of(session, [content_id for content_id, _ in todo])
    return [FaceJob(content_id, sha256, places.get(content_id, [])) for content_id, sha256 in todo]


def _commit(store: Store, model: str, batch: list[ScanResult]) -> None:
    if batch:
        with store.session() as session:
            save_scans(session, model, batch)
        batch.clear()


def _pool(workers: int, jobs: int) -> AbstractContextManager[Pool | None]:
    if workers <= 1 or jobs <= 1:
        return nullcontext()
    return multiprocessing.get_context("fork").Pool(workers)


def _run(pool: Pool | None, jobs: list[FaceJob], context: FaceRunContext, workers: int) -> Iterator[ScanResult]:
    args = [(job, context) for job in jobs]
    if pool is None:
        yield from (_scan(a) for a in args)
        return
    yield from pool.imap_unordered(_scan, args, chunksize=max(1, min(4, len(jobs) // (workers * 16))))


def _scan(arg: tuple[FaceJob, FaceRunContext]) -> ScanResult:
    job, context = arg
    assert _MODEL is not None
    try:
        data = _original(job, context)
    except EvidenceReadError as exc:
        return ScanResult(job.content_id, [], str(exc))
    result = analyse_picture(data, _MODEL, context.working_side)
    return ScanResult(job.content_id, result.faces, result.error)


def _original(job: FaceJob, context: FaceRunContext) -> bytes:
    """From a top-level file when there is one, else (or when none still holds these bytes) from an archive."""
    in_archives = any(place.fs_path is None for place in job.places)
    if any(place.fs_path for place in job.places) or not in_archives:
        try:
            return read_original(job.places, job.sha256)
        except EvidenceReadError:
            if not in_archives:
                raise
    return read_from_archive(context.database_url, context.case_id, job.sha256, context.analysis)
