"""Reading a content back from the evidence for "reveal": read-only, verified, bounded.

Haven keeps no copy of the material, only a blurred greyscale thumbnail. To show one item unblurred,
the bytes are read again from the evidence: a top-level file directly (through ``evidence.reading``),
an archive member by re-opening the containers along the occurrence's path (``container`` links each
member to the archive it came from, as ``evidence.process`` recorded it) with the same streaming
expansion and limits as the ingest. Whatever is read is served only if its SHA-256 is the content's:
a file changed or swapped since the ingest is refused, never shown as if it were the same item.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from threading import Lock

from sqlalchemy import select
from sqlalchemy.orm import Session

from haven.errors import HavenError
from haven.evidence.archives import ArchiveExpansion, ExpansionBudget
from haven.evidence.reading import describe_os_error, open_readonly, read_whole
from haven.settings import AnalysisSettings
from haven.store.models import Content, Occurrence, Source
from haven.store.writer import path_digest

SHA256 = re.compile(r"^[0-9a-f]{64}$")
MAX_IN_MEMORY_BYTES = 256 * 1024**2
"""Largest content read into memory for a reveal (pictures, and anything inside an archive)."""
MAX_STREAMED_BYTES = 8 * 1024**3
"""Largest top-level video streamed from the evidence."""
HASH_BLOCK = 4 * 1024**2
REVEALABLE_KINDS = ("image", "video")


class RevealError(HavenError):
    """The content cannot be shown (not in the evidence any more, changed, too large, not a picture)."""


@dataclass(frozen=True)
class MediaBody:
    """Verified bytes in memory, or a verified top-level evidence file to stream (videos)."""

    mime: str
    size: int
    data: bytes | None = None
    path: str | None = None


@dataclass(frozen=True)
class _Place:
    source_id: int
    label: str
    source_kind: str
    location: str
    path: str
    container: str | None


class _VerifiedFiles:
    """Evidence files whose SHA-256 was checked, keyed by identity and change time: a range request of a
    long video must not hash gigabytes again, and a file changed since is hashed (and refused) anew."""

    def __init__(self, size: int = 256) -> None:
        self._seen: OrderedDict[tuple[str, int, int, int, int], str] = OrderedDict()
        self._size = size
        self._lock = Lock()

    def get(self, key: tuple[str, int, int, int, int]) -> str | None:
        with self._lock:
            found = self._seen.get(key)
            if found is not None:
                self._seen.move_to_end(key)
            return found

    def put(self, key: tuple[str, int, int, int, int], sha256: str) -> None:
        with self._lock:
            self._seen[key] = sha256
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)


_verified = _VerifiedFiles()


def check_sha256(value: str) -> str:
    """Path parameters name contents by SHA-256 only: 64 lowercase hex digits, nothing that can be a path."""
    if not SHA256.match(value):
        raise RevealError("not a SHA-256")
    return value


def open_media(
    session: Session,
    case_id: int,
    sha256: str,
    settings: AnalysisSettings,
    *,
    stream_videos: bool = True,
    in_memory_limit: int = MAX_IN_MEMORY_BYTES,
) -> MediaBody:
    """The content's bytes, verified. Top-level videos larger than ``in_memory_limit`` come back as a
    path to stream (verified once, then served by range); everything else as bytes."""
    content = session.scalar(select(Content).where(Content.case_id == case_id, Content.sha256 == check_sha256(sha256)))
    if content is None:
        raise RevealError("no such content in this case")
    if content.kind not in REVEALABLE_KINDS:
        raise RevealError(f"only pictures and videos can be revealed (this is {content.kind})")
    streamable = stream_videos and content.kind == "video"
    limit = MAX_STREAMED_BYTES if streamable else in_memory_limit
    if content.size > limit:
        raise RevealError(f"too large to reveal ({content.size:,} bytes; at most {limit:,})")
    mime = content.mime or "application/octet-stream"
    problems: list[str] = []
    for place in _places(session, case_id, content.id):
        data: bytes | None
        try:
            if place.container is None:
                fs_path = _top_level_path(place)
                if streamable and content.size > in_memory_limit:
                    if _verify_file(fs_path, content.sha256, content.size):
                        return MediaBody(mime, content.size, path=fs_path)
                    problems.append(f"{place.path}: changed since the ingest")
                    continue
                data = _read_small_file(fs_path, content.size)
            else:
                data = _read_member(session, place, settings, content.sha256, in_memory_limit)
        except OSError as exc:
            problems.append(f"{place.path}: {describe_os_error(exc)}")
            continue
        except RevealError as exc:
            problems.append(f"{place.path}: {exc}")
            continue
        if data is not None and hashlib.sha256(data).hexdigest() == content.sha256:
            return MediaBody(mime, len(data), data=data)
        problems.append(f"{place.path}: changed since the ingest")
    raise RevealError(
        "cannot read this item back from the evidence" + (f" ({'; '.join(problems[:3])})" if problems else "")
    )


def read_range(path: str, start: int, length: int) -> bytes:
    """Bytes [start, start+length) of a verified evidence file, read-only."""
    with os.fdopen(open_readonly(path), "rb") as handle:
        handle.seek(start)
        return handle.read(length)


def _places(session: Session, case_id: int, content_id: int) -> list[_Place]:
    """Where the content was found, easiest to read first: top-level files, then shallow archive members."""
    rows = session.execute(
        select(Source.id, Source.label, Source.kind, Source.location, Occurrence.path, Occurrence.container)
        .join(Source, Source.id == Occurrence.source_id)
        .where(Occurrence.content_id == content_id, Source.case_id == case_id)
    ).all()
    places = [_Place(*row) for row in rows]
    return sorted(places, key=lambda p: (p.container is not None, p.path.count("!/"), p.path))


def _top_level_path(place: _Place) -> str:
    """The evidence file behind a top-level virtual path ``LABEL:/relative/path``, inside its source only."""
    prefix = f"{place.label}:/"
    if not place.path.startswith(prefix):
        raise RevealError("path does not belong to its source")
    if place.source_kind == "file":
        return place.location
    parts = place.path[len(prefix) :].split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise RevealError("path leaves its source")
    root = os.path.realpath(place.location)
    real = os.path.realpath(Path(place.location).joinpath(*parts))
    if not real.startswith(root.rstrip(os.sep) + os.sep):
        raise RevealError("path leaves its source")
    return real


def _read_small_file(path: str, expected_size: int) -> bytes:
    if Path(path).stat().st_size != expected_size:
        raise RevealError("changed since the ingest (size differs)")
    return read_whole(path)


def _verify_file(path: str, sha256: str, expected_size: int) -> bool:
    fd = open_readonly(path)
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(handle.fileno())
        if st.st_size != expected_size:
            return False
        key = (path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        if _verified.get(key) == sha256:
            return True
        digest = hashlib.sha256()
        while block := handle.read(HASH_BLOCK):
            digest.update(block)
    if digest.hexdigest() != sha256:
        return False
    _verified.put(key, sha256)
    return True


def _member_chain(session: Session, place: _Place) -> tuple[_Place, list[str]]:
    """The top-level occurrence holding an archive member, and the member names leading down to it."""
    names: list[str] = []
    current_path, container = place.path, place.container
    for _ in range(64):  # deeper than any archive limit: a cycle in stored data must not loop forever
        if container is None:
            return _Place(place.source_id, place.label, place.source_kind, place.location, current_path, None), names
        if not current_path.startswith(container + "!/"):
            raise RevealError("inconsistent archive path")
        names.insert(0, current_path[len(container) + 2 :])
        parent = session.execute(
            select(Occurrence.path, Occurrence.container).where(
                Occurrence.source_id == place.source_id, Occurrence.path_digest == path_digest(container)
            )
        ).first()
        if parent is None:
            raise RevealError("the enclosing archive is not recorded")
        current_path, container = parent
    raise RevealError("archive nesting too deep")


def _read_member(session: Session, place: _Place, settings: AnalysisSettings, sha256: str, limit: int) -> bytes | None:
    top, names = _member_chain(session, place)
    fs_path = _top_level_path(top)
    size = Path(fs_path).stat().st_size
    source: bytes | str = read_whole(fs_path) if size <= settings.in_memory_bytes else fs_path
    return _find_member(source, names, top.path.rsplit("/", 1)[-1], settings, sha256, limit)


def _find_member(
    source: bytes | str, names: list[str], hint: str, settings: AnalysisSettings, sha256: str, limit: int
) -> bytes | None:
    """Expand one archive level looking for ``names[0]``; recurse while names remain (same limits as ingest)."""
    expansion = ArchiveExpansion(source, settings, ExpansionBudget(settings.archives), name_hint=hint)
    members = expansion.members()  # a generator: closed below even when the member is found early
    try:
        for member in members:
            if member.name != names[0] or member.content is None:
                continue
            if len(names) > 1:
                hint = member.name.rsplit("/", 1)[-1]
                found = _find_member(member.content, names[1:], hint, settings, sha256, limit)
            else:
                found = _member_bytes(member.data, member.spool_path, member.size, limit)
                if found is not None and hashlib.sha256(found).hexdigest() != sha256:
                    found = None  # same name, other bytes (archives may repeat a name): keep looking
            if found is not None:
                return found
    finally:
        getattr(members, "close", lambda: None)()  # releases the libarchive handle and any spool file
    return None


def _member_bytes(data: bytes | None, spool_path: str | None, size: int, limit: int) -> bytes | None:
    if size > limit:
        raise RevealError(f"too large to reveal from inside an archive ({size:,} bytes)")
    if data is not None:
        return data
    return read_whole(spool_path) if spool_path is not None else None
