"""Read-only, deterministic walk of an evidence source (a folder or a single file).

Never raises for bad entries: unreadable directories, symlink loops, links leaving the
source, fifos and devices are yielded as entries carrying an ``error`` and are never
opened. Symlinks are followed only while they stay inside the source root.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from haven.evidence.reading import describe_mode, describe_os_error


@dataclass
class WalkEntry:
    fs_path: str
    """Real path on disk (for a followed symlink: the resolved target inside the source)."""
    virtual_path: str
    """``LABEL:/relative/posix/path``; a single-file source is ``LABEL:/<name>``."""
    size: int | None
    mtime: float | None
    atime: float | None
    ctime: float | None
    error: str | None = None


def display_name(name: str) -> str:
    """Name as text: undecodable bytes (surrogate-escaped by os) become \\xNN escapes."""
    if name.isascii():
        return name
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return name


def walk_source(root: str | Path, label: str) -> Iterator[WalkEntry]:
    """Yield every file of a source in sorted, depth-first order."""
    root_path = os.fspath(root)
    name = display_name(_source_name(root_path))
    try:
        # Follow a symlinked root: the investigator chose it deliberately.
        st = Path(root_path).stat()
    except OSError as exc:
        yield _error_entry(root_path, f"{label}:/{name}", None, describe_os_error(exc))
        return
    if stat.S_ISDIR(st.st_mode):
        yield from _Walk(root_path, label, st).run()
    elif stat.S_ISREG(st.st_mode):
        yield _file_entry(root_path, f"{label}:/{name}", st)
    else:
        yield _error_entry(root_path, f"{label}:/{name}", st, _not_regular(st.st_mode))


_Key = tuple[int, int]
_Descend = tuple[str, _Key]
_Visit = tuple[WalkEntry | None, _Descend | None]


@dataclass
class _Frame:
    entries: Iterator[os.DirEntry[str]]
    prefix: str
    key: _Key


class _Walk:
    """One walk of a directory source; keeps the loop-detection state."""

    def __init__(self, root: str, label: str, root_stat: os.stat_result) -> None:
        self.root = root
        self.label = label
        self.real_root = os.path.realpath(root)
        self.root_key = (root_stat.st_dev, root_stat.st_ino)
        self.visited: set[_Key] = {self.root_key}
        self.frames: list[_Frame] = []

    def run(self) -> Iterator[WalkEntry]:
        # Explicit stack, not recursion: hostile trees can be thousands of levels deep.
        error = self._push(self.root, "", self.root_key)
        if error is not None:
            yield error
        while self.frames:
            frame = self.frames[-1]
            dir_entry = next(frame.entries, None)
            if dir_entry is None:
                self.frames.pop()
                continue
            rel = frame.prefix + display_name(dir_entry.name)
            entry, descend = self._visit(dir_entry, f"{self.label}:/{rel}")
            if entry is not None:
                yield entry
            if descend is not None:
                error = self._push(descend[0], rel + "/", descend[1])
                if error is not None:
                    yield error

    def _push(self, fs_dir: str, prefix: str, key: _Key) -> WalkEntry | None:
        """List one directory (sorted) onto the stack; return an error entry if it cannot be listed."""
        entries: list[os.DirEntry[str]] = []
        error: WalkEntry | None = None
        try:
            with os.scandir(fs_dir) as it:
                entries.extend(it)
        except OSError as exc:
            vpath = f"{self.label}:/{prefix.rstrip('/')}"
            error = _error_entry(fs_dir, vpath, None, f"cannot list directory: {describe_os_error(exc)}")
        entries.sort(key=lambda e: e.name)
        self.frames.append(_Frame(iter(entries), prefix, key))
        return error

    def _visit(self, dir_entry: os.DirEntry[str], vpath: str) -> _Visit:
        path = dir_entry.path
        try:
            if dir_entry.is_symlink():
                return self._visit_symlink(path, vpath)
            lst = dir_entry.stat(follow_symlinks=False)
        except OSError as exc:
            return _error_entry(path, vpath, None, describe_os_error(exc)), None
        if stat.S_ISDIR(lst.st_mode):
            return self._enter(path, vpath, lst)
        if stat.S_ISREG(lst.st_mode):
            return _file_entry(path, vpath, lst), None
        return _error_entry(path, vpath, lst, _not_regular(lst.st_mode)), None

    def _visit_symlink(self, path: str, vpath: str) -> _Visit:
        lst = os.lstat(path)
        target = _readlink(path)
        try:
            st = Path(path).stat()
        except OSError as exc:
            if isinstance(exc, FileNotFoundError):
                return _error_entry(path, vpath, lst, f"dangling symlink (-> {target})"), None
            return _error_entry(path, vpath, lst, f"{describe_os_error(exc)} (-> {target})"), None
        real = os.path.realpath(path)
        if not _inside(real, self.real_root):
            return _error_entry(path, vpath, lst, f"symlink leaves the source (-> {target}); not followed"), None
        if stat.S_ISDIR(st.st_mode):
            # Everything inside the root is walked anyway: following would only duplicate it.
            if any(frame.key == (st.st_dev, st.st_ino) for frame in self.frames):
                return _error_entry(path, vpath, lst, "symlink loop (points back to an enclosing directory)"), None
            return _error_entry(
                path,
                vpath,
                lst,
                f"symlink to a directory in the source (-> {target}); its files are listed at their real path",
            ), None
        if stat.S_ISREG(st.st_mode):
            # fs_path is the resolved target, so a later swap of the link cannot lead outside.
            return _file_entry(real, vpath, st), None
        return _error_entry(path, vpath, lst, f"{_not_regular(st.st_mode)} (via symlink -> {target})"), None

    def _enter(self, fs_dir: str, vpath: str, st: os.stat_result) -> _Visit:
        # Without symlinks a directory is met twice only through bind mounts (possibly a loop).
        key = (st.st_dev, st.st_ino)
        if key in self.visited:
            return _error_entry(fs_dir, vpath, st, "directory already walked (bind mount?); not walked twice"), None
        self.visited.add(key)
        return None, (fs_dir, key)


def _source_name(root: str) -> str:
    name = Path(root).name
    if name in ("", ".", ".."):
        name = Path(os.path.realpath(root)).name
    return name


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _readlink(path: str) -> str:
    try:
        return display_name(str(Path(path).readlink()))
    except OSError:
        return "?"


def _not_regular(mode: int) -> str:
    return f"not a regular file ({describe_mode(mode)})"


def _file_entry(fs_path: str, vpath: str, st: os.stat_result) -> WalkEntry:
    return WalkEntry(fs_path, vpath, st.st_size, st.st_mtime, st.st_atime, st.st_ctime)


def _error_entry(fs_path: str, vpath: str, st: os.stat_result | None, error: str) -> WalkEntry:
    if st is None:
        return WalkEntry(fs_path, vpath, None, None, None, None, error)
    return WalkEntry(fs_path, vpath, None, st.st_mtime, st.st_atime, st.st_ctime, error)
