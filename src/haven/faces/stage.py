"""`haven analyze REF --faces`: find and embed the faces of a case's pictures, then cluster them.

Re-runnable (haven.picture_stage): a content already scanned by the same model is skipped
(``face_scan``), and a batch's faces and scan markers are committed together, so a killed run resumes
without duplicates. Pictures are read again from the evidence (read-only) in a fork pool; the model is
loaded once, before the fork. A picture that cannot be read or decoded is recorded as that content's
error; the run goes on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select

from haven import audit
from haven.cases import case_chain, get_case
from haven.config import Config
from haven.faces.analysis import analyse_picture
from haven.faces.clustering import ClusterSummary, recluster_case
from haven.faces.evidence_bytes import EvidenceReadError
from haven.faces.model import FaceModel, load_face_model
from haven.faces.rows import ScanResult, save_scans
from haven.picture_stage import EvidenceAccess, PictureJob, evidence_access, plan_pictures, read_picture, run_pictures
from haven.store.db import Store
from haven.store.models import Content, FaceScan

WORKING_SIDE_FACTOR = 2
"""Pictures are decoded to twice the detection size: landmarks and embeddings see the finer pixels."""

_MODEL: FaceModel | None = None  # set in the parent before the fork; workers inherit it


@dataclass(frozen=True)
class FaceRunContext:
    """What every job of a run shares (pickled once per chunk, small)."""

    access: EvidenceAccess
    working_side: int


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

    def count(self, result: ScanResult) -> None:
        self.scanned += 1
        self.faces += len(result.faces)
        self.errors += result.error is not None


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
        scanned = select(FaceScan.id).where(FaceScan.content_id == Content.id, FaceScan.model == model.name).exists()
        summary.pictures, jobs = plan_pictures(session, case_id, scanned)
    summary.already_done = summary.pictures - len(jobs)

    _MODEL = model
    context = FaceRunContext(
        evidence_access(store, case_id, config.analysis_settings()), settings.max_side * WORKING_SIDE_FACTOR
    )
    run_pictures(
        store,
        jobs,
        _scan,
        context,
        save=lambda session, batch: save_scans(session, model.name, batch),
        on_result=summary.count,
        workers=workers or settings.workers,
        label="Faces",
        show_progress=show_progress,
    )

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


def _scan(job: PictureJob, context: FaceRunContext) -> ScanResult:
    assert _MODEL is not None
    try:
        data = read_picture(job, context.access)
    except EvidenceReadError as exc:
        return ScanResult(job.content_id, [], str(exc))
    result = analyse_picture(data, _MODEL, context.working_side)
    return ScanResult(job.content_id, result.faces, result.error)
