"""Geometric verification: do two pictures show the same surface, seen from one viewpoint or another?

Descriptors are matched both ways' nearest neighbour with Lowe's ratio test, then a homography is fitted
with RANSAC; the score is the number of matches it explains (inliers). A homography fits planes (a
wallpaper, a bedspread, a poster) and any scene seen from nearly the same place; random matches between
unrelated pictures rarely agree on one, so a handful of inliers is already telling.
"""

from __future__ import annotations

import cv2
import numpy as np

from haven.scenes.features import SceneFeatures, root_sift

RATIO = 0.8
"""Lowe's ratio: a match must be clearly nearer than the second-best candidate."""
MIN_MATCHES = 8
"""Fewer tentative matches cannot support a homography worth trusting."""
REPROJECTION_PX = 8.0
"""RANSAC inlier tolerance, in reduced-picture pixels (800 px side): tolerant of mild parallax."""
MIN_INLIERS = 12
"""Inliers from which two pictures are reported as the same scene (unrelated pairs rarely pass 8)."""


def tentative_matches(query: np.ndarray, candidate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(query rows, candidate rows) passing the ratio test, one match per candidate keypoint.

    RootSIFT vectors have unit length, so squared distances come from one matrix product (2 - 2 cos).
    """
    if len(query) < 2 or len(candidate) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    similarity = query @ candidate.T
    rows = np.arange(len(query))
    nearest = similarity.argmax(axis=1)
    best = np.maximum(2.0 - 2.0 * similarity[rows, nearest], 0.0)
    similarity[rows, nearest] = -np.inf
    second = np.maximum(2.0 - 2.0 * similarity.max(axis=1), 0.0)
    passing = np.flatnonzero(best < (RATIO * RATIO) * second)
    # Several query keypoints on one candidate keypoint: keep the closest (repeated texture otherwise votes twice).
    order = passing[np.argsort(best[passing], kind="stable")]
    _, first = np.unique(nearest[order], return_index=True)
    rows = np.sort(order[first])
    return rows.astype(np.int64), nearest[rows].astype(np.int64)


def inliers(query: SceneFeatures, candidate: SceneFeatures, query_root: np.ndarray | None = None) -> int:
    """How many ratio-test matches one homography explains (0 when there are too few to try)."""
    q_root = root_sift(query.descriptors) if query_root is None else query_root
    rows, cols = tentative_matches(q_root, root_sift(candidate.descriptors))
    if len(rows) < MIN_MATCHES:
        return 0
    source = query.points[rows].reshape(-1, 1, 2)
    target = candidate.points[cols].reshape(-1, 1, 2)
    _, mask = cv2.findHomography(source, target, cv2.RANSAC, REPROJECTION_PX, maxIters=2000, confidence=0.995)
    return 0 if mask is None else int(mask.sum())
