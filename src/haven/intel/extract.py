"""`haven intel extract REF`: every text-bearing content of a case read for identifiers, stored with where
each one occurs.

Plan: the case's contents that are text-bearing by their stored MIME (or named as text, or unnamed by
libmagic), without an ``intel_scan`` marker of this extractor version. Each is read again from the evidence,
read-only and SHA-256-checked: a top-level file streamed in one pass while it is hashed (a 1 GB file is
never held whole; what it gave is dropped if the hash differs), an archive member re-opened through its
containers (``haven.review.retrieve``). Readers (``haven.intel.readers``) turn the bytes into segments;
``haven.intel.detect.find_identifiers`` finds the identifiers in each.

Workers (a fork pool) write their own results, in batches: identifiers upserted store-wide on (type,
normalized) (``country`` set on creation by ``haven.intel.country``), occurrences and records inserted
ignoring those already there, and the content's marker written with its last batch. A killed run resumes at
the first content without a marker; a content redone cannot duplicate anything. A content that cannot be read
(malformed, not text, changed since the ingest) gets its marker with the error; the run goes on.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.pool import Pool
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from haven.config import Config
from haven.faces.evidence_bytes import EvidenceReadError, Place, places_of
from haven.intel import access
from haven.intel.country import country_of
from haven.intel.readers import NotTextError, Reader, is_candidate, reader_for, suffix_of
from haven.intel.readers.base import Item, ReaderError, ReadLimits, Record, Segment, utc
from haven.intel.readers.body import BytesBody, ChangedError, FileBody
from haven.intel.types import Found, Hint
from haven.progress import make_progress
from haven.settings import AnalysisSettings
from haven.store.db import Store, open_store
from haven.store.models import Content, Identifier, IdentifierOccurrence, IntelRecord, IntelScan, Occurrence

VERSION = "extract-1"
"""Bump when readers or detectors change what they find: contents are then read again."""
FLUSH_ROWS = 5_000
"""Occurrences (or records) per store transaction."""
CONTEXT_CHARS = 200
RECORD_FIELDS = 200
RECORD_VALUE_CHARS = 1000
"""A record keeps at most this many fields of at most this many characters: linkage material, not a copy."""


@dataclass(frozen=True)
class ExtractJob:
    content_id: int
    sha256: str
    size: int
    mime: str | None
    path: str
    places: list[Place]


@dataclass(frozen=True)
class ExtractContext:
    """What every job shares (pickled with each chunk: small)."""

    case_id: int
    database_url: str
    analysis: AnalysisSettings
    limits: ReadLimits


@dataclass(frozen=True)
class ScanResult:
    content_id: int
    reader: str | None
    occurrences: int
    bytes_read: int
    error: str | None


@dataclass
class ExtractSummary:
    case: str
    version: str = VERSION
    contents: int = 0
    already_done: int = 0
    scanned: int = 0
    with_identifiers: int = 0
    occurrences: int = 0
    bytes_read: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def megabytes_per_second(self) -> float:
        return self.bytes_read / 1e6 / self.seconds if self.seconds else 0.0

    def detail(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "contents": self.contents,
            "already_done": self.already_done,
            "scanned": self.scanned,
            "with_identifiers": self.with_identifiers,
            "occurrences": self.occurrences,
            "bytes_read": self.bytes_read,
            "errors": len(self.errors),
        }


def extract_case(
    store: Store,
    config: Config,
    reference: str,
    *,
    workers: int | None = None,
    limits: ReadLimits | None = None,
    show_progress: bool = True,
) -> ExtractSummary:
    """Read every text-bearing content of the case not yet read by this version. Raises HavenError
    (NotAMemberError, no such case) before any work."""
    started = time.monotonic()
    summary = ExtractSummary(case=reference)
    with store.session() as session:
        case = access.intel_case(session, reference, config.user)
        case_id = case.id
        summary.contents, jobs = plan(session, case_id)
    summary.already_done = summary.contents - len(jobs)
    limits = limits or ReadLimits(scratch_dir=str(config.scratch_dir))
    context = ExtractContext(
        case_id, store.engine.url.render_as_string(hide_password=False), config.analysis_settings(), limits
    )
    paths = {job.content_id: job.path for job in jobs}
    store.engine.dispose()  # no pooled connection crosses the fork
    workers = workers or os.cpu_count() or 1
    with _pool(workers, len(jobs)) as pool, make_progress(show_progress) as progress:
        task = progress.add_task("Identifiers", total=len(jobs))
        for result in _results(pool, jobs, context, workers):
            summary.scanned += 1
            summary.occurrences += result.occurrences
            summary.with_identifiers += result.occurrences > 0
            summary.bytes_read += result.bytes_read
            if result.error:
                summary.errors.append((paths[result.content_id], result.error))
            progress.advance(task)
    _close_worker_stores()
    summary.seconds = time.monotonic() - started
    with store.session() as session:
        access.record(session, reference=reference, user=config.user, action="extract", detail=summary.detail())
    return summary


def plan(session: Session, case_id: int) -> tuple[int, list[ExtractJob]]:
    """(text-bearing contents of the case, a job for each without this version's marker), in content order."""
    first = (
        select(Occurrence.content_id, func.min(Occurrence.id).label("first_id"))
        .where(Occurrence.content_id.in_(select(Content.id).where(Content.case_id == case_id)))
        .group_by(Occurrence.content_id)
        .subquery()
    )
    done = select(IntelScan.id).where(IntelScan.content_id == Content.id, IntelScan.version == VERSION).exists()
    rows = session.execute(
        select(Content.id, Content.sha256, Content.size, Content.mime, Content.kind, Occurrence.path, done)
        .join(first, first.c.content_id == Content.id)
        .join(Occurrence, Occurrence.id == first.c.first_id)
        .where(Content.case_id == case_id)
        .order_by(Content.id)
    ).all()
    candidates = [row for row in rows if is_candidate(row.mime, row.kind, row.path)]
    todo = [row for row in candidates if not row[6]]
    places = places_of(session, [row.id for row in todo])
    jobs = [ExtractJob(r.id, r.sha256, r.size, r.mime, r.path, places.get(r.id, [])) for r in todo]
    return len(candidates), jobs


# ---------------------------------------------------------------- the pool


def _pool(workers: int, jobs: int) -> AbstractContextManager[Pool | None]:
    if workers <= 1 or jobs <= 1:
        return nullcontext()
    return multiprocessing.get_context("fork").Pool(min(workers, jobs))


def _results(pool: Pool | None, jobs: list[ExtractJob], context: ExtractContext, workers: int) -> Iterator[ScanResult]:
    args = [(job, context) for job in jobs]
    if pool is None:
        yield from (_call(a) for a in args)
        return
    yield from pool.imap_unordered(_call, args, chunksize=1)  # contents differ in size by orders of magnitude


def _call(arg: tuple[ExtractJob, ExtractContext]) -> ScanResult:
    return extract_content(*arg)


_worker_stores: dict[str, Store] = {}  # per process and database, opened after the fork


def _worker_store(url: str) -> Store:
    store = _worker_stores.get(url)
    if store is None:
        store = _worker_stores[url] = open_store(url, migrate=False)
    return store


def _close_worker_stores() -> None:
    while _worker_stores:
        _worker_stores.popitem()[1].dispose()


# ---------------------------------------------------------------- one content


def extract_content(job: ExtractJob, context: ExtractContext) -> ScanResult:
    """Read one content, store what it holds; never raises for the content's own faults."""
    store = _worker_store(context.database_url)
    writer = _Writer(store, job, context.case_id)
    name = job.path.rsplit("/", 1)[-1]
    try:
        body = _open_body(job, context)
    except (EvidenceReadError, ChangedError, OSError) as exc:
        return writer.finish(None, 0, f"unreadable: {exc}")
    reader: Reader | None = None
    error: str | None = None
    try:
        try:
            reader = reader_for(job.mime, body.head, name)
        except NotTextError as exc:
            named_as_text = suffix_of(name) in _TEXTUAL_NAMES
            return writer.finish(None, len(body.head), str(exc) if named_as_text else None)  # the head alone was read
        try:
            for item in reader.read(body, context.limits):
                writer.add(item)
        except ReaderError as exc:
            error = str(exc)
        except SQLAlchemyError:
            raise  # the store failing is the run's error, not this content's
        except Exception as exc:  # hostile input makes parsing libraries raise anything: this content's error
            error = f"{reader.name} reader failed: {type(exc).__name__}: {exc}"[:500]
        body.verify()
    except ChangedError as exc:
        writer.discard()
        return writer.finish(reader.name if reader else None, 0, str(exc))
    finally:
        if isinstance(body, FileBody):
            body.close()
    return writer.finish(reader.name, body.size, error)


_TEXTUAL_NAMES = frozenset({"txt", "log", "csv", "tsv", "json", "jsonl", "chat", "eml", "mbox", "html", "htm", "xml"})


def _open_body(job: ExtractJob, context: ExtractContext) -> FileBody | BytesBody:
    """The content's bytes from a top-level evidence file (streamed), else from inside an archive."""
    name = job.path.rsplit("/", 1)[-1]
    scratch = context.limits.scratch_dir
    problems: list[str] = []
    for place in job.places:
        if place.fs_path is None:
            continue
        try:
            return FileBody(
                place.fs_path, job.sha256, job.size, job.mime or "", name, context.limits.in_memory_bytes, scratch
            )
        except (OSError, ChangedError) as exc:
            problems.append(f"{place.virtual_path}: {exc}")
    if any(place.fs_path is None for place in job.places):
        data = _archive_member(job, context)
        return BytesBody(data, job.mime or "", name, scratch)
    raise EvidenceReadError("; ".join(problems[:3]) or "no occurrence recorded")


def _archive_member(job: ExtractJob, context: ExtractContext) -> bytes:
    """A content found only inside archives, through the review's retrieval (containers re-opened with the
    ingest's limits, SHA-256 verified). Its public ``open_media`` serves pictures and videos only, so its
    place helpers are used here directly."""
    import hashlib

    from haven.review import retrieve

    store = _worker_store(context.database_url)
    problems: list[str] = []
    with store.session() as session:
        for place in retrieve._places(session, context.case_id, job.content_id):
            if place.container is None:
                continue
            try:
                data = retrieve._read_member(
                    session, place, context.analysis, job.sha256, context.limits.in_memory_bytes
                )
            except Exception as exc:  # a hostile archive may fail anywhere; the next place may do
                problems.append(f"{place.path}: {exc}")
                continue
            if data is not None and hashlib.sha256(data).hexdigest() == job.sha256:
                return data
            problems.append(f"{place.path}: not found again in its archive")
    raise EvidenceReadError("inside an archive: " + ("; ".join(problems[:3]) or "no place recorded"))


# ---------------------------------------------------------------- detection and storage


CACHED_TEXT_CHARS = 256
"""Texts up to this long (cells, header values) are remembered: a customer list repeats its values."""


def find_identifiers(text: str, hint: Hint | None = None) -> list[Found]:
    if len(text) <= CACHED_TEXT_CHARS:
        return _cached_find(text, hint)
    from haven.intel.detect import find_identifiers as detect

    return detect(text, hint)


@functools.lru_cache(maxsize=65_536)
def _cached_find(text: str, hint: Hint | None) -> list[Found]:
    from haven.intel.detect import find_identifiers as detect

    return detect(text, hint)


@dataclass
class _Pending:
    identifiers: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # key -> (value, detail)
    occurrences: dict[tuple[str, str, int, int], dict[str, Any]] = field(default_factory=dict)
    records: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return max(len(self.occurrences), len(self.records))


class _Writer:
    """Findings of one content, written a batch per transaction; the marker goes with the last batch."""

    def __init__(self, store: Store, job: ExtractJob, case_id: int) -> None:
        self.store, self.job, self.case_id = store, job, case_id
        self.pending = _Pending()
        self.occurrences = 0
        self.position = 0  # running offset of line-less segments: keeps their places distinct

    def add(self, item: Item) -> None:
        if isinstance(item, Record):
            fields = dict(list(item.fields.items())[:RECORD_FIELDS])
            self.pending.records[item.name] = _canonical({k[:200]: v[:RECORD_VALUE_CHARS] for k, v in fields.items()})
        else:
            base = 0
            if item.line == 0:
                base, self.position = self.position, self.position + len(item.text) + 1
            for found in find_identifiers(item.text, item.hint):
                if item.own is None or item.own[0] <= found.start < item.own[1]:
                    self._found(item, found, base)
        if len(self.pending) >= FLUSH_ROWS:
            with self.store.session() as session:
                self._flush(session)

    def _found(self, segment: Segment, found: Found, base: int) -> None:
        text, start = segment.text, found.start
        if segment.line:
            newlines = text.count("\n", 0, start)
            line = segment.line + newlines
            offset = start - text.rfind("\n", 0, start) - 1 if newlines else segment.char_offset + start
        else:
            line, offset = 0, base + segment.char_offset + start
        key = (found.type, found.normalized)
        if key not in self.pending.identifiers:
            detail = {k: v for k, v in found.detail.items() if not k.startswith("observed_at")}  # per occurrence
            self.pending.identifiers[key] = (_db_text(found.value), _canonical(detail))
        self.pending.occurrences.setdefault(
            (found.type, found.normalized, line, offset),
            {
                "line": line,
                "char_offset": offset,
                "field": _db_text(segment.field[:200]) if segment.field else None,
                "record": _db_text(segment.record[:200]) if segment.record else None,
                "observed_at": _observed(found, segment),
                "context": _db_text(_context(text, found.start, found.end)),
            },
        )

    def _flush(self, session: Session) -> None:
        pending, self.pending = self.pending, _Pending()
        ids = self._identifier_ids(session, pending.identifiers)
        rows = [
            {
                "case_id": self.case_id,
                "identifier_id": ids[(kind, normalized)],
                "content_id": self.job.content_id,
                "path": self.job.path,
                **row,
            }
            for (kind, normalized, _line, _offset), row in pending.occurrences.items()
        ]
        for start in range(0, len(rows), FLUSH_ROWS):
            _insert_ignore(
                session,
                IdentifierOccurrence,
                rows[start : start + FLUSH_ROWS],
                ("content_id", "identifier_id", "line", "char_offset"),
            )
        self.occurrences += len(rows)
        records = [
            {
                "case_id": self.case_id,
                "content_id": self.job.content_id,
                "record": _db_text(name[:200]),
                "fields": fields,
            }
            for name, fields in pending.records.items()
        ]
        _insert_ignore(session, IntelRecord, records, ("content_id", "record"))

    def _identifier_ids(
        self, session: Session, identifiers: dict[tuple[str, str], tuple[str, str]]
    ) -> dict[tuple[str, str], int]:
        """Ids of the batch's identifiers; those new to the store are created first, with their country."""
        keys = sorted((kind, normalized[:512]) for kind, normalized in identifiers)
        ids = _existing_ids(session, keys)
        missing = [key for key in keys if key not in ids]
        if missing:
            rows = []
            for kind, normalized in missing:  # sorted: concurrent writers insert in one order, never deadlock
                value, detail = identifiers.get((kind, normalized)) or _longer(identifiers, kind, normalized)
                country = country_of(kind, normalized, json.loads(detail))
                rows.append(
                    {"type": kind, "normalized": normalized, "value": value, "country": country, "detail": detail}
                )
            for start in range(0, len(rows), 1000):
                _insert_ignore(session, Identifier, rows[start : start + 1000], ("type", "normalized"))
            ids.update(_existing_ids(session, missing))
        return {(kind, normalized): ids[(kind, normalized[:512])] for kind, normalized in identifiers}

    def discard(self) -> None:
        """Forget what this content gave (its bytes were not the content's): pending and already written."""
        self.pending = _Pending()
        self.occurrences = 0
        with self.store.session() as session:
            session.execute(delete(IdentifierOccurrence).where(IdentifierOccurrence.content_id == self.job.content_id))
            session.execute(delete(IntelRecord).where(IntelRecord.content_id == self.job.content_id))

    def finish(self, reader: str | None, bytes_read: int, error: str | None) -> ScanResult:
        error = " ".join(error.split())[:1000] if error else None  # one line, whatever the library wrote
        with self.store.session() as session:
            if len(self.pending) or self.pending.identifiers:
                self._flush(session)
            marker = {
                "content_id": self.job.content_id,
                "version": VERSION,
                "reader": reader,
                "identifiers": self.occurrences,
                "bytes_read": bytes_read,
                "error": error,
            }
            _insert_ignore(session, IntelScan, [marker], ("content_id", "version"))
        return ScanResult(self.job.content_id, reader, self.occurrences, bytes_read, error)


def _insert_ignore(session: Session, model: type, rows: list[dict[str, Any]], conflict: tuple[str, ...]) -> None:
    """``haven.store.bulk.insert_ignore`` on the model's Core table: the ORM bulk path costs twice as much
    for the hundreds of thousands of rows a customer list gives."""
    if not rows:
        return
    table = model.__table__  # type: ignore[attr-defined]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(table).on_conflict_do_nothing(index_elements=list(conflict)), rows)


def _existing_ids(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    by_type: dict[str, list[str]] = {}
    for kind, normalized in keys:
        by_type.setdefault(kind, []).append(normalized)
    ids: dict[tuple[str, str], int] = {}
    for kind, values in by_type.items():
        for start in range(0, len(values), 500):
            rows = session.execute(
                select(Identifier.id, Identifier.normalized).where(
                    Identifier.type == kind, Identifier.normalized.in_(values[start : start + 500])
                )
            )
            ids.update({(kind, normalized): ident for ident, normalized in rows})
    return ids


def _longer(identifiers: dict[tuple[str, str], tuple[str, str]], kind: str, cut: str) -> tuple[str, str]:
    """The (value, detail) of a normalized form longer than the column, found by its cut form."""
    return next(found for (k, normalized), found in identifiers.items() if k == kind and normalized[:512] == cut)


def _canonical(value: dict[str, Any]) -> str:
    # ASCII: a NUL or a lone surrogate (from a broken encoding) is escaped, never refused by the database
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _db_text(text: str) -> str:
    """Text any database stores: PostgreSQL refuses NUL characters, and UTF-8 cannot carry lone surrogates."""
    text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", errors="replace").decode("utf-8")
    return text


def _observed(found: Found, segment: Segment) -> datetime | None:
    written = found.detail.get("observed_at")
    if isinstance(written, str):
        try:
            return utc(datetime.fromisoformat(written.replace("Z", "+00:00")))
        except ValueError:
            pass
    return segment.observed_at


def _context(text: str, start: int, end: int) -> str:
    room = max(0, CONTEXT_CHARS - (end - start))
    left = max(0, start - room // 2)
    right = min(len(text), end + (room - (start - left)))
    excerpt = " ".join(text[left:right].split())
    return excerpt[:CONTEXT_CHARS]
