"""Local features of a picture: SIFT keypoints on a reduced grey copy, stored compactly.

OpenCV's SIFT descriptors are integers in 0..255, so they are kept as uint8 (128 bytes a keypoint) and
turned into RootSIFT (L1-normalised, square-rooted: Hellinger kernel) only when compared. Keypoint
positions are kept in the reduced picture's pixels as float16 (precise to half a pixel at 800 px);
``scale`` maps them back to the upright original.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from haven.faces.picture import decode_picture

MAX_SIDE = 800
"""Longest side of the copy features are taken from: rooms and objects need no finer detail."""
MAX_KEYPOINTS = 700
"""Strongest keypoints kept per picture (SIFT's own contrast ranking)."""
VERSION = f"sift-{MAX_SIDE}-{MAX_KEYPOINTS}-v1"
"""Recorded with every stored row: features of another version are never mixed in one index."""

cv2.setNumThreads(1)  # the stage parallelises by process; OpenCV's own threads would oversubscribe


@dataclass(frozen=True)
class SceneFeatures:
    points: np.ndarray
    """(n, 2) float32 keypoint positions in the reduced picture's pixels."""
    descriptors: np.ndarray
    """(n, 128) uint8 SIFT descriptors."""
    width: int
    height: int
    """Of the upright original."""
    scale: float
    """Original pixels per reduced pixel."""

    def __len__(self) -> int:
        return len(self.points)

    def points_bytes(self) -> bytes:
        return np.asarray(self.points, dtype="<f2").tobytes()

    def descriptors_bytes(self) -> bytes:
        return np.ascontiguousarray(self.descriptors, dtype=np.uint8).tobytes()


def from_bytes(points: bytes, descriptors: bytes, width: int, height: int, scale: float) -> SceneFeatures:
    return SceneFeatures(
        np.frombuffer(points, dtype="<f2").reshape(-1, 2).astype(np.float32),
        np.frombuffer(descriptors, dtype=np.uint8).reshape(-1, 128),
        width,
        height,
        scale,
    )


class PictureError(ValueError):
    """The bytes are not a picture that can be decoded (one-line message)."""


def extract(data: bytes) -> SceneFeatures:
    """Features of an encoded picture. Raises PictureError; a featureless picture gives no keypoints."""
    try:
        picture = decode_picture(data, MAX_SIDE)
    except Exception as exc:  # Pillow raises many types for damaged data; the message is what matters
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PictureError(f"cannot decode picture: {reason}") from exc
    grey = cv2.cvtColor(picture.pixels, cv2.COLOR_RGB2GRAY)
    return extract_grey(grey, picture.width, picture.height, picture.scale)


def extract_grey(grey: np.ndarray, width: int, height: int, scale: float) -> SceneFeatures:
    sift = cv2.SIFT_create(nfeatures=MAX_KEYPOINTS)  # type: ignore[attr-defined]  # missing from the stubs
    keypoints, descriptors = sift.detectAndCompute(grey, None)
    if descriptors is None or not keypoints:
        return SceneFeatures(np.zeros((0, 2), np.float32), np.zeros((0, 128), np.uint8), width, height, scale)
    # nfeatures can be exceeded by ties at the cut: keep the strongest exactly.
    order = np.argsort([-k.response for k in keypoints], kind="stable")[:MAX_KEYPOINTS]
    points = np.array([keypoints[i].pt for i in order], dtype=np.float32)
    return SceneFeatures(points, np.clip(descriptors[order], 0, 255).astype(np.uint8), width, height, scale)


def root_sift(descriptors: np.ndarray) -> np.ndarray:
    """(n, 128) float32 RootSIFT: unit L2 norm, compared by inner product or L2."""
    values = descriptors.astype(np.float32)
    values /= values.sum(axis=1, keepdims=True) + 1e-7
    return np.sqrt(values)


def inside_box(features: SceneFeatures, box: tuple[int, int, int, int]) -> SceneFeatures:
    """Only the keypoints within ``box`` (x, y, w, h in the upright original's pixels): a region query."""
    x, y, w, h = (v / features.scale for v in box)
    px, py = features.points[:, 0], features.points[:, 1]
    keep = (px >= x) & (px <= x + w) & (py >= y) & (py <= y + h)
    return SceneFeatures(
        features.points[keep], features.descriptors[keep], features.width, features.height, features.scale
    )
