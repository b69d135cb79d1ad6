"""Batched writing of analysis results: contents deduplicated by sha256, every occurrence kept."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from sqlalchemy import select, update

from haven.evidence.walker import WalkEntry
from haven.results import ContentInfo, FoundItem
from haven.store.bulk import insert_ignore
from haven.store.db import Store
from haven.store.models import Content, Occurrence, Source, Thumbnail, VideoFrame

ID_LOOKUP_CHUNK = 500


def path_digest(path: str) -> str:
    return hashlib.sha1(path.encode("utf-8", "surrogateescape")).hexdigest()


def content_row(case_id: int, info: ContentInfo) -> dict[str, Any]:
    exif = info.exif
    return {
        "case_id": case_id,
        "sha256": info.sha256,
        "md5": info.md5,
        "sha1": info.sha1,
        "size": info.size,
        "mime": info.mime,
        "kind": info.kind,
        "width": info.width,
        "height": info.height,
        "duration": info.duration,
        "codec": info.codec,
        "pdq": info.pdq,
        "pdq_quality": info.pdq_quality,
        "pdq_dihedral": ",".join(info.pdq_dihedral) if info.pdq_dihedral else None,
        "exif_make": exif.get("make"),
        "exif_model": exif.get("model"),
        "exif_serial": exif.get("serial"),
        "exif_lens": exif.get("lens"),
        "exif_datetime": exif.get("datetime_original"),
        "gps_lat": exif.get("gps_lat"),
        "gps_lon": exif.get("gps_lon"),
        "encrypted": info.encrypted,
        "error": info.error,
        "status": "error" if info.error else "unknown",
    }


class ResultWriter:
    """Buffers results and writes them a batch per transaction.

    A top-level file and everything found inside it always land in the same transaction: that is
    what makes "skip files already stored" a correct resume rule after a crash.
    """

    def __init__(self, store: Store, case_id: int, batch_items: int = 2000, batch_seconds: float = 2.0) -> None:
        self.store = store
        self.case_id = case_id
        self.batch_items = batch_items
        self.batch_seconds = batch_seconds
        self._pending: list[tuple[int, WalkEntry, list[FoundItem]]] = []
        self._pending_items = 0
        self._last_flush = time.monotonic()
        with store.session() as session:
            rows = session.execute(select(Content.sha256, Content.id).where(Content.case_id == case_id))
            self._ids: dict[str, int] = {sha: cid for sha, cid in rows}
        self._needs_sha: dict[int, bool] = {}

    def add(self, source_id: int, entry: WalkEntry, items: list[FoundItem]) -> None:
        self._pending.append((source_id, entry, items))
        self._pending_items += len(items)
        if self._pending_items >= self.batch_items or time.monotonic() - self._last_flush >= self.batch_seconds:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        with self.store.session() as session:
            new_contents: dict[str, ContentInfo] = {}
            for _, _, items in self._pending:
                for item in items:
                    info = item.content
                    if info is not None and info.sha256 not in self._ids:
                        new_contents.setdefault(info.sha256, info)
            if new_contents:
                rows = [content_row(self.case_id, info) for info in new_contents.values()]
                insert_ignore(session, Content, rows, ("case_id", "sha256"))
                self._load_ids(session, list(new_contents))
                thumbs = [
                    {"content_id": self._ids[sha], "jpeg": info.thumbnail}
                    for sha, info in new_contents.items()
                    if info.thumbnail
                ]
                insert_ignore(session, Thumbnail, thumbs, ("content_id",))
                frames = [
                    {"content_id": self._ids[sha], "seq": seq, "timestamp": ts, "pdq": pdq, "quality": quality}
                    for sha, info in new_contents.items()
                    for seq, (ts, pdq, quality) in enumerate(info.frames or ())
                ]
                insert_ignore(session, VideoFrame, frames, ("content_id", "seq"))
            occurrences = []
            for source_id, entry, items in self._pending:
                top = path_digest(entry.virtual_path)
                for item in items:
                    occurrences.append(self._occurrence_row(source_id, top, item))
                if items and items[0].content and items[0].path == entry.virtual_path:
                    self._note_single_file_source(session, source_id, items[0].content)
            insert_ignore(session, Occurrence, occurrences, ("source_id", "path_digest"))
        self._pending.clear()
        self._pending_items = 0
        self._last_flush = time.monotonic()

    def _occurrence_row(self, source_id: int, top: str, item: FoundItem) -> dict[str, Any]:
        return {
            "source_id": source_id,
            "content_id": self._ids[item.content.sha256] if item.content else None,
            "path": item.path,
            "path_digest": path_digest(item.path),
            "container": item.container,
            "top_level": top,
            "mtime": item.mtime,
            "atime": item.atime,
            "ctime": item.ctime,
            "error": item.error,
        }

    def _load_ids(self, session: Any, shas: list[str]) -> None:
        for start in range(0, len(shas), ID_LOOKUP_CHUNK):
            chunk = shas[start : start + ID_LOOKUP_CHUNK]
            found = session.execute(
                select(Content.sha256, Content.id).where(Content.case_id == self.case_id, Content.sha256.in_(chunk))
            )
            self._ids.update({sha: cid for sha, cid in found})

    def _note_single_file_source(self, session: Any, source_id: int, info: ContentInfo) -> None:
        """A source that is one file (an image, an archive) records that file's SHA-256."""
        if source_id not in self._needs_sha:
            kind, sha = session.execute(select(Source.kind, Source.sha256).where(Source.id == source_id)).one()
            self._needs_sha[source_id] = kind == "file" and sha is None
        if self._needs_sha[source_id]:
            session.execute(update(Source).where(Source.id == source_id).values(sha256=info.sha256))
            self._needs_sha[source_id] = False
