"""The original bytes of a content, read again from the evidence (read-only): the store keeps only
blurred thumbnails, and faces need the sharp picture.

A content may occur in several places; the first readable one whose bytes still hash to the content's
SHA-256 is used. Top-level files are re-read by path (``haven.evidence.reading``). A content found only
inside archives is read through the review's ``haven.review.retrieve.open_media``, which re-opens the
containers along its path with the ingest's limits and verifies the SHA-256 (it needs the store, so
each worker process opens its own connection).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from haven.evidence.reading import describe_os_error, read_whole
from haven.settings import AnalysisSettings
from haven.store.db import Store, open_store
from haven.store.models import Occurrence, Source

ARCHIVE_MEMBER = "inside an archive"
_reader_stores: dict[str, Store] = {}  # per process and database: opened lazily in each worker, after the fork


@dataclass(frozen=True)
class Place:
    """Where a content can be read: a file path, or why it cannot."""

    virtual_path: str
    fs_path: str | None
    problem: str | None = None


class EvidenceReadError(Exception):
    """No place of the content could be read; the message says why (one line)."""


def places_of(session: Session, content_ids: Iterable[int]) -> dict[int, list[Place]]:
    """Every place of each content, top-level files first (they can be read directly)."""
    ids = list(content_ids)
    found: dict[int, list[Place]] = defaultdict(list)
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(Occurrence.content_id, Occurrence.path, Occurrence.container, Source.kind, Source.location)
            .join(Source, Source.id == Occurrence.source_id)
            .where(Occurrence.content_id.in_(ids[start : start + 500]))
            .order_by(Occurrence.id)
        )
        for content_id, path, container, kind, location in rows:
            if content_id is not None:  # the query asks for contents; unreadable items have none
                found[content_id].append(_place(path, container, kind, location))
    for places in found.values():
        places.sort(key=lambda p: p.fs_path is None)
    return dict(found)


def read_original(places: list[Place], sha256: str) -> bytes:
    """The content's bytes from its first readable place. Raises EvidenceReadError."""
    problems = []
    for place in places:
        if place.fs_path is None:
            problems.append(place.problem or "no file path")
            continue
        try:
            data = read_whole(place.fs_path)
        except OSError as exc:
            problems.append(f"{place.virtual_path}: {describe_os_error(exc)}")
            continue
        if hashlib.sha256(data).hexdigest() != sha256:
            problems.append(f"{place.virtual_path}: changed since ingest (SHA-256 differs)")
            continue
        return data
    if not problems:
        raise EvidenceReadError("no occurrence recorded")
    unique = list(dict.fromkeys(problems))
    raise EvidenceReadError("; ".join(unique[:3]))


def read_from_archive(database_url: str, case_id: int, sha256: str, settings: AnalysisSettings) -> bytes:
    """A content found only inside archives: its containers re-opened (read-only). Raises EvidenceReadError."""
    from haven.review.retrieve import RevealError, open_media

    store = _reader_stores.get(database_url)
    if store is None:
        store = _reader_stores[database_url] = open_store(database_url, migrate=False)
    try:
        with store.session() as session:
            body = open_media(session, case_id, sha256, settings, stream_videos=False)
    except RevealError as exc:
        raise EvidenceReadError(f"{ARCHIVE_MEMBER}: {exc}") from exc
    if body.data is None:  # pragma: no cover - pictures always come back as bytes
        raise EvidenceReadError(f"{ARCHIVE_MEMBER}: not returned as bytes")
    return body.data


def close_readers() -> None:
    """Dispose of the connections ``read_from_archive`` opened in this process."""
    while _reader_stores:
        _reader_stores.popitem()[1].dispose()


def _place(path: str, container: str | None, kind: str, location: str) -> Place:
    if container is not None or "!/" in path:
        return Place(path, None, ARCHIVE_MEMBER)
    if kind == "file":
        return Place(path, location)
    _, _, relative = path.partition(":/")
    return Place(path, str(Path(location) / relative))
