"""Streaming expansion of one archive with libarchive, bounded by ArchiveLimits.

Nothing is ever extracted by name: member bytes go to memory, or (past
settings.in_memory_bytes) to an anonymous spool file in settings.scratch_dir, so
hostile names cannot write anywhere. Nesting is driven by the caller (process.py),
which shares one ExpansionBudget across a whole top-level archive.
"""

from __future__ import annotations

import ctypes
import io
import os
import re
import tempfile
import zipfile
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from libarchive import ffi
from libarchive.entry import ArchiveEntry
from libarchive.exception import ArchiveError

from haven.evidence.reading import open_readonly, open_readonly_file
from haven.settings import AnalysisSettings, ArchiveLimits

_BLOCK = 1024 * 1024
# mtree and raw are left out: mtree bids on plain text, raw accepts anything.
_FORMATS = ("7zip", "ar", "cab", "cpio", "empty", "iso9660", "lha", "rar", "rar5", "tar", "xar", "zip")
# Built-in decompressors only: 'all' would also run external programs (lrzip, lzop, grzip).
_FILTERS = ("gzip", "bzip2", "xz", "lzma", "lzip", "zstd", "lz4", "compress", "rpm", "uu")
_RAW = ("raw",)
_STREAM_MAGICS = (
    b"\x1f\x8b",  # gzip
    b"BZh",  # bzip2
    b"\xfd7zXZ\x00",  # xz
    b"\x28\xb5\x2f\xfd",  # zstd
    b"LZIP",  # lzip
    b"\x04\x22\x4d\x18",  # lz4
    b"\x1f\x9d",  # compress
    b"\x5d\x00\x00",  # lzma (alone)
)
"""Single compressed streams: when no archive format is found inside, read as one member."""
_COMPRESSED_SUFFIXES = (".gz", ".tgz", ".bz2", ".xz", ".lzma", ".lz", ".zst", ".lz4", ".Z")
_MAX_HEADER_FAILURES = 100

_encrypted_fn = getattr(ffi.libarchive, "archive_entry_is_data_encrypted", None)
if _encrypted_fn is not None:
    _encrypted_fn.argtypes = [ctypes.c_void_p]
    _encrypted_fn.restype = ctypes.c_int

Source = bytes | str
"""An archive held in memory, or the path of a big one (evidence or scratch spool)."""


@dataclass
class Member:
    """One member read out of an archive. ``data`` or ``spool_path`` holds the content,
    unless it was refused (encrypted, limit hit, not a regular file)."""

    name: str
    """Safe relative name for the virtual path."""
    data: bytes | None
    spool_path: str | None
    """Content spooled to scratch; valid only until the next member is requested."""
    size: int
    mtime: float | None
    error: str | None = None

    @property
    def content(self) -> Source | None:
        return self.data if self.data is not None else self.spool_path


@dataclass
class ExpansionBudget:
    """Limits shared by one top-level archive and everything nested inside it."""

    limits: ArchiveLimits
    total_bytes: int = 0
    entries: int = 0
    exhausted: str | None = None
    """Set once a whole-archive limit is hit: every open archive then stops."""


@dataclass
class _Stop:
    """A limit hit while reading a member; ``whole_archive`` stops the archive too."""

    message: str
    whole_archive: bool


class _RetryAsRawError(Exception):
    """A compressed stream holding no archive (e.g. photo.jpg.gz): read it as one member."""


_ENCRYPTED_WORDS = ("passphrase", "encrypt", "password")
"""libarchive has no error code for encryption: its messages are all there is."""


class ArchiveExpansion:
    """Read the members of one archive level. After ``members()`` is exhausted:
    ``error`` (damaged archive, a content problem), ``limit_error`` (stopped by a limit,
    an occurrence problem) and ``encrypted_members`` describe how it went."""

    def __init__(
        self, source: Source, settings: AnalysisSettings, budget: ExpansionBudget, *, name_hint: str = "data"
    ) -> None:
        self.source = source
        self.settings = settings
        self.limits = settings.archives
        self.budget = budget
        self.name_hint = name_hint
        self.size = len(source) if isinstance(source, bytes) else Path(source).stat().st_size
        self.expanded = 0
        self.error: str | None = None
        self.limit_error: str | None = None
        self.encrypted_members = 0
        self.fatal = False
        """libarchive cannot go on (damaged data): stop after the current member."""
        self.head = source[:8] if isinstance(source, bytes) else _read_head(source, 8)
        self._zip_sizes = _zip_compressed_sizes(source)

    def members(self) -> Iterator[Member]:
        try:
            yield from self._read(_FORMATS)
        except _RetryAsRawError:
            yield from self._read(_RAW)

    # --- reading ---------------------------------------------------------------------

    def _read(self, formats: Sequence[str]) -> Iterator[Member]:
        try:
            with _open_archive(self.source, formats) as archive_p:
                yield from self._entries(archive_p, raw=formats == _RAW)
        except ArchiveError as exc:  # libarchive bids on formats while opening
            self._header_failed(exc, first=True, raw=formats == _RAW)

    def _entries(self, archive_p: int, *, raw: bool) -> Iterator[Member]:
        entry = ArchiveEntry(archive_p)
        failures = 0
        first = True
        while self.budget.exhausted is None and self.limit_error is None:
            try:
                if ffi.read_next_header2(archive_p, entry._entry_p) == ffi.ARCHIVE_EOF:
                    return
            except ArchiveError as exc:
                if exc.retcode == ffi.ARCHIVE_FAILED and failures < _MAX_HEADER_FAILURES:
                    failures += 1  # this entry is lost, the next one may be fine
                    self.error = join_errors(self.error, f"unreadable entry header: {_text(exc.msg)}")
                    continue
                self._header_failed(exc, first=first, raw=raw)
                return
            first = False
            self.budget.entries += 1
            if self.budget.entries > self.limits.max_entries:
                self.budget.exhausted = f"more than {self.limits.max_entries} entries in one top-level archive"
                break
            if entry.isdir:
                continue
            member, spool = self._member(archive_p, entry, raw=raw)
            try:
                yield member
            finally:
                if spool is not None:
                    spool.close()  # deletes the spool file
            if self.fatal:
                return
        if self.limit_error is None and self.budget.exhausted is not None:
            self.limit_error = f"not fully expanded: {self.budget.exhausted}"

    def _header_failed(self, exc: ArchiveError, *, first: bool, raw: bool) -> None:
        message = _text(exc.msg)
        if first and not raw and self.head.startswith(_STREAM_MAGICS):
            raise _RetryAsRawError from exc
        if any(word in message.lower() for word in _ENCRYPTED_WORDS):
            self.error = join_errors(self.error, f"not expanded: encrypted headers ({message})")
        else:
            self.error = join_errors(self.error, f"corrupt or truncated archive: {message}")

    def _member(self, archive_p: int, entry: ArchiveEntry, *, raw: bool) -> tuple[Member, IO[bytes] | None]:
        raw_name = _text(entry.pathname)
        name, warning = safe_member_name(_entry_name(raw_name, raw, self.name_hint))
        mtime = entry.mtime
        mtime = float(mtime) if mtime is not None else None

        def refused(reason: str) -> tuple[Member, None]:
            return Member(name, None, None, 0, mtime, join_errors(warning, reason)), None

        if entry.issym or entry.islnk:
            kind = "symlink" if entry.issym else "hard link"
            return refused(f"{kind} to {_text(entry.linkpath)!r} (not followed)")
        if not entry.isreg:
            return refused("not a regular file (special entry)")
        if _encrypted_fn is not None and _encrypted_fn(entry._entry_p):
            self.encrypted_members += 1
            return refused("encrypted (password required)")
        compressed = self._zip_sizes.take(raw_name) if self._zip_sizes is not None else None
        declared = entry.size
        stop = self._check_declared(declared, compressed)
        if stop is not None:
            if stop.whole_archive:
                self.budget.exhausted = stop.message
            return refused(stop.message)
        return self._read_data(archive_p, name, mtime, warning, compressed)

    def _read_data(
        self, archive_p: int, name: str, mtime: float | None, warning: str | None, compressed: int | None
    ) -> tuple[Member, IO[bytes] | None]:
        sink = _Sink(self.settings.in_memory_bytes, self.settings.scratch_dir)
        ptr, length, offset = ctypes.c_void_p(), ctypes.c_size_t(), ctypes.c_longlong()
        try:
            # Block by block (not archive_read_data into one buffer): on a damaged stream
            # libarchive then hands over everything decoded before the damage.
            while True:
                done = ffi.read_data_block(archive_p, ctypes.byref(ptr), ctypes.byref(length), ctypes.byref(offset))
                hole = max(offset.value - sink.size, 0)  # sparse files (tar) skip ahead
                stop = self._take(sink, None, hole, compressed)
                if stop is None and done != ffi.ARCHIVE_EOF:
                    stop = self._take(sink, ptr, length.value, compressed)
                if stop is not None:
                    sink.discard()
                    return Member(name, None, None, sink.size, mtime, join_errors(warning, stop)), None
                if done == ffi.ARCHIVE_EOF:
                    break
        except ArchiveError as exc:
            message = _text(exc.msg)
            if exc.retcode is not None and exc.retcode <= ffi.ARCHIVE_FATAL:
                self.fatal = True
                self.error = join_errors(self.error, f"corrupt or truncated archive: {message}")
            if any(word in message.lower() for word in _ENCRYPTED_WORDS):
                self.encrypted_members += 1
                sink.discard()
                return Member(name, None, None, 0, mtime, join_errors(warning, "encrypted (password required)")), None
            warning = join_errors(warning, f"incomplete member ({sink.size} bytes read): {message}")
            if sink.size == 0:
                return Member(name, None, None, 0, mtime, warning), None
            # Otherwise keep what was read: a truncated picture is still evidence.
        data, spool = sink.result()
        spool_path = spool.name if spool is not None else None
        return Member(name, data, spool_path, sink.size, mtime, warning), spool

    def _take(self, sink: _Sink, block: ctypes.c_void_p | None, count: int, compressed: int | None) -> str | None:
        """Count ``count`` more expanded bytes (a block, or zeros of a sparse hole when None)
        and keep them; or return why reading must stop. Limits are checked before any copy."""
        if not count:
            return None
        self.expanded += count
        self.budget.total_bytes += count
        stop = self._check_progress(sink.size + count, compressed)
        if stop is not None:
            if stop.whole_archive:
                self.limit_error = f"not fully expanded: {stop.message}"
            return stop.message
        if block is None:
            sink.write_zeros(count)
        else:
            sink.write(ctypes.string_at(block, count))
        return None

    # --- limits ----------------------------------------------------------------------

    def _check_declared(self, declared: int | None, compressed: int | None) -> _Stop | None:
        """Refuse from the header alone, before decompressing anything."""
        lim = self.limits
        if declared is None:
            return None
        if declared > lim.max_member_bytes:
            return _Stop(_too_big(declared, lim.max_member_bytes), whole_archive=False)
        if compressed and declared > lim.min_ratio_check_bytes and declared / compressed > lim.max_ratio:
            return _Stop(_bomb(declared / compressed, lim.max_ratio), whole_archive=False)
        if self.budget.total_bytes + declared > lim.max_total_bytes:
            return _Stop(_total(lim.max_total_bytes), whole_archive=True)
        return None

    def _check_progress(self, size: int, compressed: int | None) -> _Stop | None:
        """Enforce limits while streaming: headers can lie, and streams may declare nothing."""
        lim = self.limits
        if size > lim.max_member_bytes:
            return _Stop(_too_big(size, lim.max_member_bytes, at_least=True), whole_archive=False)
        if compressed and size > lim.min_ratio_check_bytes and size / compressed > lim.max_ratio:
            return _Stop(_bomb(size / compressed, lim.max_ratio, at_least=True), whole_archive=False)
        if self.budget.total_bytes > lim.max_total_bytes:
            self.budget.exhausted = _total(lim.max_total_bytes)
            return _Stop(self.budget.exhausted, whole_archive=True)
        # Solid and stream formats have no per-member compressed size: bound the whole level.
        if self.expanded > lim.min_ratio_check_bytes and self.expanded / max(self.size, 1) > lim.max_ratio:
            return _Stop(
                f"zip bomb: archive expands more than {lim.max_ratio:.0f}:1 "
                f"({_human(self.expanded)} from {_human(self.size)}); expansion stopped",
                whole_archive=True,
            )
        return None


class _Sink:
    """A member's bytes: in memory, moved to a scratch spool file past ``threshold`` bytes."""

    def __init__(self, threshold: int, scratch_dir: str | None) -> None:
        self.threshold = threshold
        self.scratch_dir = scratch_dir
        self.chunks: list[bytes] = []
        self.spool: IO[bytes] | None = None
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.spool is None and self.size > self.threshold:
            self.spool = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed by the members() loop
                dir=self.scratch_dir, prefix="haven-member-"
            )
            self.spool.writelines(self.chunks)
            self.chunks = []
        if self.spool is not None:
            self.spool.write(chunk)
        else:
            self.chunks.append(chunk)

    def write_zeros(self, count: int) -> None:
        while count:
            piece = min(count, _BLOCK)
            self.write(bytes(piece))
            count -= piece

    def discard(self) -> None:
        self.chunks = []
        if self.spool is not None:
            self.spool.close()
            self.spool = None

    def result(self) -> tuple[bytes | None, IO[bytes] | None]:
        if self.spool is not None:
            self.spool.flush()
            return None, self.spool
        return (self.chunks[0] if len(self.chunks) == 1 else b"".join(self.chunks)), None


# --- names ----------------------------------------------------------------------------

_DRIVE = re.compile(r"^[A-Za-z]:$")


def safe_member_name(raw: str) -> tuple[str, str | None]:
    """Relative, traversal-free name for display, and a warning when it had to change."""
    parts = re.split(r"[/\\]", raw)
    problems: list[str] = []
    if raw.startswith(("/", "\\")) or (parts and _DRIVE.match(parts[0])):
        problems.append("absolute path")
    if ".." in parts:
        problems.append("path traversal")
    kept = [p for p in parts if p not in ("", ".", "..") and not _DRIVE.match(p)]
    safe = "/".join(kept) or "unnamed"
    if not problems:
        return safe, None
    return safe, f"unsafe entry name {raw!r} ({', '.join(problems)}); shown as {safe!r}"


def _entry_name(name: str, raw: bool, hint: str) -> str:
    if raw and name in ("", "data"):
        # A bare compressed stream has no member name: derive it from the archive's.
        for suffix in _COMPRESSED_SUFFIXES:
            if hint.endswith(suffix) and len(hint) > len(suffix):
                return hint[: -len(suffix)] + (".tar" if suffix == ".tgz" else "")
        return hint
    return name


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return value


# --- zip central directory (compressed sizes for the per-member ratio) ----------------


@dataclass
class _ZipSizes:
    by_name: dict[str, deque[int]] = field(default_factory=dict)

    def take(self, name: str) -> int | None:
        sizes = self.by_name.get(name)
        return sizes.popleft() if sizes else None


def _zip_compressed_sizes(source: Source) -> _ZipSizes | None:
    """libarchive does not expose compressed sizes; the zip central directory has them."""
    try:
        if isinstance(source, bytes):
            if not source.startswith(b"PK"):
                return None
            stream: IO[bytes] = io.BytesIO(source)
        else:
            stream = open_readonly_file(source)
            if stream.read(2) != b"PK":
                stream.close()
                return None
        with stream, zipfile.ZipFile(stream) as zf:
            sizes = _ZipSizes()
            for info in zf.infolist():
                sizes.by_name.setdefault(info.filename, deque()).append(info.compress_size)
            return sizes
    except Exception:  # best effort: without sizes the whole-level ratio still applies
        return None


def _read_head(path: str, count: int) -> bytes:
    with open_readonly_file(path) as f:
        return f.read(count)


# --- libarchive plumbing --------------------------------------------------------------


@contextmanager
def _open_archive(source: Source, formats: Sequence[str]) -> Iterator[int]:
    archive_p = ffi.read_new()
    fd = None
    try:
        for name in _FILTERS:
            ffi.get_read_filter_function(name)(archive_p)
        for name in formats:
            ffi.get_read_format_function(name)(archive_p)
        if isinstance(source, bytes):
            # libarchive reads the bytes object in place: no copy.
            ffi.read_open_memory(archive_p, ctypes.cast(ctypes.c_char_p(source), ctypes.c_void_p), len(source))
        else:
            fd = open_readonly(source)
            ffi.read_open_fd(archive_p, fd, _BLOCK)
        yield archive_p
    finally:
        ffi.read_free(archive_p)
        if fd is not None:
            os.close(fd)


# --- messages -------------------------------------------------------------------------


def join_errors(first: str | None, second: str | None) -> str | None:
    """Combine two optional messages with a semicolon."""
    if first and second:
        return f"{first}; {second}"
    return first or second


def _human(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def _bomb(ratio: float, limit: float, *, at_least: bool = False) -> str:
    qualifier = "at least " if at_least else ""
    return f"zip bomb: expansion ratio {qualifier}{ratio:.0f}:1 exceeds {limit:.0f}:1; not read"


def _too_big(size: int, limit: int, *, at_least: bool = False) -> str:
    qualifier = "more than " if at_least else ""
    return f"member too large: {qualifier}{_human(size)} exceeds max_member_bytes {_human(limit)}; not read"


def _total(limit: int) -> str:
    return f"total expanded size would exceed max_total_bytes {_human(limit)} for one top-level archive"
