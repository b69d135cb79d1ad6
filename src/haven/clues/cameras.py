"""Contents grouped by camera: by body serial number (one physical camera), and by make/model + lens (a kind
of camera). A serial seen in another case is a strong lead (same device); the same make/model/lens is weak.

Makes are compared without case and surrounding spaces (vendors write "Canon" and "CANON"). Placeholder
serials (empty, all zeros) are not serials: many bodies write them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from haven.store.models import Case, Content

_PLACEHOLDER_SERIAL = re.compile(r"^[0\s\-_.]*$")


@dataclass(frozen=True)
class CameraFacts:
    sha256: str
    make: str | None
    model: str | None
    serial: str | None
    lens: str | None
    taken: str | None

    @property
    def serial_key(self) -> tuple[str, str] | None:
        return (_norm(self.make), self.serial) if self.serial and real_serial(self.serial) else None

    @property
    def model_key(self) -> tuple[str, str, str] | None:
        if not (self.make or self.model):
            return None
        return (_norm(self.make), _norm(self.model), _norm(self.lens))


def real_serial(serial: str | None) -> bool:
    return bool(serial) and not _PLACEHOLDER_SERIAL.match(serial or "")


def camera_label(make: str | None, model: str | None) -> str:
    """Make and model, without the make twice: models often repeat it ("Canon", "Canon EOS 80D"), or its
    first word ("NIKON CORPORATION", "NIKON D750")."""
    make, model = (make or "").strip(), (model or "").strip()
    if make and model and model.lower().startswith(make.lower().split()[0]):
        return model
    return f"{make} {model}".strip() or "unknown camera"


def case_camera_facts(session: Session, case_id: int) -> list[CameraFacts]:
    rows = session.execute(
        select(
            Content.sha256,
            Content.exif_make,
            Content.exif_model,
            Content.exif_serial,
            Content.exif_lens,
            Content.exif_datetime,
        )
        .where(
            Content.case_id == case_id,
            or_(Content.exif_make.is_not(None), Content.exif_model.is_not(None), Content.exif_serial.is_not(None)),
        )
        .order_by(Content.id)
    )
    return [CameraFacts(*row) for row in rows]


def by_serial(session: Session, case_id: int, facts: list[CameraFacts]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[CameraFacts]] = defaultdict(list)
    for fact in facts:
        if fact.serial_key is not None:
            groups[fact.serial_key].append(fact)
    elsewhere = other_cases_by_serial(session, case_id, groups)
    out = []
    for key, members in groups.items():
        out.append(
            {
                "serial": key[1],
                "camera": camera_label(members[0].make, members[0].model),
                "make": members[0].make,
                "models": sorted({m.model for m in members if m.model}),
                "lenses": sorted({m.lens for m in members if m.lens}),
                **_span(members),
                "other_cases": elsewhere.get(key, []),
            }
        )
    return sorted(out, key=lambda g: (-g["contents"], g["serial"]))


def by_model_lens(session: Session, case_id: int, facts: list[CameraFacts]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str, str], list[CameraFacts]] = defaultdict(list)
    for fact in facts:
        if fact.model_key is not None:
            groups[fact.model_key].append(fact)
    elsewhere = other_cases_by_model_lens(session, case_id, groups)
    out = []
    for key, members in groups.items():
        first = members[0]
        out.append(
            {
                "camera": camera_label(first.make, first.model),
                "make": first.make,
                "model": first.model,
                "lens": first.lens,
                "serials": sorted({m.serial for m in members if m.serial and real_serial(m.serial)}),
                **_span(members),
                "other_cases": elsewhere.get(key, []),
            }
        )
    return sorted(out, key=lambda g: (-g["contents"], g["camera"], g["lens"] or ""))


def other_cases_by_serial(
    session: Session, case_id: int, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """For each (make, serial): the other cases holding contents from that body, most contents first."""
    wanted = set(keys)
    serials = sorted({serial for _, serial in wanted})
    found: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for start in range(0, len(serials), 500):
        rows = session.execute(
            select(Case.reference, Content.exif_make, Content.exif_serial, func.count())
            .join(Case, Case.id == Content.case_id)
            .where(Content.case_id != case_id, Content.exif_serial.in_(serials[start : start + 500]))
            .group_by(Case.reference, Content.exif_make, Content.exif_serial)
        )
        for reference, make, serial, count in rows:
            key = (_norm(make), serial)
            if key in wanted:
                found[key].append({"case": reference, "contents": count})
    return {key: _merged(cases) for key, cases in found.items()}


def other_cases_by_model_lens(
    session: Session, case_id: int, keys: Iterable[tuple[str, str, str]]
) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """For each (make, model, lens): the other cases holding contents from that kind of camera (a weak lead)."""
    wanted = set(keys)
    models = sorted({model for _, model, _ in wanted})
    found: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for start in range(0, len(models), 500):
        chunk = models[start : start + 500]
        # A make without a model (chunk holds "") matches contents whose model is missing.
        model_matches: ColumnElement[bool] = func.lower(func.trim(Content.exif_model)).in_(chunk)
        if "" in chunk:
            model_matches = or_(model_matches, Content.exif_model.is_(None))
        rows = session.execute(
            select(Case.reference, Content.exif_make, Content.exif_model, Content.exif_lens, func.count())
            .join(Case, Case.id == Content.case_id)
            .where(Content.case_id != case_id, model_matches, Content.exif_make.is_not(None))
            .group_by(Case.reference, Content.exif_make, Content.exif_model, Content.exif_lens)
        )
        for reference, make, model, lens, count in rows:
            key = (_norm(make), _norm(model), _norm(lens))
            if key in wanted:
                found[key].append({"case": reference, "contents": count})
    return {key: _merged(cases) for key, cases in found.items()}


def _merged(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of one case that differ only in spelling (make case, padding) added together."""
    totals: dict[str, int] = defaultdict(int)
    for case in cases:
        totals[case["case"]] += case["contents"]
    return [{"case": ref, "contents": n} for ref, n in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))]


def _span(members: list[CameraFacts]) -> dict[str, Any]:
    taken = sorted(m.taken for m in members if m.taken)
    return {
        "contents": len(members),
        "first_taken": taken[0] if taken else None,
        "last_taken": taken[-1] if taken else None,
        "sha256": [m.sha256 for m in members],
    }


def _norm(value: str | None) -> str:
    return (value or "").strip().lower()
