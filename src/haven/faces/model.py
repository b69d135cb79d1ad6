"""The model seam: what any face recognizer must provide, and how the configured one is loaded.

An agency plugs a stronger recognizer by setting HAVEN_FACE_MODEL to ``package.module:factory``;
``factory(settings)`` returns an object with this protocol. Faces are stored per model ``name``, so
embeddings of different models are never compared with each other.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from haven.errors import HavenError
from haven.faces.settings import FaceSettings


@dataclass(frozen=True)
class DetectedFace:
    box: tuple[int, int, int, int]
    """x, y, width, height in the pixels of the picture given to ``detect``."""
    landmarks: list[tuple[int, int]]
    detector_score: float
    quality: float
    """0..1: detector confidence, face size and sharpness together (``faces.quality``)."""
    embedding: np.ndarray
    """float32 vector; distances between embeddings of one model say how alike two faces are."""


class FaceModel(Protocol):
    name: str
    """Model identity stored with every face, e.g. ``dlib-resnet-v1+hog``; includes the version."""
    dimensions: int
    threshold: float
    """Largest Euclidean embedding distance at which two faces are taken as the same person (search)."""
    cluster_threshold: float
    """Average-linkage cut when grouping a case's faces into identities (tighter: errors compound)."""

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        """Faces in an RGB uint8 array (height x width x 3), in reading order."""
        ...


@functools.cache
def load_face_model(settings: FaceSettings) -> FaceModel:
    """The configured model, loaded once per process (dlib's ResNet takes seconds to deserialize).

    Raises HavenError naming what is missing."""
    if settings.model == "dlib":
        from haven.faces.dlib_model import DlibFaceModel

        return DlibFaceModel(settings)
    module_name, _, factory_name = settings.model.partition(":")
    if not factory_name:
        raise HavenError(f"HAVEN_FACE_MODEL must be 'dlib' or 'package.module:factory', not '{settings.model}'")
    try:
        factory = getattr(importlib.import_module(module_name), factory_name)
    except (ImportError, AttributeError) as exc:
        raise HavenError(f"cannot load face model '{settings.model}': {exc}") from exc
    model: FaceModel = factory(settings)
    return model


def model_name(settings: FaceSettings) -> str:
    """The stored model name for these settings, without loading any model file."""
    if settings.model == "dlib":
        from haven.faces.dlib_model import dlib_model_name

        return dlib_model_name(settings)
    return load_face_model(settings).name
