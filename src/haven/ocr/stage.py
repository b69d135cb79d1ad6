"""`haven analyze REF --ocr`: the text in a case's pictures, stored per content and full-text indexed.

Re-runnable: a content already read by the same engine and language has a ``content_text`` row and is
skipped; a batch's rows are committed together, so a killed run resumes without duplicates. Pictures
are read again from the evidence (read-only, haven.faces.evidence_bytes) in a fork pool; Tesseract runs
single-threaded in each worker. A picture that cannot be read is recorded as that content's error.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from multiprocessing.pool import Pool
from typing import Any

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
from haven.ocr.analysis import text_of_picture
from haven.ocr.engine import PageText, check_language, engine_name, use_single_thread
from haven.ocr.settings import OcrSettings
from haven.progress import make_progress
from haven.settings import AnalysisSettings
from haven.store.bulk import insert_ignore
from haven.store.db import Store
from haven.store.models import Content, ContentText

BATCH = 50
"""Results per transaction: what a kill can cost, and what a commit costs."""


@dataclass(frozen=True)
class OcrJob:
    content_id: int
    sha256: str
    places: list[Place]


@dataclass(frozen=True)
class OcrRunContext:
    """What every job of a run shares (pickled with each chunk, small)."""

    case_id: int
    database_url: str
    analysis: AnalysisSettings
    ocr: OcrSettings


@dataclass
class OcrRunSummary:
    case: str
    engine: str
    language: str
    pictures: int = 0
    already_done: int = 0
    scanned: int = 0
    with_text: int = 0
    words: int = 0
    errors: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.scanned / self.seconds if self.seconds else 0.0


def analyse_text(
    store: Store,
    config: Config,
    case_ref: str,
    *,
    settings: OcrSettings | None = None,
    workers: int | None = None,
    show_progress: bool = True,
) -> OcrRunSummary:
    """OCR every picture of the case not yet read by this engine and language. Raises HavenError
    (TesseractMissingError) when Tesseract or the language data is missing, before any work."""
    settings = settings or OcrSettings.from_env(os.environ)
    engine = engine_name()
    check_language(settings.language)
    started = time.monotonic()
    summary = OcrRunSummary(case=case_ref, engine=engine, language=settings.language)
    with store.session() as session:
        case_id = get_case(session, case_ref).id
        jobs = _plan(session, case_id, engine, settings.language, summary)

    use_single_thread()  # inherited by the workers and the tesseract processes they start
    workers = workers or settings.workers
    context = OcrRunContext(
        case_id, store.engine.url.render_as_string(hide_password=False), config.analysis_settings(), settings
    )
    store.engine.dispose()  # no pooled connection crosses the fork
    with _pool(workers, len(jobs)) as pool, make_progress(show_progress) as progress:
        task = progress.add_task("Text", total=len(jobs))
        batch: list[tuple[int, PageText]] = []
        for content_id, page in _run(pool, jobs, context, workers):
            batch.append((content_id, page))
            summary.scanned += 1
            summary.with_text += bool(page.text)
            summary.words += page.words
            summary.errors += page.error is not None
            if len(batch) >= BATCH:
                _commit(store, engine, settings.language, batch)
            progress.advance(task)
        _commit(store, engine, settings.language, batch)
    close_readers()

    summary.seconds = time.monotonic() - started
    with store.session() as session:
        audit.record(
            session,
            chain=case_chain(case_ref),
            user=config.user,
            action="analyze.ocr",
            detail={
                "engine": engine,
                "language": settings.language,
                "page_mode": settings.page_mode,
                "min_confidence": settings.min_confidence,
                "pictures": summary.pictures,
                "already_done": summary.already_done,
                "scanned": summary.scanned,
                "with_text": summary.with_text,
                "errors": summary.errors,
            },
        )
    return summary


def _plan(session: Session, case_id: int, engine: str, language: str, summary: OcrRunSummary) -> list[OcrJob]:
    pictures = (Content.case_id == case_id, Content.kind == "image")
    done = (
        select(ContentText.id)
        .where(ContentText.content_id == Content.id, ContentText.engine == engine, ContentText.language == language)
        .exists()
    )
    total = session.scalar(select(func.count()).select_from(Content).where(*pictures)) or 0
    todo = session.execute(select(Content.id, Content.sha256).where(*pictures, ~done).order_by(Content.id)).all()
    summary.pictures, summary.already_done = total, total - len(todo)
    places = places_of(session, [content_id for content_id, _ in todo])
    return [OcrJob(content_id, sha256, places.get(content_id, [])) for content_id, sha256 in todo]


def _commit(store: Store, engine: str, language: str, batch: list[tuple[int, PageText]]) -> None:
    if not batch:
        return
    rows: list[dict[str, Any]] = [
        {
            "content_id": content_id,
            "engine": engine,
            "language": language,
            "text": page.text,
            "words": page.words,
            "confidence": page.confidence,
            "error": page.error,
        }
        for content_id, page in batch
    ]
    with store.session() as session:
        insert_ignore(session, ContentText, rows, ("content_id", "engine", "language"))
    batch.clear()


def _pool(workers: int, jobs: int) -> AbstractContextManager[Pool | None]:
    if workers <= 1 or jobs <= 1:
        return nullcontext()
    return multiprocessing.get_context("fork").Pool(workers)


def _run(pool: Pool | None, jobs: list[OcrJob], context: OcrRunContext, workers: int) -> Iterator[tuple[int, PageText]]:
    args = [(job, context) for job in jobs]
    if pool is None:
        yield from (_read(a) for a in args)
        return
    yield from pool.imap_unordered(_read, args, chunksize=max(1, min(4, len(jobs) // (workers * 16))))


def _read(arg: tuple[OcrJob, OcrRunContext]) -> tuple[int, PageText]:
    job, context = arg
    try:
        data = _original(job, context)
    except EvidenceReadError as exc:
        return job.content_id, PageText(error=str(exc))
    return job.content_id, text_of_picture(data, context.ocr)


def _original(job: OcrJob, context: OcrRunContext) -> bytes:
    """From a top-level file when there is one, else (or when none still holds these bytes) from an archive."""
    in_archives = any(place.fs_path is None for place in job.places)
    if any(place.fs_path for place in job.places) or not in_archives:
        try:
            return read_original(job.places, job.sha256)
        except EvidenceReadError:
            if not in_archives:
                raise
    return read_from_archive(context.database_url, context.case_id, job.sha256, context.analysis)
