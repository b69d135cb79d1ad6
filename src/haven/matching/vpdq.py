"""vPDQ: case videos against known videos, and single frames against pictures both ways.

Video against video follows vPDQ (facebook/ThreatExchange ``vpdq/README.md``, python-threatexchange
``vpdq_brute_matcher.py``): each video is a bag of frame hashes; frames under the quality floor are
dropped and exact duplicates counted once; a unique frame is matched when some frame of the other video
is within the distance, inclusive; ``query_percent`` is the share of the case video's unique frames
matched, ``compared_percent`` the share of the known video's. A match needs both at or above their
thresholds. The defaults are the README's: the known video must be 80% present, the case video may
hold anything else (a compilation, padding). (Meta's C++ ``matchTwoHashBrute`` uses ``< 31`` and keeps
duplicates; python-threatexchange and the README use ``<= 31`` on unique frames, as here.)

Known videos are pruned with one exact FAISS range search over all their unique frames (the README's
"pruning candidates"); each candidate is then compared in full with ``compare``, the one definition.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import faiss
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven.matching.pdq import hex_to_bytes, known_pdq_index
from haven.matching.pdq_index import PdqIndex
from haven.matching.rows import case_pdq_contents, insert_matches, set_ids_of
from haven.store.models import Content, HashEntry, HashEntryFrame, HashSet, VideoFrame

DEFAULT_THRESHOLD = 31  # python-threatexchange VPDQ_DISTANCE_THRESHOLD
DEFAULT_MIN_QUALITY = 50  # VPDQ_QUALITY_THRESHOLD; the README's quality tolerance F
DEFAULT_QUERY_PERCENT = 0.0  # README P_q: the case video may contain more than the known one
DEFAULT_COMPARED_PERCENT = 80.0  # README P_c: 80% of the known video must be found
QUERY_BATCH = 4096
CONTENT_BATCH = 200  # case videos whose frames are loaded at once

FrameHash = tuple[str, int]  # (PDQ hex, quality)


@dataclass(frozen=True)
class VpdqResult:
    query_percent: float
    compared_percent: float
    distance: int | None
    """Median distance from each matched unique query frame to its nearest compared frame; None if none matched."""


def unique_hashes(frames: Iterable[FrameHash], min_quality: int) -> list[str]:
    """Hashes of the frames at or above the quality floor, each once, in first-seen order."""
    return list(dict.fromkeys(pdq for pdq, quality in frames if quality >= min_quality))


def compare(
    query: Iterable[FrameHash],
    compared: Iterable[FrameHash],
    *,
    threshold: int = DEFAULT_THRESHOLD,
    min_quality: int = DEFAULT_MIN_QUALITY,
) -> VpdqResult:
    """vPDQ's brute-force comparison of two videos' frames (exact: FAISS flat nearest neighbour)."""
    q, c = unique_hashes(query, min_quality), unique_hashes(compared, min_quality)
    if not q or not c:
        return VpdqResult(0.0, 0.0, None)
    q_nearest, c_nearest = _nearest(q, c), _nearest(c, q)
    q_hits = q_nearest[q_nearest <= threshold]
    return VpdqResult(
        query_percent=100.0 * len(q_hits) / len(q),
        compared_percent=100.0 * int((c_nearest <= threshold).sum()) / len(c),
        distance=int(statistics.median_low(q_hits.tolist())) if len(q_hits) else None,
    )


def is_match(
    result: VpdqResult,
    *,
    query_percent: float = DEFAULT_QUERY_PERCENT,
    compared_percent: float = DEFAULT_COMPARED_PERCENT,
) -> bool:
    """Both shares at or above their thresholds, and at least one frame in common (0/0 is not a match)."""
    return (
        result.distance is not None
        and result.query_percent >= query_percent
        and result.compared_percent >= compared_percent
    )


def _nearest(a: list[str], b: list[str]) -> np.ndarray:
    """Distance from each hash of ``a`` to its nearest in ``b``."""
    index = faiss.IndexBinaryFlat(256)
    index.add(hex_to_bytes(b))
    distances, _ = index.search(hex_to_bytes(a), 1)
    return distances[:, 0]


def _range(index: faiss.IndexBinaryFlat, hashes: list[str], threshold: int) -> Iterator[tuple[int, int, int]]:
    """(query position, index label, distance) of every pair within ``threshold``, inclusive."""
    for start in range(0, len(hashes), QUERY_BATCH):
        # FAISS keeps distances strictly below the radius: +1 makes the threshold inclusive.
        lims, distances, labels = index.range_search(hex_to_bytes(hashes[start : start + QUERY_BATCH]), threshold + 1)
        for qi in range(len(lims) - 1):
            for pos in range(lims[qi], lims[qi + 1]):
                yield start + qi, int(labels[pos]), int(distances[pos])


def _flat(hashes: list[str]) -> faiss.IndexBinaryFlat:
    index = faiss.IndexBinaryFlat(256)
    index.add(hex_to_bytes(hashes))
    return index


def match_videos(
    session: Session,
    case_id: int,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    min_quality: int = DEFAULT_MIN_QUALITY,
    query_percent: float = DEFAULT_QUERY_PERCENT,
    compared_percent: float = DEFAULT_COMPARED_PERCENT,
) -> int:
    """Match the case's videos against every known video (vPDQ); returns how many ``vpdq`` rows were added."""
    if session.scalar(select(Content.id).where(Content.case_id == case_id, Content.kind == "video").limit(1)) is None:
        return 0  # no video in the case: the known frames need not be loaded
    known: dict[int, tuple[int, list[FrameHash]]] = {}
    for entry_id, set_id, pdq, quality in session.execute(
        select(HashEntryFrame.entry_id, HashEntry.set_id, HashEntryFrame.pdq, HashEntryFrame.quality)
        .join(HashEntry, HashEntry.id == HashEntryFrame.entry_id)
        .join(HashSet, HashSet.id == HashEntry.set_id)
        .where(HashSet.kind == "known", HashEntryFrame.quality >= min_quality)
    ):
        known.setdefault(entry_id, (set_id, []))[1].append((pdq, quality))
    if not known:
        return 0
    owners: dict[str, set[int]] = defaultdict(set)  # unique known frame hash -> videos holding it
    for entry_id, (_, held) in known.items():
        for pdq, _ in held:
            owners[pdq].add(entry_id)
    unique = list(owners)
    index = _flat(unique)
    rows = []
    for content_id, frames in _case_video_frames(session, case_id, min_quality):
        query = [(pdq, quality) for _, pdq, quality in frames]
        candidates = {
            e
            for _, label, _ in _range(index, unique_hashes(query, min_quality), threshold)
            for e in owners[unique[label]]
        }
        for entry_id in sorted(candidates):
            set_id, entry_frames = known[entry_id]
            result = compare(query, entry_frames, threshold=threshold, min_quality=min_quality)
            if is_match(result, query_percent=query_percent, compared_percent=compared_percent):
                rows.append(
                    {
                        "content_id": content_id,
                        "entry_id": entry_id,
                        "set_id": set_id,
                        "method": "vpdq",
                        "distance": result.distance,
                        "query_percent": round(result.query_percent, 2),
                        "compared_percent": round(result.compared_percent, 2),
                    }
                )
    return insert_matches(session, case_id, rows)


def match_frames_to_images(
    session: Session,
    case_id: int,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    min_quality: int = DEFAULT_MIN_QUALITY,
    index: PdqIndex | None = None,
) -> int:
    """``pdq-frame`` matches both ways; returns how many rows were added.

    A case video whose frame is near a known picture gets a match to that picture's entry with the
    frame's timestamp; a case picture near a frame of a known video gets a match to that video's entry
    with the known frame's timestamp. Per (content, entry) the closest frame is kept (the earliest of equals).
    """
    best: dict[tuple[int, int], tuple[int, float, int]] = {}  # (content, entry) -> (distance, seconds, set)

    def offer(content_id: int, entry_id: int, set_id: int, distance: int, seconds: float) -> None:
        key = (content_id, entry_id)
        if key not in best or (distance, seconds) < best[key][:2]:
            best[key] = (distance, seconds, set_id)

    # Case video frames against known pictures: the same known-PDQ index picture matching uses.
    for content_id, frames in _case_video_frames(session, case_id, min_quality):
        if index is None:
            index, _ = known_pdq_index(session, None)
        if not len(index):
            break
        query_rows, entry_ids, distances = index.range_query(hex_to_bytes([pdq for _, pdq, _ in frames]), threshold)
        set_of = set_ids_of(session, np.unique(entry_ids).tolist())
        for qi, entry_id, distance in zip(query_rows.tolist(), entry_ids.tolist(), distances.tolist(), strict=True):
            if entry_id in set_of:
                offer(content_id, entry_id, set_of[entry_id], distance, frames[qi][0])

    known_frames = session.execute(
        select(HashEntryFrame.entry_id, HashEntry.set_id, HashEntryFrame.timestamp, HashEntryFrame.pdq)
        .join(HashEntry, HashEntry.id == HashEntryFrame.entry_id)
        .join(HashSet, HashSet.id == HashEntry.set_id)
        .where(HashSet.kind == "known", HashEntryFrame.quality >= min_quality)
    ).all()
    if known_frames:
        index = _flat([pdq for *_, pdq in known_frames])
        images = case_pdq_contents(session, case_id, Content.pdq, min_quality)
        for qi, label, distance in _range(index, [pdq for _, pdq in images], threshold):
            entry_id, set_id, seconds, _ = known_frames[label]
            offer(images[qi][0], entry_id, set_id, distance, seconds)

    rows = [
        {
            "content_id": content_id,
            "entry_id": entry_id,
            "set_id": set_id,
            "method": "pdq-frame",
            "distance": distance,
            "timestamp": seconds,
        }
        for (content_id, entry_id), (distance, seconds, set_id) in best.items()
    ]
    return insert_matches(session, case_id, rows)


def _case_video_frames(
    session: Session, case_id: int, min_quality: int
) -> Iterator[tuple[int, list[tuple[float, str, int]]]]:
    """(content id, [(seconds, PDQ hex, quality)]) per case video with frames at or above the floor."""
    ids = session.scalars(
        select(Content.id).where(Content.case_id == case_id, Content.kind == "video").order_by(Content.id)
    ).all()
    for start in range(0, len(ids), CONTENT_BATCH):
        grouped: dict[int, list[tuple[float, str, int]]] = defaultdict(list)
        for content_id, seconds, pdq, quality in session.execute(
            select(VideoFrame.content_id, VideoFrame.timestamp, VideoFrame.pdq, VideoFrame.quality)
            .where(VideoFrame.content_id.in_(ids[start : start + CONTENT_BATCH]), VideoFrame.quality >= min_quality)
            .order_by(VideoFrame.content_id, VideoFrame.seq)
        ):
            grouped[content_id].append((seconds, pdq, quality))
        yield from grouped.items()
