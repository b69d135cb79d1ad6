"""GPS points of a case and the places they cluster into.

Clustering is single linkage with a distance radius: two points closer than ``radius_m`` are in the same
place, and so is a chain of them (a walk down a street stays one place). Points become unit vectors and a
k-d tree (scipy) finds the pairs within the chord matching the radius: O(n log n), no n x n matrix.
Points at exactly (0, 0) are left out: devices without a fix write them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven.clues.cameras import camera_label
from haven.store.models import Content

EARTH_RADIUS_M = 6_371_008.8
DEFAULT_RADIUS_M = 200.0
"""About a city block: pictures from the same house, school or park fall together."""


@dataclass(frozen=True)
class GpsPoint:
    sha256: str
    lat: float
    lon: float
    taken: str | None
    camera: str | None


def case_points(session: Session, case_id: int) -> tuple[list[GpsPoint], int]:
    """(points, how many (0, 0) points were left out)."""
    rows = session.execute(
        select(
            Content.sha256,
            Content.gps_lat,
            Content.gps_lon,
            Content.exif_datetime,
            Content.exif_make,
            Content.exif_model,
        )
        .where(Content.case_id == case_id, Content.gps_lat.is_not(None), Content.gps_lon.is_not(None))
        .order_by(Content.id)
    )
    points, null_island = [], 0
    for sha256, lat, lon, taken, make, model in rows:
        assert lat is not None and lon is not None  # the query asks for located contents only
        if lat == 0 and lon == 0:
            null_island += 1
            continue
        camera = camera_label(make, model) if make or model else None
        points.append(GpsPoint(sha256, lat, lon, taken, camera))
    return points, null_island


def cluster_labels(lat: np.ndarray, lon: np.ndarray, radius_m: float) -> np.ndarray:
    """A place number per point; points within radius_m of each other (or chained) share one."""
    if len(lat) == 0:
        return np.zeros(0, dtype=np.int64)
    xyz = _unit_vectors(lat, lon)
    chord = 2.0 * math.sin(min(math.pi, radius_m / EARTH_RADIUS_M) / 2.0)
    pairs = cKDTree(xyz).query_pairs(chord, output_type="ndarray")
    n = len(lat)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def places(session: Session, case_id: int, radius_m: float = DEFAULT_RADIUS_M) -> dict[str, Any]:
    points, null_island = case_points(session, case_id)
    lat = np.array([p.lat for p in points], dtype=np.float64)
    lon = np.array([p.lon for p in points], dtype=np.float64)
    labels = cluster_labels(lat, lon, radius_m)
    members: dict[int, list[int]] = defaultdict(list)
    for index, label in enumerate(labels.tolist()):
        members[label].append(index)
    # Places numbered from 1, largest first, so the JSON reads the same on every run.
    ordered = sorted(members.values(), key=lambda idx: (-len(idx), points[idx[0]].sha256))
    place_of = {i: number for number, idx in enumerate(ordered, start=1) for i in idx}
    clusters = [_cluster(number, [points[i] for i in idx], lat[idx], lon[idx]) for number, idx in enumerate(ordered, 1)]
    return {
        "radius_m": radius_m,
        "points": [
            {"sha256": p.sha256, "lat": p.lat, "lon": p.lon, "taken": p.taken, "camera": p.camera, "place": place_of[i]}
            for i, p in enumerate(points)
        ],
        "clusters": clusters,
        "ignored_zero_points": null_island,
    }


def _cluster(number: int, members: list[GpsPoint], lat: np.ndarray, lon: np.ndarray) -> dict[str, Any]:
    # Mean of unit vectors, not of degrees: correct across the antimeridian.
    centre = _unit_vectors(lat, lon).mean(axis=0)
    c_lat = math.degrees(math.atan2(centre[2], math.hypot(centre[0], centre[1])))
    c_lon = math.degrees(math.atan2(centre[1], centre[0]))
    taken = sorted(p.taken for p in members if p.taken)
    return {
        "place": number,
        "contents": len(members),
        "centre": [round(c_lat, 6), round(c_lon, 6)],
        "extent_m": round(max(distance_m(c_lat, c_lon, p.lat, p.lon) for p in members), 1),
        "first_taken": taken[0] if taken else None,
        "last_taken": taken[-1] if taken else None,
        "cameras": sorted({p.camera for p in members if p.camera}),
        "sha256": [p.sha256 for p in members],
    }


def _unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    phi, lam = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)))
