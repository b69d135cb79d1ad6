"""Importing a sightings file into a case: one transaction, all of the file's usable rows or nothing.

Like hash-set imports, a file is known by the SHA-256 of its bytes: importing it again into the same case
adds nothing and says so. Bad rows are skipped, each with its line (record) and reason; a file whose
structure cannot be read, or with no usable row at all, is refused whole. The new sightings are matched
at once (``matching``), and the import is audited on the case's chain.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from haven.errors import HavenError
from haven.intel import access
from haven.intel.sightings.listing import import_counts
from haven.intel.sightings.matching import MatchSettings, match_sightings
from haven.intel.sightings.normalize import Normalized
from haven.intel.sightings.reading import SightingsFile, observations, open_sightings
from haven.intel.sightings.records import Observation, Skipped
from haven.intel.sightings.tabular import MalformedFileError
from haven.store import Store
from haven.store.models import Sighting, SightingImport

BATCH = 5_000
REASONS_KEPT = 20
SOURCE_MAX = 200


class SightingsImportError(HavenError):
    """A sightings file that cannot be imported; nothing from it was stored."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")


@dataclass
class ImportSummary:
    case: str
    file: str
    sha256: str
    format: str
    import_id: int
    already_imported: bool
    records: int  # rows / records read, usable or not
    sightings: int
    identifiers: int  # distinct (type, normalized)
    identifiers_in_case: int  # of those, already found in the case's evidence by extraction
    sightings_matching_contents: int
    contents_matched: int  # distinct case contents a sighting's file matched (exact or PDQ)
    sightings_matching_known: int
    known_sets: list[str]  # the hash sets sighted files are in
    skipped: int
    skipped_reasons: list[str] = field(default_factory=list)  # the first REASONS_KEPT, each with its place

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Tally:
    records: int = 0
    sightings: int = 0
    skipped: int = 0
    reasons: list[str] = field(default_factory=list)


def import_sightings(
    store: Store,
    path: str | Path,
    *,
    case_ref: str,
    user: str,
    source: str | None = None,
    fmt: str = "auto",
    settings: MatchSettings | None = None,
) -> ImportSummary:
    """Import ``path`` into the case ``case_ref`` (members only); ``source`` names rows that name none."""
    path = Path(path)
    settings = settings or MatchSettings()
    if source is not None and not 0 < len(source.strip()) <= SOURCE_MAX:
        raise SightingsImportError(path, f"--source must be 1 to {SOURCE_MAX} characters")
    with store.session() as session:
        case = access.intel_case(session, case_ref, user)
        sightings_file = _open(path, fmt)
        existing = session.scalar(
            select(SightingImport).where(
                SightingImport.case_id == case.id, SightingImport.file_sha256 == sightings_file.sha256
            )
        )
        if existing is not None:
            summary = _summary(session, case.reference, existing, already=True)
            _audit(session, case.reference, user, summary)
            return summary
        imported = SightingImport(
            case_id=case.id,
            file_name=path.name,
            file_sha256=sightings_file.sha256,
            format=sightings_file.format,
            source=source.strip() if source else None,
            imported_by=user,
        )
        session.add(imported)
        try:
            session.flush()
        except IntegrityError as error:  # the same file imported into this case at the same moment
            raise SightingsImportError(path, "is being imported into this case by another run") from error
        tally = _store_rows(session, case.id, imported.id, _read(path, sightings_file, imported.source))
        if tally.sightings == 0:
            first = f"; first: {tally.reasons[0]}" if tally.reasons else ""
            raise SightingsImportError(
                path, f"no usable sightings ({tally.skipped} skipped{first}); nothing was imported"
            )
        imported.records, imported.sightings, imported.skipped = tally.records, tally.sightings, tally.skipped
        imported.skipped_reasons = json.dumps(tally.reasons)
        match_sightings(session, case.id, settings, import_id=imported.id)
        summary = _summary(session, case.reference, imported, already=False)
        _audit(session, case.reference, user, summary)
        return summary


def _open(path: Path, fmt: str) -> SightingsFile:
    try:
        return open_sightings(path, fmt)
    except MalformedFileError as error:
        raise SightingsImportError(path, f"{error}; nothing was imported") from None
    except OSError as error:
        raise SightingsImportError(path, f"cannot be read: {error.strerror or error}") from None


def _read(path: Path, sightings_file: SightingsFile, source: str | None) -> Iterator[Observation | Skipped]:
    try:
        yield from observations(sightings_file, source)
    except MalformedFileError as error:
        raise SightingsImportError(path, f"{error}; nothing was imported") from None


def _store_rows(session: Session, case_id: int, import_id: int, items: Iterable[Observation | Skipped]) -> _Tally:
    tally = _Tally()
    connection = session.connection()  # Core executemany: the ORM's bulk path costs twice as much
    batch: list[dict[str, Any]] = []
    for item in items:
        tally.records += 1
        if isinstance(item, Skipped):
            tally.skipped += 1
            if len(tally.reasons) < REASONS_KEPT:
                tally.reasons.append(str(item))
            continue
        rows = _rows(case_id, import_id, item)
        tally.sightings += len(rows)
        batch.extend(rows)
        if len(batch) >= BATCH:
            connection.execute(insert(Sighting), batch)
            batch = []
    if batch:
        connection.execute(insert(Sighting), batch)
    return tally


def _rows(case_id: int, import_id: int, observation: Observation) -> list[dict[str, Any]]:
    """One sighting per identifier (the file's hashes on each), or one for a file seen without one."""
    common = {
        "case_id": case_id,
        "import_id": import_id,
        "record": observation.record[:200],
        "line": observation.line,
        "network": observation.network,
        "file_name": observation.file_name,
        "observed_at": observation.observed_at,
        "source": observation.source,
        **{kind: observation.hashes.get(kind) for kind in ("md5", "sha1", "sha256", "pdq")},
    }
    identifiers: list[Normalized | None] = [*observation.identifiers] or [None]
    return [
        common
        | {
            "identifier_type": found.type if found else None,
            "identifier_value": found.value if found else None,
            "identifier_normalized": found.normalized[:512] if found else None,
        }
        for found in identifiers
    ]


def _summary(session: Session, reference: str, imported: SightingImport, *, already: bool) -> ImportSummary:
    counts = import_counts(session, imported.case_id, imported.id)
    return ImportSummary(
        case=reference,
        file=imported.file_name,
        sha256=imported.file_sha256,
        format=imported.format,
        import_id=imported.id,
        already_imported=already,
        records=imported.records,
        sightings=imported.sightings,
        skipped=imported.skipped,
        skipped_reasons=json.loads(imported.skipped_reasons or "[]"),
        **counts,
    )


def _audit(session: Session, reference: str, user: str, summary: ImportSummary) -> None:
    detail = summary.as_json()
    detail.pop("skipped_reasons")
    access.record(session, reference=reference, user=user, action="sightings.import", detail=detail)
