"""Importing hash sets: one file becomes one set, in one transaction, or nothing at all.

A file is identified by the sha256 of its bytes: importing the same file again adds nothing and says
so. Names are unique: a different file under an existing name is refused rather than appended,
because a set is the record of one file (its hash, who imported it, what was skipped) and appending
would blur what a match came from. Entries stream from the format reader into batched executemany
of one compiled Core insert, so memory stays flat however large the file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Index, bindparam, func, insert, literal_column, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from haven import audit
from haven.errors import HavenError
from haven.formats import (
    ENTRY_COLUMNS,
    FORMATS,
    HEAD_SIZE,
    ColumnBatch,
    FormatError,
    HashListFormat,
    Note,
    ParsedEntry,
    Skipped,
    VideoEntry,
    detect,
)
from haven.formats.share_package import VerifiedPackage
from haven.hashset_loader import IdleSample, read_ahead
from haven.scheme_import import ImportScheme
from haven.schemes import SchemeError
from haven.share.keys import trusted_signers
from haven.store import Store
from haven.store.models import HashEntry, HashEntryFrame, HashSet

KINDS = ("known", "known-good")
BATCH_ROWS = 10_000  # big enough to amortise round trips, small enough to keep memory flat
# Below this many rows an import is quick either way; above it, once the set is as large as the table
# was, rebuilding the hash indexes beats maintaining them (200k VICS rows: 133k rows/s against 58k/s).
DEFER_MIN_ROWS = 20_000
REASONS_KEPT = 20
SQLITE_CACHE_KIB = 128 * 1024
SORT_CACHE_KIB = 4 * 1024  # while building indexes: small, so SQLite sorts in runs (see _external_sort)
SORT_THREADS = 1  # helper threads for those sorts; more measured no faster on two cores
NAME_MAX = 200  # HashSet.name column width


class HashSetImportError(HavenError):
    """A hash-set file that cannot be imported; the message names the file and the place."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")


@dataclass
class ImportResult:
    hash_set_id: int
    name: str
    format: str
    kind: str
    imported: int  # entries added
    skipped: int  # lines/records skipped
    skipped_reasons: list[str]  # the first REASONS_KEPT, each with its line or record number
    already_imported: bool  # the same file (by sha256) was imported before: nothing added
    warnings: list[str] = field(default_factory=list)  # fields dropped from entries that were kept
    provenance: dict[str, Any] = field(default_factory=dict)  # a signed share package's sender, case, key


def import_hashset(
    store: Store,
    path: str | Path,
    *,
    name: str | None = None,
    fmt: str = "auto",
    kind: str = "known",
    user: str,
    scheme: str | None = None,
) -> ImportResult:
    """``scheme`` names the category scheme of a list that declares none; a file that declares one must agree."""
    path = Path(path)
    if kind not in KINDS:
        raise HashSetImportError(path, f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    name = (name if name is not None else path.stem).strip()
    if not name or len(name) > NAME_MAX:
        raise HashSetImportError(path, f"a hash-set name must be 1 to {NAME_MAX} characters")
    before = _file_state(path)
    cpu = IdleSample.now()  # what the machine leaves idle while this process hashes the file
    digest, head = _fingerprint(path)
    idle_cores = cpu.idle_cores()
    reader = _choose_format(path, head, fmt)

    with store.session() as session:
        verified = _verify_signed(path, reader, session)
        declared = verified.scheme if verified is not None else reader.scheme(head)
        try:
            categories = ImportScheme.resolve(session, declared=declared, given=scheme)
        except SchemeError as error:
            raise HashSetImportError(path, str(error)) from error
        existing = session.scalar(select(HashSet).where(HashSet.file_sha256 == digest).limit(1))
        if existing is not None:
            return ImportResult(
                hash_set_id=existing.id,
                name=existing.name,
                format=existing.format,
                kind=existing.kind,
                imported=0,
                skipped=0,
                skipped_reasons=[],
                already_imported=True,
            )
        name_taken = f"a different file is already imported as hash set '{name}'; choose another --name"
        if session.scalar(select(HashSet.id).where(HashSet.name == name)) is not None:
            raise HashSetImportError(path, name_taken)
        hash_set = HashSet(
            name=name,
            kind=kind,
            format=reader.name,
            scheme=categories.scheme,
            file_name=path.name,
            file_sha256=digest,
            imported_by=user,
            **(verified.provenance if verified is not None else {}),
        )
        session.add(hash_set)
        try:
            session.flush()
        except IntegrityError as error:  # the same name taken by an import running at the same time
            raise HashSetImportError(path, name_taken) from error
        try:
            with _bulk_load(session.connection()) as connection:
                items = verified.read() if verified is not None else reader.read(path)
                checked = categories.check(items, path, reader.name)
                tally = _insert_entries(connection, hash_set.id, read_ahead(checked, before[0], idle_cores))
        except FormatError as error:
            raise HashSetImportError(path, f"{error}; nothing was imported") from error
        except OSError as error:
            raise HashSetImportError(path, f"read failed: {error.strerror or error}") from error
        if tally.imported == 0:
            first = f"; first: {tally.reasons[0]}" if tally.reasons else ""
            raise HashSetImportError(path, f"no usable hashes ({tally.skipped} skipped{first})")
        if _file_state(path) != before:
            raise HashSetImportError(path, "the file changed while it was being imported; nothing was imported")
        hash_set.entry_count, hash_set.skipped_count = tally.imported, tally.skipped
        expected_kind = getattr(reader, "expected_kind", None)  # e.g. NSRL lists files to hide, not to flag
        if expected_kind is not None and kind != expected_kind:
            tally.notes.insert(
                0, f"{reader.name} sets are meant for --kind {expected_kind}, but this was imported as {kind}"
            )
        audit.record(
            session,
            chain=audit.GLOBAL_CHAIN,
            user=user,
            action="hashset.import",
            detail={
                "hash_set_id": hash_set.id,
                "name": name,
                "kind": kind,
                "format": reader.name,
                "scheme": hash_set.scheme,
                "file_name": path.name,
                "file_sha256": digest,
                "file_size": before[0],
                "imported": tally.imported,
                "skipped": tally.skipped,
                **(verified.audit_detail() if verified is not None else {}),
            },
        )
    return ImportResult(
        hash_set_id=hash_set.id,
        name=name,
        format=reader.name,
        kind=kind,
        imported=tally.imported,
        skipped=tally.skipped,
        skipped_reasons=tally.reasons,
        already_imported=False,
        warnings=tally.notes,
        provenance=verified.audit_detail() if verified is not None else {},
    )


def list_hashsets(store: Store) -> list[HashSet]:
    with store.session() as session:
        return list(session.scalars(select(HashSet).order_by(HashSet.name)))


@dataclass
class _Tally:
    imported: int = 0
    skipped: int = 0
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    note_count: int = 0

    def finish(self) -> None:
        if self.note_count > len(self.notes):
            self.notes.append(f"… and {self.note_count - len(self.notes)} more")


def _insert_entries(
    connection: Connection,
    set_id: int,
    items: Iterable[ParsedEntry | ColumnBatch | VideoEntry | Skipped | Note],
) -> _Tally:
    write_rows = _RowsWriter(connection, set_id)
    deferral = _IndexDeferral(connection)
    tally = _Tally()
    to_row = itemgetter(*ENTRY_COLUMNS)
    batch: list[tuple[Any, ...]] = []  # single entries, gathered
    for item in items:
        if type(item) is ColumnBatch:  # a bulk reader's entries (VICS), or any reader's from a child process
            tally.imported += write_rows.add(item)
            deferral.consider(tally.imported)
        elif isinstance(item, dict):
            batch.append(to_row(item))
            if len(batch) == BATCH_ROWS:
                tally.imported += write_rows.add(ColumnBatch.from_rows(ENTRY_COLUMNS, batch))
                batch = []
                deferral.consider(tally.imported)
        elif isinstance(item, VideoEntry):
            _write_video(connection, set_id, item)
            tally.imported += 1
        elif isinstance(item, Skipped):
            tally.skipped += 1
            if len(tally.reasons) < REASONS_KEPT:
                tally.reasons.append(str(item))
        else:
            tally.note_count += 1
            if len(tally.notes) < REASONS_KEPT:
                tally.notes.append(str(item))
    if batch:
        tally.imported += write_rows.add(ColumnBatch.from_rows(ENTRY_COLUMNS, batch))
    tally.imported += write_rows.flush()
    deferral.restore()
    tally.finish()
    return tally


class _IndexDeferral:
    """On SQLite, drops the hash indexes of hash_entry once this import is large relative to the table,
    and builds them again at the end.

    Each entry inserts into the md5, sha1 and sha256 B-trees at random places; once they outgrow the page
    cache every insert is a page miss. CREATE INDEX sorts instead, several times faster per row, but it
    indexes the whole table, so it only pays once this set has at least as many rows as were there
    before (then the rebuild costs at most twice the set's own rows). The drop is part of the import's
    transaction: a failed import rolls it back with everything else, and readers on other connections
    keep their indexed snapshot throughout (WAL). Not on PostgreSQL, where DROP INDEX would lock matching
    out of the table for the whole import.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.dropped: list[Index] = []
        self.existing = -1  # rows before this import; -1 until looked up (only when it can matter)
        if connection.dialect.name != "sqlite":
            self.existing = -2  # never

    def consider(self, imported: int) -> None:
        if self.dropped or self.existing == -2 or imported < DEFER_MIN_ROWS:
            return
        if self.existing == -1:
            # max(id) is an index lookup, unlike count(*); ids are never far above the row count.
            newest = self.connection.scalar(select(func.max(HashEntry.id))) or 0
            self.existing = max(0, int(newest) - imported)
        if imported >= self.existing:
            self.dropped = [index for index in HashEntry.__table__.indexes if index.name in _DEFERRABLE]
            for index in self.dropped:
                index.drop(self.connection)

    def restore(self) -> None:
        if not self.dropped:
            return
        with _external_sort(self.connection):
            for index in self.dropped:
                index.create(self.connection)
        self.dropped = []


def _external_sort(connection: Connection) -> AbstractContextManager[None]:
    """SQLite settings for CREATE INDEX over millions of rows: a small page cache and a helper thread.

    With the bulk-load cache, SQLite sorts all the keys in memory in one thread. With a cache of a few MB
    it sorts runs of keys in a helper thread and merges them (``PRAGMA threads``), which on two cores built
    the three hash indexes of a million rows in 2.2 s instead of 3.7 s."""
    return _sqlite_pragmas(connection, cache_size=-SORT_CACHE_KIB, threads=SORT_THREADS)


_DEFERRABLE = {"ix_hash_entry_md5", "ix_hash_entry_sha1", "ix_hash_entry_sha256"}  # set_id only ever appends


class _RowsWriter:
    """Writes ``ColumnBatch`` entries, gathered by the columns they fill into executemany batches of about
    ``BATCH_ROWS`` (a reader's own batches are small), each kind through one statement naming only those
    columns: sqlite3 takes the tuples as they are; psycopg gets them through COPY (no per-row statement at
    all); any other named-parameter driver gets dicts. Memory: at most about ``BATCH_ROWS`` rows held."""

    def __init__(self, connection: Connection, set_id: int) -> None:
        self.connection = connection
        self.set_id = int(set_id)
        self.writers: dict[tuple[str, ...], Callable[[list[tuple[Any, ...]]], None]] = {}
        self.pending: dict[tuple[str, ...], list[ColumnBatch]] = {}
        self.held = 0

    def add(self, batch: ColumnBatch) -> int:
        """Takes ``batch``; returns how many rows were written to the database by this call."""
        self.pending.setdefault(batch.columns, []).append(batch)
        self.held += len(batch)
        return self.flush() if self.held >= BATCH_ROWS else 0

    def flush(self) -> int:
        for columns, parts in self.pending.items():
            writer = self.writers.get(columns) or self.writers.setdefault(columns, self._writer(columns))
            writer(ColumnBatch.joined(parts).rows())
        written, self.held = self.held, 0
        self.pending.clear()
        return written

    def _writer(self, columns: tuple[str, ...]) -> Callable[[list[tuple[Any, ...]]], None]:
        connection = self.connection
        if connection.dialect.driver == "psycopg":
            return _copy_writer(connection, self.set_id, columns)
        statement = insert(HashEntry).values(
            set_id=literal_column(str(self.set_id)), **{name: bindparam(name) for name in columns}
        )
        compiled = statement.compile(dialect=connection.dialect)
        sql = str(compiled)
        if not (compiled.positional and compiled.positiontup):

            def write_named(rows: list[tuple[Any, ...]]) -> None:
                connection.exec_driver_sql(sql, [dict(zip(columns, row, strict=True)) for row in rows])  # type: ignore[arg-type]

            return write_named
        order = [columns.index(name) for name in compiled.positiontup]
        pick = None if order == list(range(len(columns))) else itemgetter(*order)

        def write(rows: list[tuple[Any, ...]]) -> None:
            connection.exec_driver_sql(sql, rows if pick is None else list(map(pick, rows)))  # type: ignore[arg-type]

        return write


def _copy_writer(
    connection: Connection, set_id: int, columns: tuple[str, ...]
) -> Callable[[list[tuple[Any, ...]]], None]:
    """PostgreSQL COPY of rows into hash_entry, on the import's own connection and transaction."""
    driver: Any = connection.connection.driver_connection
    statement = f"COPY {HashEntry.__tablename__} ({', '.join(['set_id', *columns])}) FROM STDIN"

    def write(rows: list[tuple[Any, ...]]) -> None:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            write_row = copy.write_row
            for row in rows:
                write_row((set_id, *row))

    return write


def _write_video(connection: Connection, set_id: int, video: VideoEntry) -> None:
    """One known video: its entry (its id is needed for the frames), then its frames in batched executemany.
    Same connection and transaction as the rest of the set, so a failure later still leaves nothing."""
    statement = insert(HashEntry).values(set_id=set_id, **video.entry).returning(HashEntry.id)
    entry_id = connection.execute(statement).scalar_one()
    frames = [
        {"entry_id": entry_id, "seq": seq, "timestamp": seconds, "pdq": pdq, "quality": quality}
        for seq, seconds, pdq, quality in video.frames
    ]
    for start in range(0, len(frames), BATCH_ROWS):
        connection.execute(insert(HashEntryFrame), frames[start : start + BATCH_ROWS])


@contextmanager
def _bulk_load(connection: Connection) -> Iterator[Connection]:
    """On SQLite, a bigger page cache while loading: the hash indexes' pages stay in memory instead of
    spilling to the WAL mid-transaction (about twice as fast for large sets)."""
    if connection.dialect.name != "sqlite":
        yield connection
        return
    with _sqlite_pragmas(connection, cache_size=-SQLITE_CACHE_KIB):
        yield connection


@contextmanager
def _sqlite_pragmas(connection: Connection, **settings: int) -> Iterator[None]:
    """SQLite pragmas set for a while; the pooled connection gets its own values back afterwards."""
    previous = {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar() for name in settings}
    for name, value in settings.items():
        connection.exec_driver_sql(f"PRAGMA {name}={int(value)}")
    try:
        yield
    finally:
        for name, value in previous.items():
            connection.exec_driver_sql(f"PRAGMA {name}={int(value)}")


def _file_state(path: Path) -> tuple[int, int]:
    try:
        info = path.stat()
    except OSError as error:
        raise HashSetImportError(path, f"cannot read: {error.strerror or error}") from error
    if not path.is_file():
        raise HashSetImportError(path, "not a regular file")
    return info.st_size, info.st_mtime_ns


def _fingerprint(path: Path) -> tuple[str, bytes]:
    """sha256 of the whole file and its first HEAD_SIZE bytes (for format detection)."""
    try:
        with path.open("rb") as stream:
            head = stream.read(HEAD_SIZE)
            stream.seek(0, os.SEEK_SET)
            digest = hashlib.file_digest(stream, "sha256").hexdigest()
    except OSError as error:
        raise HashSetImportError(path, f"cannot read: {error.strerror or error}") from error
    if not head:
        raise HashSetImportError(path, "the file is empty")
    return digest, head


def _verify_signed(path: Path, reader: HashListFormat, session: Session) -> VerifiedPackage | None:
    """For a signed format (a share package), its signature checked against the store's trusted keys before
    any entry is read; None for every other format. A format module has no store access, hence this step."""
    verify = getattr(reader, "verify", None)
    if verify is None:
        return None
    try:
        verified: VerifiedPackage = verify(path, trusted_signers(session))
    except FormatError as error:
        raise HashSetImportError(path, f"{error}; nothing was imported") from error
    return verified


def _choose_format(path: Path, head: bytes, fmt: str) -> HashListFormat:
    if fmt == "auto":
        found = detect(head)
        if found is None:
            raise HashSetImportError(
                path,
                "unrecognised format: not an NSRL or Sleuth Kit SQLite database, VICS JSON, a vPDQ file, "
                "an HMA CSV, a CSV table with a hash column header, HashKeeper, an EnCase hash set, md5sum "
                "output, a signal list, a PDQ list or a plain MD5/SHA-1/SHA-256 list",
            )
        return found
    if fmt not in FORMATS:
        raise HashSetImportError(path, f"unknown format {fmt!r}; choose auto, {', '.join(FORMATS)}")
    return FORMATS[fmt]
