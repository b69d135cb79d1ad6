"""Face-analysis settings: frozen and picklable, so workers get exactly what the run recorded.

Read from the environment in one place (``FaceSettings.from_env``), called by ``haven.config``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class FaceSettings:
    model: str = "dlib"
    """``dlib`` (built in) or ``package.module:factory`` for an agency's own recognizer (see ``faces.model``)."""
    model_dir: str | None = None
    """Folder holding the model files (HAVEN_FACE_MODEL_DIR); default: the face_recognition_models package."""
    detector: str = "hog"
    """``hog`` (CPU, fast) or ``cnn`` (dlib's MMOD detector: more faces in profile, much slower on CPU)."""
    upsample: int = 1
    """Times the detection image is doubled before detecting: 1 finds faces down to about 40 px."""
    max_side: int = 1600
    """Pictures are reduced to this longest side for detection; boxes are mapped back to the original."""
    jitters: int = 1
    """Embedding re-samples per face (dlib's num_jitters): 10 is ~1% more accurate and 10x slower."""
    threshold: float | None = None
    """Largest embedding distance for the same person in a search; None: the model's default."""
    cluster_threshold: float | None = None
    """Cut of the average-linkage clustering into identities; None: the model's tuned default."""
    workers: int = 2

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> FaceSettings:
        threshold = env.get("HAVEN_FACE_THRESHOLD")
        cluster_threshold = env.get("HAVEN_FACE_CLUSTER_THRESHOLD")
        return cls(
            model=env.get("HAVEN_FACE_MODEL", "dlib"),
            model_dir=env.get("HAVEN_FACE_MODEL_DIR") or None,
            detector=env.get("HAVEN_FACE_DETECTOR", "hog"),
            upsample=int(env.get("HAVEN_FACE_UPSAMPLE", "1")),
            max_side=int(env.get("HAVEN_FACE_MAX_SIDE", "1600")),
            jitters=int(env.get("HAVEN_FACE_JITTERS", "1")),
            threshold=float(threshold) if threshold else None,
            cluster_threshold=float(cluster_threshold) if cluster_threshold else None,
            workers=int(env.get("HAVEN_FACE_WORKERS", "2")),
        )
