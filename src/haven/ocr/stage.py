"""`haven analyze REF --ocr`: the text in a case's pictures, stored per content and full-text indexed.

Re-runnable (haven.picture_stage): a content already read by the same engine and language has a
``content_text`` row and is skipped; a batch's rows are committed together, so a killed run resumes
without duplicates. Tesseract runs single-threaded in each worker process. A picture that cannot be
read is recorded as that content's error; the run goes on.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import audit
from haven.cases import case_chain, get_case
from haven.config import Config
from haven.faces.evidence_bytes import EvidenceReadError
from haven.ocr.analysis import text_of_picture
from haven.ocr.engine import PageText, check_language, engine_name
from haven.ocr.settings import OcrSettings
from haven.picture_stage import EvidenceAccess, PictureJob, evidence_access, plan_pictures, read_picture, run_pictures
from haven.store.bulk import insert_ignore
from haven.store.db import Store
from haven.store.models import Content, ContentText


@dataclass(frozen=True)
class OcrRunContext:
    """What every job of a run shares (pickled with each chunk, small)."""

    access: EvidenceAccess
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

    def count(self, result: tuple[int, PageText]) -> None:
        page = result[1]
        self.scanned += 1
        self.with_text += bool(page.text)
        self.words += page.words
        self.errors += page.error is not None


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
        done = (
            select(ContentText.id)
            .where(
                ContentText.content_id == Content.id,
                ContentText.engine == engine,
                ContentText.language == settings.language,
            )
            .exists()
        )
        summary.pictures, jobs = plan_pictures(session, case_id, done)
    summary.already_done = summary.pictures - len(jobs)

    context = OcrRunContext(evidence_access(store, case_id, config.analysis_settings()), settings)

    def save(session: Session, batch: list[tuple[int, PageText]]) -> None:
        _save(session, engine, settings.language, batch)

    run_pictures(
        store,
        jobs,
        _read,
        context,
        save=save,
        on_result=summary.count,
        workers=workers or settings.workers,
        label="Text",
        show_progress=show_progress,
    )

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


def _save(session: Session, engine: str, language: str, batch: list[tuple[int, PageText]]) -> None:
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
    insert_ignore(session, ContentText, rows, ("content_id", "engine", "language"))


def _read(job: PictureJob, context: OcrRunContext) -> tuple[int, PageText]:
    try:
        data = read_picture(job, context.access)
    except EvidenceReadError as exc:
        return job.content_id, PageText(error=str(exc))
    return job.content_id, text_of_picture(data, context.ocr)
