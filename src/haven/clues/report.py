"""`haven clues REF [--item PICTURE]`: the case's cameras, places and timeline as one JSON-ready document,
or for one picture: its camera and every other case holding pictures from the same camera.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haven.case_items import find_content
from haven.cases import get_case
from haven.clues.cameras import (
    CameraFacts,
    by_model_lens,
    by_serial,
    camera_label,
    case_camera_facts,
    other_cases_by_model_lens,
    other_cases_by_serial,
)
from haven.clues.places import DEFAULT_RADIUS_M, places
from haven.clues.timeline import timeline
from haven.errors import HavenError
from haven.store.models import Case, Content


def case_clues(session: Session, case_ref: str, radius_m: float = DEFAULT_RADIUS_M) -> dict[str, Any]:
    case = get_case(session, case_ref)
    facts = case_camera_facts(session, case.id)
    pictures = session.scalar(
        select(func.count()).select_from(Content).where(Content.case_id == case.id, Content.kind == "image")
    )
    found_places = places(session, case.id, radius_m)
    return {
        "case": case.reference,
        "summary": {
            "pictures": pictures or 0,
            "with_camera": len(facts),
            "with_gps": len(found_places["points"]),
            "with_date": sum(1 for f in facts if f.taken),
        },
        "cameras": {
            "by_serial": by_serial(session, case.id, facts),
            "by_model_lens": by_model_lens(session, case.id, facts),
        },
        "places": found_places,
        "timeline": timeline(session, case.id),
    }


def same_camera(session: Session, case_ref: str, item: str) -> dict[str, Any]:
    """The picture's camera, and the other cases with pictures from the same body (strong) or kind (weak)."""
    case = get_case(session, case_ref)
    content = _content_of(session, case, item)
    fact = CameraFacts(
        content.sha256,
        content.exif_make,
        content.exif_model,
        content.exif_serial,
        content.exif_lens,
        content.exif_datetime,
    )
    serial_key, model_key = fact.serial_key, fact.model_key
    return {
        "case": case.reference,
        "sha256": content.sha256,
        "camera": camera_label(fact.make, fact.model) if model_key else None,
        "make": fact.make,
        "model": fact.model,
        "serial": fact.serial,
        "lens": fact.lens,
        "taken": fact.taken,
        "same_serial": other_cases_by_serial(session, case.id, [serial_key]).get(serial_key, []) if serial_key else [],
        "same_model_lens": (
            other_cases_by_model_lens(session, case.id, [model_key]).get(model_key, []) if model_key else []
        ),
    }


def _content_of(session: Session, case: Case, item: str) -> Content:
    content = find_content(session, case, item)
    if content is None:
        raise HavenError(f"'{item}' is not a picture of case '{case.reference}' (SHA-256 or evidence path)")
    return content
