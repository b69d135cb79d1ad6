"""Per-picture face analysis: bytes in, faces in original pixels out. Never raises.

A pure function of (bytes, model): the stage runs it in a process pool (the model is loaded once in
the parent and inherited by forked workers) and could hand it to a cluster runner.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from PIL import UnidentifiedImageError

from haven.faces.model import DetectedFace, FaceModel
from haven.faces.picture import decode_picture

logger = logging.getLogger(__name__)


@dataclass
class PictureFaces:
    faces: list[DetectedFace] = field(default_factory=list)
    error: str | None = None


def analyse_picture(data: bytes, model: FaceModel, working_side: int) -> PictureFaces:
    """Detect and embed the faces of one picture; an unreadable picture gives ``error``, never an exception."""
    try:
        picture = decode_picture(data, working_side)
    except Exception as exc:  # Pillow raises many types for hostile or corrupt files
        return PictureFaces(error=f"unreadable picture: {_reason(exc)}")
    try:
        found = model.detect(picture.pixels)
    except Exception as exc:
        logger.exception("face detection failed")
        return PictureFaces(error=f"face detection failed: {_reason(exc)}")
    scale = picture.scale
    if scale == 1.0:
        return PictureFaces(found)
    return PictureFaces([_to_original(face, scale, picture.width, picture.height) for face in found])


def _to_original(face: DetectedFace, scale: float, width: int, height: int) -> DetectedFace:
    x, y, w, h = face.box
    left, top = min(width, round(x * scale)), min(height, round(y * scale))
    box = (left, top, min(width - left, round(w * scale)), min(height - top, round(h * scale)))
    landmarks = [(round(px * scale), round(py * scale)) for px, py in face.landmarks]
    return DetectedFace(box, landmarks, face.detector_score, face.quality, face.embedding)


def _reason(exc: Exception) -> str:
    if isinstance(exc, UnidentifiedImageError):  # its message names a memory address: not stable
        return "not an image format Pillow reads"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
