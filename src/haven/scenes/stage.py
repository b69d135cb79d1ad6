"""`haven analyze REF --scenes`: local features of a case's pictures, then the shared index brought up to date.

Re-runnable (haven.picture_stage): a content that already has a row for this features version is
skipped, and a batch's rows are committed together, so a killed run resumes without duplicates.
Pictures are read again from the evidence (read-only) in a fork pool. A picture that cannot be read or
decoded is recorded as that content's error; the run goes on. A picture with no keypoints (a flat
colour) is stored with none.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select

from haven import audit
from haven.cases import case_chain, get_case
from haven.config import Config
from haven.faces.evidence_bytes import EvidenceReadError
from haven.picture_stage import EvidenceAccess, PictureJob, evidence_access, plan_pictures, read_picture, run_pictures
from haven.scenes.features import VERSION, PictureError, extract
from haven.scenes.rows import ScanResult, save_scans
from haven.scenes.stored_index import scene_index
from haven.store.db import Store
from haven.store.models import Content
from haven.store.models import SceneFeatures as SceneFeaturesRow

WORKERS = 2


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
    index_seconds: float = 0.0
    """Of ``seconds``: bringing the index over all cases up to date."""

    @property
    def rate(self) -> float:
        """Pictures per second of feature extraction (the index update left out)."""
        extracting = self.seconds - self.index_seconds
        return self.scanned / extracting if extracting > 0 else 0.0

    def count(self, result: ScanResult) -> None:
        found = len(result.features) if result.features is not None else 0
        self.scanned += 1
        self.errors += result.error is not None
        self.keypoints += found
        self.without_features += result.error is None and found == 0


def analyse_scenes(
    store: Store, config: Config, case_ref: str, *, workers: int | None = None, show_progress: bool = True
) -> SceneRunSummary:
    started = time.monotonic()
    summary = SceneRunSummary(case=case_ref)
    done = (
        select(SceneFeaturesRow.id)
        .where(SceneFeaturesRow.content_id == Content.id, SceneFeaturesRow.version == VERSION)
        .exists()
    )
    with store.session() as session:
        case_id = get_case(session, case_ref).id
        summary.pictures, jobs = plan_pictures(session, case_id, done)
    summary.already_done = summary.pictures - len(jobs)
    run_pictures(
        store,
        jobs,
        _scan,
        evidence_access(store, case_id, config.analysis_settings()),
        save=save_scans,
        on_result=summary.count,
        workers=workers or WORKERS,
        label="Scenes",
        show_progress=show_progress,
    )

    with store.session() as session:
        indexing = time.monotonic()
        index = scene_index(session, config.index_dir)
        summary.indexed = len(index) if index is not None else 0
        summary.index_seconds = time.monotonic() - indexing
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


def _scan(job: PictureJob, access: EvidenceAccess) -> ScanResult:
    try:
        return ScanResult(job.content_id, extract(read_picture(job, access)), None)
    except (EvidenceReadError, PictureError) as exc:
        return ScanResult(job.content_id, None, str(exc))
    except Exception as exc:  # one picture never stops the run: OpenCV can fail on odd pixel data
        return ScanResult(job.content_id, None, f"feature extraction failed: {type(exc).__name__}: {exc}")
