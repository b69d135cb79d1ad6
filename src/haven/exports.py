"""Export hash sets and a case's categorized contents for partners: hashes and metadata, never media.

Rows are read from the database in batches by primary key (keyset paging), so a set of millions of
entries or a large case is written without holding it in memory, and each file is written atomically
(``haven.atomic``). Every export is recorded in the audit log with the output file's SHA-256, so the
file handed over can later be proved to be the one Haven wrote.

What a case export carries, and why: every content with a current category (its latest decision),
with MD5, SHA-1, SHA-256, size, category, PDQ and ``IsPrecategorized`` (true when that decision came
from a hash set, false when a person made it). No file names or paths (``MediaFiles``): names on a
seized device can identify a victim, and a partner matches by hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from haven import audit
from haven.atomic import atomic_output
from haven.cases import case_chain, get_case
from haven.errors import HavenError
from haven.formats.vics_writer import MediaRecord, write_vics
from haven.store import Store
from haven.store.current_category import is_categorized
from haven.store.models import Content, HashEntry, HashSet

BATCH = 5_000
SET_FORMATS = ("plain", "pdq", "vics")
CASE_FORMATS = ("vics", "haven")  # haven: a signed share package (haven.share), docs/share-package.md


@dataclass(frozen=True)
class ExportResult:
    out: Path
    format: str
    written: int  # records in the file
    left_out: int  # entries the format cannot carry (e.g. no MD5 for a plain MD5 list)
    sha256: str


def export_hashset(store: Store, name: str, fmt: str, out: Path, *, user: str) -> ExportResult:
    """Write set ``name`` as ``fmt`` (plain MD5 list, PDQ list, or VICS 2.0) to ``out``."""
    if fmt not in SET_FORMATS:
        raise HavenError(f"cannot export a hash set as {fmt!r} (choose from: {', '.join(SET_FORMATS)})")
    with store.session() as session:
        hash_set = session.scalar(select(HashSet).where(HashSet.name == name))
        if hash_set is None:
            raise HavenError(f"no hash set '{name}' (see: haven hashset list)")
        set_id, scheme, total = hash_set.id, hash_set.scheme, hash_set.entry_count
        entries = _set_entries(session, set_id)
        if fmt == "vics":
            # A set's categories came from its source list, not from a reviewer here: pre-categorized.
            media = ({**e, "precategorized": e["category"] is not None} for e in entries if e["md5"])
            written = write_vics(out, media, scheme=scheme)  # type: ignore[arg-type]
        else:
            lines = _plain_lines(entries) if fmt == "plain" else _pdq_lines(entries)
            written = _write_lines(out, lines, header="MD5" if fmt == "plain" else None)
        result = ExportResult(out, fmt, written, max(total - written, 0), file_sha256(out))
        audit.record(
            session,
            chain=audit.GLOBAL_CHAIN,
            user=user,
            action="hashset.export",
            detail={"name": name, "hash_set_id": set_id, **_detail(result)},
        )
    return result


def export_case(
    store: Store,
    reference: str,
    fmt: str,
    out: Path,
    *,
    user: str,
    signing_key: Path | None = None,
    include_paths: bool = False,
) -> ExportResult:
    """Write every content of the case that has a current category, as VICS 2.0 or a signed Haven share
    package (``signing_key`` signs it; ``include_paths`` adds where each content was found), to ``out``."""
    if fmt not in CASE_FORMATS:
        raise HavenError(f"cannot export a case as {fmt!r} (choose from: {', '.join(CASE_FORMATS)})")
    if fmt == "haven":
        from haven.share.case_export import export_case_package

        if signing_key is None:
            raise HavenError("a share package is signed: give the signing key (--key, see: haven keys generate)")
        return export_case_package(store, reference, out, user=user, key_path=signing_key, include_paths=include_paths)
    if include_paths:
        raise HavenError(f"--include-paths applies to share packages only (--format haven), not {fmt}")
    with store.session() as session:
        case = get_case(session, reference)
        written = write_vics(out, _case_media(session, case.id), scheme=case.scheme, case_number=case.reference)
        result = ExportResult(out, fmt, written, 0, file_sha256(out))
        audit.record(session, chain=case_chain(reference), user=user, action="export", detail=_detail(result))
    return result


def _detail(result: ExportResult) -> dict[str, Any]:
    return {
        "format": result.format,
        "out": str(result.out.resolve()),
        "written": result.written,
        "left_out": result.left_out,
        "sha256": result.sha256,
    }


# ---------------------------------------------------------------- reading in batches


def keyset_pages(session: Session, query: Select[Any, *tuple[Any, ...]], key: Any) -> Iterator[list[Any]]:
    """Pages of BATCH rows of ``query`` ordered by the unique ``key`` (its first column), each after the last
    key seen. Keyset paging rather than OFFSET: each page is an index range scan, however deep into the table.
    """
    last: int | None = None
    while True:
        page = query if last is None else query.where(key > last)
        rows = list(session.execute(page.order_by(key).limit(BATCH)).all())
        if rows:
            yield rows
        if len(rows) < BATCH:
            return
        last = rows[-1][0]


def _batches(session: Session, query: Select[Any, *tuple[Any, ...]], key: Any) -> Iterator[Any]:
    for rows in keyset_pages(session, query, key):
        yield from rows


def _set_entries(session: Session, set_id: int) -> Iterator[MediaRecord]:
    columns = (
        HashEntry.id,
        HashEntry.md5,
        HashEntry.sha1,
        HashEntry.sha256,
        HashEntry.pdq,
        HashEntry.photodna,
        HashEntry.category,
        HashEntry.series,
        HashEntry.victim_identified,
        HashEntry.offender_identified,
        HashEntry.tags,
    )
    query = select(*columns).where(HashEntry.set_id == set_id)
    for row in _batches(session, query, HashEntry.id):
        record = row._asdict()
        del record["id"]
        yield record


def categorized_contents(case_id: int) -> Select[Any]:
    """A case's contents that have a current category: what every case export shares."""
    return select(
        Content.id,
        Content.md5,
        Content.sha1,
        Content.sha256,
        Content.size,
        Content.pdq,
        Content.current_category.label("category"),
        Content.category_source.label("source"),
    ).where(Content.case_id == case_id, is_categorized())


def media_record(row: Any) -> MediaRecord:
    """A row of ``categorized_contents`` as what a case export writes of it."""
    return {
        "md5": row.md5,
        "sha1": row.sha1,
        "sha256": row.sha256,
        "pdq": row.pdq,
        "size": row.size,
        "category": row.category,
        "precategorized": row.source == "hashset",
    }


def _case_media(session: Session, case_id: int) -> Iterator[MediaRecord]:
    return map(media_record, _batches(session, categorized_contents(case_id), Content.id))


# ---------------------------------------------------------------- text lists


def _plain_lines(entries: Iterator[MediaRecord]) -> Iterator[str]:
    """``md5[,category]``; the X-Ways style header line naming the type is written by ``_write_lines``."""
    yield from (_with_category(e["md5"], e) for e in entries if e.get("md5"))


def _pdq_lines(entries: Iterator[MediaRecord]) -> Iterator[str]:
    """``pdq <hex>[,category]``: the prefix tells a PDQ list from a SHA-256 list of the same width."""
    yield from (_with_category(f"pdq {e['pdq']}", e) for e in entries if e.get("pdq"))


def _with_category(value: str, entry: MediaRecord) -> str:
    category = entry.get("category")
    return value if category is None else f"{value},{category}"


def _write_lines(out: Path, lines: Iterator[str], *, header: str | None) -> int:
    """Write ``header`` (when given) and the lines atomically; returns the number of lines after the header."""
    count = 0
    with atomic_output(out) as stream:
        if header is not None:
            stream.write(header.encode("utf-8") + b"\n")
        for line in lines:
            stream.write(line.encode("utf-8") + b"\n")
            count += 1
    return count


def file_sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()
