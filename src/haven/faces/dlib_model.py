"""The built-in recognizer: dlib's HOG (or MMOD CNN) detector, 5-point landmarks, ResNet embeddings.

Model files come from HAVEN_FACE_MODEL_DIR or, by default, the ``face_recognition_models`` package's
folder, found with importlib (that package's own locator imports pkg_resources, so it is never imported).
dlib's ResNet model gives 128-d embeddings compared by Euclidean distance (LFW 99.38% in dlib's paper).
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Any

import dlib
import numpy as np

from haven.errors import HavenError
from haven.faces.model import DetectedFace
from haven.faces.picture import resize_for_detection
from haven.faces.quality import face_quality, sharpness
from haven.faces.settings import FaceSettings

LANDMARKS_FILE = "shape_predictor_5_face_landmarks.dat"
RECOGNIZER_FILE = "dlib_face_recognition_resnet_model_v1.dat"
CNN_DETECTOR_FILE = "mmod_human_face_detector.dat"
MODEL_NAME = "dlib-resnet-v1"
MATCH_THRESHOLD = 0.6
"""Same-person distance for one pair: dlib's own figure; verification tuned on half of the LFW subset gives 0.61."""
CLUSTER_THRESHOLD = 0.58
"""Average-linkage cut tuned for BCubed F1 on half of the LFW subset (bench/faces.py)."""
HOG_FULL_CONFIDENCE = 2.0
"""HOG scores run 0..~3.7 on LFW (median ~1.9); at or above this the detection counts as certain."""


def dlib_model_name(settings: FaceSettings) -> str:
    return MODEL_NAME


def default_model_dir() -> Path:
    spec = importlib.util.find_spec("face_recognition_models")  # finds the folder without running it
    if spec is None or not spec.submodule_search_locations:
        raise HavenError(
            "face models not found: install face-recognition-models or set HAVEN_FACE_MODEL_DIR to a folder "
            f"holding {LANDMARKS_FILE} and {RECOGNIZER_FILE}"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def model_file(settings: FaceSettings, name: str) -> str:
    folder = Path(settings.model_dir) if settings.model_dir else default_model_dir()
    path = folder / name
    if not path.is_file():
        raise HavenError(f"face model file missing: {path} (check HAVEN_FACE_MODEL_DIR)")
    return str(path)


class DlibFaceModel:
    name = MODEL_NAME
    dimensions = 128

    def __init__(self, settings: FaceSettings) -> None:
        if settings.detector not in ("hog", "cnn"):
            raise HavenError(f"HAVEN_FACE_DETECTOR must be 'hog' or 'cnn', not '{settings.detector}'")
        self.settings = settings
        self.threshold = settings.threshold or MATCH_THRESHOLD
        self.cluster_threshold = settings.cluster_threshold or CLUSTER_THRESHOLD
        self._landmarks = _loaded(dlib.shape_predictor, model_file(settings, LANDMARKS_FILE))
        self._recognizer = _loaded(dlib.face_recognition_model_v1, model_file(settings, RECOGNIZER_FILE))
        self._hog = dlib.get_frontal_face_detector() if settings.detector == "hog" else None
        self._cnn = (
            _loaded(dlib.cnn_face_detection_model_v1, model_file(settings, CNN_DETECTOR_FILE))
            if settings.detector == "cnn"
            else None
        )

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        image = np.ascontiguousarray(image)
        height, width = image.shape[:2]
        small, factor = resize_for_detection(image, self.settings.max_side)
        found = []
        for rect, confidence in self._detections(small):
            left, top = max(0, round(rect.left() * factor)), max(0, round(rect.top() * factor))
            right, bottom = min(width, round(rect.right() * factor)), min(height, round(rect.bottom() * factor))
            if right - left >= 4 and bottom - top >= 4:
                found.append((dlib.rectangle(left, top, right, bottom), confidence))
        if not found:
            return []
        found = _reading_order(found)
        shapes = dlib.full_object_detections()
        for rect, _ in found:
            shapes.append(self._landmarks(image, rect))
        jitters = self.settings.jitters if self.settings.jitters > 1 else 0
        descriptors = self._recognizer.compute_face_descriptor(image, shapes, jitters)
        faces = []
        for (rect, confidence), shape, descriptor in zip(found, shapes, descriptors, strict=True):
            box = (rect.left(), rect.top(), rect.width(), rect.height())
            faces.append(
                DetectedFace(
                    box=box,
                    landmarks=[(p.x, p.y) for p in shape.parts()],
                    detector_score=round(confidence, 4),
                    quality=face_quality(self._confidence01(confidence), box, sharpness(image, box)),
                    embedding=np.asarray(descriptor, dtype=np.float32),
                )
            )
        return faces

    def _detections(self, image: np.ndarray) -> list[tuple[dlib.rectangle, float]]:
        if self._hog is not None:
            rects, scores, _ = self._hog.run(image, self.settings.upsample, 0.0)
            return list(zip(rects, scores, strict=True))
        assert self._cnn is not None
        return [(d.rect, d.confidence) for d in self._cnn(image, self.settings.upsample)]

    def _confidence01(self, score: float) -> float:
        if self._hog is not None:
            return min(1.0, max(0.0, score / HOG_FULL_CONFIDENCE))
        return min(1.0, max(0.0, score))  # MMOD confidences are ~0..1.x


@functools.cache
def _loaded(loader: Any, path: str) -> Any:
    """Each model file is deserialized once per process, whatever the other settings."""
    return loader(path)


def _reading_order(found: list[tuple[dlib.rectangle, float]]) -> list[tuple[dlib.rectangle, float]]:
    """Rows top to bottom (a face whose top is above the row's first face's middle shares its row), then left
    to right: sorting by top alone would order faces a few pixels apart in height across a row."""
    rows: list[list[tuple[dlib.rectangle, float]]] = []
    for item in sorted(found, key=lambda f: f[0].top()):
        if rows and item[0].top() < rows[-1][0][0].center().y:
            rows[-1].append(item)
        else:
            rows.append([item])
    return [item for row in rows for item in sorted(row, key=lambda f: f[0].left())]
