"""Opening evidence files for reading without side effects on the evidence.

Every read of an evidence file goes through here so that the rules live in one place:
read-only, no access-time update where the kernel allows it, and never blocking on a
fifo or device that replaced a regular file after the walk.
"""

from __future__ import annotations

import errno
import io
import os
import stat

_O_NOATIME = getattr(os, "O_NOATIME", 0)
# O_NONBLOCK: opening a fifo for reading would otherwise block until a writer appears.
_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)

_MODE_NAMES = {
    stat.S_IFIFO: "fifo",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
    stat.S_IFSOCK: "socket",
    stat.S_IFDIR: "directory",
    stat.S_IFLNK: "symlink",
}


class NotRegularFileError(OSError):
    """The path is not (or no longer) a regular file; it was not read."""


def describe_mode(mode: int) -> str:
    """Human name of a non-regular file type, e.g. 'fifo'."""
    return _MODE_NAMES.get(stat.S_IFMT(mode), "special file")


def describe_os_error(exc: OSError) -> str:
    """Short, stable wording for the errors investigators will see in reports."""
    if isinstance(exc, NotRegularFileError):
        return exc.strerror or "not a regular file"
    if isinstance(exc, PermissionError):
        return f"permission denied ({exc.strerror})"
    if isinstance(exc, FileNotFoundError):
        return "vanished (no such file)"
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    return f"unreadable: {exc.strerror or exc}"


def open_readonly(path: str) -> int:
    """Open a regular file read-only and return its descriptor; the caller closes it.

    Raises OSError (NotRegularFileError for fifos, devices, sockets, directories).
    """
    try:
        fd = os.open(path, _FLAGS | _O_NOATIME)
    except PermissionError as exc:
        # O_NOATIME needs file ownership or CAP_FOWNER: retry without it.
        if not _O_NOATIME or exc.errno != errno.EPERM:
            raise
        fd = os.open(path, _FLAGS)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(errno.EINVAL, f"not a regular file ({describe_mode(mode)})")
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_readonly_file(path: str) -> io.BufferedReader:
    """Binary file object over open_readonly, for libraries that want a stream."""
    return io.BufferedReader(io.FileIO(open_readonly(path), "r", closefd=True))


def read_whole(path: str) -> bytes:
    """Read a whole regular file in one go (one allocation, no intermediate copies)."""
    with io.FileIO(open_readonly(path), "r", closefd=True) as raw:
        return raw.readall()
