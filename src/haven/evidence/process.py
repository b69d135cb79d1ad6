"""The per-source-file worker: one walked file in, its FoundItems (archive members too) out.

Runs in a process pool: a pure function of its arguments that never raises. This is the
hot path for images, so a plain file is read exactly once and its bytes never copied.
"""

from __future__ import annotations

import logging
import os

from haven import analyze
from haven.evidence.archives import ArchiveExpansion, ExpansionBudget, Member, Source, join_errors
from haven.evidence.encryption import detect_encryption
from haven.evidence.reading import describe_os_error, open_readonly, read_whole
from haven.evidence.walker import WalkEntry
from haven.results import ContentInfo, FoundItem
from haven.settings import AnalysisSettings

logger = logging.getLogger(__name__)

_EXAMINED_KINDS = frozenset({"archive", "document", "other"})
"""Images and videos are not checked: it would only slow the hot path down."""


def process_source_file(entry: WalkEntry, settings: AnalysisSettings) -> list[FoundItem]:
    """The file's own FoundItem first, then archive members depth-first in archive order."""
    item = FoundItem(entry.virtual_path, None, entry.mtime, entry.atime, entry.ctime, error=entry.error)
    if entry.error is not None:
        return [item]
    out = [item]
    try:
        source: Source
        if entry.size is not None and entry.size > settings.in_memory_bytes:
            source = entry.fs_path
            os.close(open_readonly(source))  # unreadable or swapped for a fifo: fail here, content None
            item.content = _analyze_path(source, settings)
        else:
            source = read_whole(entry.fs_path)
            item.content = analyze.analyze_bytes(source, settings)
        if item.content.kind in _EXAMINED_KINDS:
            name = entry.virtual_path.rsplit("/", 1)[-1]
            _Expander(settings, out).examine(item, source, name, depth=0)
    except OSError as exc:
        item.error = join_errors(item.error, describe_os_error(exc))
    except Exception as exc:  # a worker must never die on hostile input
        logger.exception("processing %s failed", entry.virtual_path)
        item.error = join_errors(item.error, f"internal error: {type(exc).__name__}: {exc}")
    return out


class _Expander:
    """Examination of one top-level file; the budget is shared by all nested archives."""

    def __init__(self, settings: AnalysisSettings, out: list[FoundItem]) -> None:
        self.settings = settings
        self.out = out
        self.budget = ExpansionBudget(settings.archives)

    def examine(self, item: FoundItem, source: Source, name: str, depth: int) -> None:
        """Encryption check and, for archives, expansion of the members into ``out``.

        ``depth`` counts the archives enclosing this content (0 for a file on disk); an
        archive deeper than ArchiveLimits.max_depth is recorded, not opened.
        """
        content = item.content
        if content is None or content.kind not in _EXAMINED_KINDS:
            return
        if content.encrypted is None:
            content.encrypted = detect_encryption(
                source, content.mime or "", content.kind, sample_bytes=self.settings.entropy_sample_bytes
            )
        if content.kind != "archive":
            return
        if depth > self.settings.archives.max_depth:
            item.error = join_errors(
                item.error,
                f"nested archive at depth {depth} exceeds max_depth {self.settings.archives.max_depth}; not opened",
            )
            return
        self._expand(item, content, source, name, depth)

    def _expand(self, item: FoundItem, content: ContentInfo, source: Source, name: str, depth: int) -> None:
        expansion = ArchiveExpansion(source, self.settings, self.budget, name_hint=name)
        for member in expansion.members():
            self._member(item.path, member, depth)
        content.error = join_errors(content.error, expansion.error)
        item.error = join_errors(item.error, expansion.limit_error)
        if expansion.encrypted_members and content.encrypted is None:
            content.encrypted = f"{expansion.encrypted_members} encrypted member(s) (password required)"

    def _member(self, container: str, member: Member, depth: int) -> None:
        found = FoundItem(
            f"{container}!/{member.name}", None, mtime=member.mtime, error=member.error, container=container
        )
        self.out.append(found)
        source = member.content
        if source is None:
            return
        try:
            if isinstance(source, bytes):
                found.content = analyze.analyze_bytes(source, self.settings)
            else:
                found.content = _analyze_path(source, self.settings)
            self.examine(found, source, member.name.rsplit("/", 1)[-1], depth + 1)
        except OSError as exc:
            found.error = join_errors(found.error, describe_os_error(exc))
        except Exception as exc:  # one hostile member must not end the whole archive
            logger.exception("processing member %s failed", found.path)
            found.error = join_errors(found.error, f"internal error: {type(exc).__name__}: {exc}")


def _analyze_path(path: str, settings: AnalysisSettings) -> ContentInfo:
    """Content too big for memory: analyze_file streams it."""
    content = analyze.analyze_file(path, settings)
    if not content.sha256:  # nothing could be read: no content to key, only an error to record
        raise OSError(content.error or "cannot read file")
    return content
