"""Reading a large hash-set file in a forked child process while the importer writes what it already read.

Parsing a line or a VICS record and inserting its row each take a few microseconds of one core; in
one process they add up, in two they overlap. The child runs the whole item pipeline (format reader,
category check) and sends entries as rows (tuples in ``ENTRY_COLUMNS`` order, ``marshal``-ed: ten
times cheaper to encode than pickle) in batches of ``SEND_ROWS``; everything else (Skipped, Note,
VideoEntry) is pickled, in order. The pipe holds at most about one batch (it is widened to
``PIPE_BYTES`` so a batch crosses in a few writes), so memory stays flat: the child waits while the
importer is behind.

A second process only pays when a second core is free. On a machine already busy (1-minute load
average above ``cpu_count - 1``) each hand-over waits for a time slice, and measured imports were up
to twice as slow as in one process: then the file is read in-process.

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

from haven.errors import HavenError
from haven.formats.base import ENTRY_COLUMNS, FormatError, Note, ParsedEntry, Skipped, VideoEntry

BACKGROUND_MIN_BYTES = 8 << 20  # below this an import takes about a second; a fork is not worth it
SEND_ROWS = 20_000  # about 4 MB a batch: few hand-overs between the processes, memory still flat
PIPE_BYTES = 1 << 20

Item = ParsedEntry | VideoEntry | Skipped | Note
_ROWS, _OTHERS, _ERROR, _DONE = b"R", b"P", b"E", b"D"


@dataclass(frozen=True, slots=True)
class Rows:
    """Entries as tuples in ``ENTRY_COLUMNS`` order, as the child sent them."""

    rows: list[tuple[Any, ...]]


def read_ahead(items: Iterable[Item], size: int) -> Iterable[Item | Rows]:
    """``items`` as they are, or, for a file of ``size`` bytes worth it, produced by a forked child
    (entries then arrive as ``Rows``). ``items`` must not have been started."""
    if size < BACKGROUND_MIN_BYTES or not _fork_is_safe() or not _core_to_spare():
        return items
    return _from_child(items)


def _fork_is_safe() -> bool:
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def _core_to_spare() -> bool:
    return os.getloadavg()[0] <= (os.cpu_count() or 1) - 1


def _from_child(items: Iterable[Item]) -> Iterator[Item | Rows]:
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
            if tag == _ROWS:
                yield Rows(marshal.loads(body))
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
    rows: list[tuple[Any, ...]] = []
    others: list[Item] = []

    def flush() -> None:
        if others:
            sender.send_bytes(_OTHERS + pickle.dumps(others, protocol=pickle.HIGHEST_PROTOCOL))
            others.clear()
        if rows:
            sender.send_bytes(_ROWS + marshal.dumps(rows))
            rows.clear()

    try:
        for item in items:
            if type(item) is dict:
                rows.append(to_row(item))
                if len(rows) == SEND_ROWS:
                    flush()
            else:
                others.append(item)  # type: ignore[arg-type]
                if len(others) == SEND_ROWS:
                    flush()
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
