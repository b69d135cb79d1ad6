"""Write VICS 2.0 (Project VIC / CAID) OData JSON, one Media record at a time.

The reader (``haven.formats.vics``) streams because partner files run to hundreds of MB; the writer
streams for the same reason: each record is serialised and written on its own, so an export of a
whole case or a large set never builds the document in memory.

Input records are Haven-shaped dicts (:class:`MediaRecord`: the hash-entry columns plus ``size`` and
``precategorized``), so callers never spell VICS field names. Only hashes and metadata are written:
no media bytes and no ``MediaFiles`` (file names and paths from a seized device can name or describe
a victim, and a partner matches by hash, not by name).

The scheme goes in the context URL the reader uses to interpret categories: ``/US/`` for vic-us,
``/UK/`` for caid-uk and ``/CUSTOM/`` for anything else (vic-ca has no segment of its own).
Category is ``Edm.Byte`` in the model, so numeric codes are written as JSON numbers; caid-uk letters
(and any non-numeric custom code) stay strings, which is what CAID tools write.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypedDict

from haven import __version__
from haven.atomic import atomic_output

MODEL = "http://github.com/ICMEC/ProjectVic/DataModels/2.0.xml"
SEGMENTS = {"vic-us": "US", "caid-uk": "UK"}
_CASE_NAMESPACE = uuid.UUID("6f1c3c8e-4a52-4b7e-9d0a-5b8f0e6a2c11")  # CaseID is a Guid: derive, never invent


class MediaRecord(TypedDict, total=False):
    """One content or hash-set entry to write; every key but ``md5`` may be missing or None."""

    md5: str
    sha1: str | None
    sha256: str | None
    pdq: str | None
    photodna: str | None
    category: str | None
    series: str | None
    victim_identified: bool | None
    offender_identified: bool | None
    tags: str | None
    size: int | None
    precategorized: bool


def context_url(scheme: str | None, collection: str = "Media") -> str:
    return f"{MODEL}/{SEGMENTS.get(scheme or '', 'CUSTOM')}/$metadata#{collection}"


def category_value(category: str | None, scheme: str | None) -> int | str | None:
    """A numeric code as a number (Edm.Byte), anything else (caid-uk letters) as text."""
    if category is None:
        return None
    if scheme != "caid-uk" and category.isdecimal() and int(category) <= 255:
        return int(category)
    return category


def media_json(record: MediaRecord, media_id: int, scheme: str | None) -> dict[str, Any]:
    """The VICS Media object for one record; empty optional fields are left out, not written as null."""
    md5 = record["md5"].lower()
    media: dict[str, Any] = {"MediaID": media_id, "MD5": md5}
    optional = {
        "SHA1": record.get("sha1"),
        "MediaSize": record.get("size"),
        "Category": category_value(record.get("category"), scheme),
        "Series": record.get("series"),
        "VictimIdentified": record.get("victim_identified"),
        "OffenderIdentified": record.get("offender_identified"),
        "Tags": record.get("tags"),
        "PhotoDNA": record.get("photodna"),
    }
    media.update((key, value) for key, value in optional.items() if value is not None)
    media["IsPrecategorized"] = bool(record.get("precategorized", False))  # required by the model
    alternatives = [
        {"MD5": md5, "HashName": label, "HashValue": value}
        for label, value in (("SHA256", record.get("sha256")), ("PDQ", record.get("pdq")))
        if value
    ]
    if alternatives:
        media["AlternativeHashes"] = alternatives
    return media


def write_vics(path: Path, media: Iterable[MediaRecord], *, scheme: str | None, case_number: str | None = None) -> int:
    """Write ``media`` to ``path`` atomically and return how many records were written.

    Without ``case_number`` the root is ``#Media`` with the records directly under ``value``; with it,
    ``#Cases`` holding one Case (CaseNumber, a CaseID derived from it, the totals) whose ``Media`` are
    the records, which is the shape case-management tools import as a case.
    """
    collection = "Media" if case_number is None else "Cases"
    written = precategorized = 0
    with atomic_output(path) as out:
        # The context goes first: readers (ours included) decide how to parse from it before any Media.
        out.write(b'{"@odata.context": ' + _dump(context_url(scheme, collection)) + b', "value": [')
        if case_number is not None:
            case_id = str(uuid.uuid5(_CASE_NAMESPACE, case_number))
            out.write(b'{"CaseID": ' + _dump(case_id) + b', "CaseNumber": ' + _dump(case_number) + b', "Media": [')
        for record in media:
            written += 1
            precategorized += bool(record.get("precategorized"))
            out.write((b",\n" if written > 1 else b"\n") + _dump(media_json(record, written, scheme)))
        if case_number is not None:
            # Totals are only known at the end; JSON objects are unordered, so they may follow Media.
            tail = {
                "TotalMediaFiles": written,
                "TotalPrecategorized": precategorized,
                "SourceApplicationName": "Haven",
                "SourceApplicationVersion": __version__,
            }
            out.write(b"\n], " + _dump(tail)[1:-1] + b"}")
        out.write(b"\n]}\n")
    return written


def _dump(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
