"""Reading a large hash-set file in a forked child process while the importer writes what it already read.

Parsing a line or a VICS record and inserting its row each take a few microseconds of one core; in
one process they add up, in two they overlap. The child runs the whole item pipeline (format reader,
category check) and sends entries column by column (``ColumnBatch``: the reader's own batches, or
single entries gathered, without the columns no entry fills; ``marshal``-ed: ten times cheaper to
encode than pickle), about ``SEND_ROWS`` at a time; everything else (Skipped, Note, VideoEntry) is
pickled, in order. The pipe holds at most about one batch (it is widened to ``PIPE_BYTES`` so a batch
crosses in a few writes), so memory stays flat: the child waits while the importer is behind.

A second process only pays when a second core is free. On a machine already busy each hand-over
waits for a time slice, and measured imports were up to twice as slow as in one process: then the file
is read in-process. Free means idle while the importer hashed the file just before (``IdleSample``: at
least half a core idle beside it), or, when that took too short a time to tell, a 1-minute load
average of at most ``cpu_count - 1``.

All-or-nothing is unchanged: the child only reads; the importer's one transaction writes. An error in
the child (malformed file, unreadable) comes back as the same exception, raised where the importer
reads the next item; if the importer stops early, the child is ended.

Only with ``fork`` and a single thread: forking a process with other threads can copy a lock held
mid-operation (a web worker's import reads in-process, as does any file under ``BACKGROUND_MIN_BYTES``).
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import marshal
import multiprocessing
import os
import pickle
import signal
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from operator import itemgetter
from typing import Any

import psutil

from haven.errors import HavenError
from haven.formats.base import (
    ENTRY_COLUMNS,
    ColumnBatch,
    FormatError,
    Note,
    ParsedEntry,
    Skipped,
    VideoEntry,
)

BACKGROUND_MIN_BYTES = 8 << 20  # below this an import takes about a second; a fork is not worth it
SEND_ROWS = 20_000  # about 4 MB a batch: few hand-overs between the processes, memory still flat
PIPE_BYTES = 1 << 20
SPARE_IDLE_CORES = 0.5  # measured idle cores (IdleSample) from which a second process gets a core
MIN_SAMPLE_CPU_SECONDS = 0.05  # per core: CPU times tick every 10 ms, so a shorter sample says little

Item = ParsedEntry | ColumnBatch | VideoEntry | Skipped | Note
_COLUMNS, _OTHERS, _ERROR, _DONE = b"C", b"P", b"E", b"D"


def read_ahead(items: Iterable[Item], size: int, idle_cores: float | None = None) -> Iterable[Item]:
    """``items`` as they are, or, for a file of ``size`` bytes worth it, produced by a forked child
    (entries then arrive as batches). ``items`` must not have been started. ``idle_cores``: how many
    cores sat idle just before (``IdleSample``), if measured."""
    if size < BACKGROUND_MIN_BYTES or not _fork_is_safe() or not _core_to_spare(idle_cores):
        return items
    return _from_child(items)


def _fork_is_safe() -> bool:
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def _core_to_spare(idle_cores: float | None) -> bool:
    if idle_cores is not None:
        return idle_cores >= SPARE_IDLE_CORES
    return os.getloadavg()[0] <= (os.cpu_count() or 1) - 1


@dataclass(frozen=True, slots=True)
class IdleSample:
    """The machine's CPU times at one moment. ``idle_cores`` later says how many cores, on average, sat
    idle in between: what the machine has to spare now. The 1-minute load average says what it had: it
    still counts a job that ended seconds ago (a previous import among them), and a second process on a
    machine that is in fact idle would then be refused."""

    times: Any

    @classmethod
    def now(cls) -> IdleSample:
        return cls(psutil.cpu_times())

    def idle_cores(self) -> float | None:
        """Idle cores since ``now`` (iowait counts as idle); None over too short a time to tell."""
        before, after = self.times, psutil.cpu_times()
        total = _busy(after) + _idle(after) - _busy(before) - _idle(before)
        cores = os.cpu_count() or 1
        if total < MIN_SAMPLE_CPU_SECONDS * cores:
            return None
        return cores * max(0.0, _idle(after) - _idle(before)) / total


def _idle(times: Any) -> float:
    return float(times.idle + getattr(times, "iowait", 0.0))


def _busy(times: Any) -> float:
    # guest time is already part of user time on Linux: not added twice
    return float(sum(getattr(times, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq", "steal")))


def _from_child(items: Iterable[Item]) -> Iterator[Item]:
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    with contextlib.suppress(OSError):  # Linux only, and capped by /proc/sys/fs/pipe-max-size
        fcntl.fcntl(sender.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    child = context.Process(target=_produce, args=(items, sender), name="haven-hashset-reader", daemon=True)
    child.start()
    sender.close()  # the child's copy is the only writer left: its exit ends the pipe
    try:
        while True:
            try:
                message = receiver.recv_bytes()
            except EOFError:
                child.join()
                raise HavenError(
                    f"the process reading the hash-set file ended unexpectedly (exit code {child.exitcode})"
                ) from None
            tag, body = message[:1], memoryview(message)[1:]
            if tag == _COLUMNS:
                columns, values = marshal.loads(body)
                yield ColumnBatch(columns, values)
            elif tag == _OTHERS:
                yield from pickle.loads(body)
            elif tag == _ERROR:
                raise _rebuilt(pickle.loads(body))
            else:
                return
    finally:
        receiver.close()
        if child.is_alive():
            child.terminate()  # the importer stopped early (an error, or it was interrupted)
        child.join()


def _produce(items: Iterable[Item], sender: Connection) -> None:
    """The child: run the pipeline, send batches, then ``_DONE`` or the error."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the importer's to handle; it ends this process
    gc.freeze()  # never collect the parent's objects here (a pooled database connection among them)
    to_row = itemgetter(*ENTRY_COLUMNS)
    rows: list[tuple[Any, ...]] = []  # single entries to send, in ENTRY_COLUMNS order
    columnar: dict[tuple[str, ...], list[ColumnBatch]] = {}  # a reader's batches to send, by their columns
    others: list[Item] = []

    def send(batch: ColumnBatch) -> None:
        sender.send_bytes(_COLUMNS + marshal.dumps((batch.columns, batch.values)))

    def flush() -> None:
        if others:
            sender.send_bytes(_OTHERS + pickle.dumps(others, protocol=pickle.HIGHEST_PROTOCOL))
            others.clear()
        if rows:
            send(ColumnBatch.from_rows(ENTRY_COLUMNS, rows))
            rows.clear()
        for parts in columnar.values():
            send(ColumnBatch.joined(parts))
        columnar.clear()

    try:
        held = 0  # items and rows not sent yet: at most about SEND_ROWS, whatever their kinds
        for item in items:
            if type(item) is dict:
                rows.append(to_row(item))
                held += 1
            elif type(item) is ColumnBatch:
                columnar.setdefault(item.columns, []).append(item)
                held += len(item)
            else:
                others.append(item)
                held += 1
            if held >= SEND_ROWS:
                flush()
                held = 0
        flush()
        sender.send_bytes(_DONE)
    except FormatError as error:
        sender.send_bytes(_ERROR + pickle.dumps(("format", str(error))))
    except OSError as error:
        sender.send_bytes(_ERROR + pickle.dumps(("os", error.errno, error.strerror, error.filename)))
    except Exception as error:  # a defect: the importer reports it rather than waiting on a dead pipe
        sender.send_bytes(_ERROR + pickle.dumps(("other", f"{type(error).__name__}: {error}")))
    finally:
        sender.close()


def _rebuilt(error: tuple[Any, ...]) -> Exception:
    kind, *details = error
    if kind == "format":
        return FormatError("", details[0])  # its message, already "where: what"
    if kind == "os":
        return OSError(*details)
    return HavenError(f"reading the hash-set file failed: {details[0]}")
