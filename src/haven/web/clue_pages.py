"""The cameras and places pages' data: ``haven.clues`` results, kept per process while the store's contents
are unchanged, and the serial groups a page at a time.

``clues.cameras.by_serial`` looks every group's serial up in the other cases (500 serials a query, on an
unindexed column): a case with 30,000 camera bodies took 4.5 s. Here one query first finds which of the
case's serials occur in any other case at all; those groups (the strong leads) come first, and
``by_serial`` runs on the facts of the groups one page shows. EXIF facts and GPS positions are written
only at ingest, so a result stays true until contents are added or a case is removed: the cache key is the
highest content id, the highest case id and the number of cases.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from threading import Lock
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haven.clues.cameras import CameraFacts, by_model_lens, by_serial, case_camera_facts
from haven.clues.places import places
from haven.store.models import Case, Content

_CACHE: dict[tuple[Any, ...], tuple[tuple[int, int, int], Any]] = {}
_LOCK = Lock()
_MAX_ENTRIES = 32


@dataclass(frozen=True)
class CameraOverview:
    facts: list[CameraFacts]
    serial_order: list[tuple[str, str]]
    """Serial keys: those also seen in another case first, then by pictures (most first) and serial."""
    shared: frozenset[tuple[str, str]]
    model_groups: list[dict[str, Any]]


def store_state(session: Session) -> tuple[int, int, int]:
    contents = session.scalar(select(func.max(Content.id))) or 0
    cases, highest_case = session.execute(select(func.count(Case.id), func.max(Case.id))).one()
    return contents, highest_case or 0, cases


def _cached(session: Session, key: tuple[Any, ...], compute: Any) -> Any:
    key = (session.get_bind().url.render_as_string(hide_password=True), *key)  # one process may serve two stores
    state = store_state(session)
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is not None and hit[0] == state:
        return hit[1]
    value = compute()
    with _LOCK:
        if len(_CACHE) >= _MAX_ENTRIES:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = (state, value)
    return value


def camera_overview(session: Session, case_id: int) -> CameraOverview:
    return _cached(session, ("cameras", case_id), lambda: _camera_overview(session, case_id))


def place_overview(session: Session, case_id: int, radius_m: float) -> dict[str, Any]:
    return _cached(session, ("places", case_id, radius_m), lambda: places(session, case_id, radius_m))


def serial_groups(session: Session, case_id: int, overview: CameraOverview, keys: list[tuple[str, str]]) -> list[dict]:
    """``by_serial`` groups (with their other cases) for ``keys``, in that order."""
    wanted = set(keys)
    groups = by_serial(session, case_id, [f for f in overview.facts if f.serial_key in wanted])
    position = {key[1]: n for n, key in enumerate(keys)}
    return sorted(groups, key=lambda g: position.get(g["serial"], len(position)))


def _camera_overview(session: Session, case_id: int) -> CameraOverview:
    facts = case_camera_facts(session, case_id)
    sizes = Counter(f.serial_key for f in facts if f.serial_key is not None)
    elsewhere = set(
        session.scalars(
            select(Content.exif_serial)
            .where(
                Content.case_id != case_id,
                Content.exif_serial.in_(
                    select(Content.exif_serial).where(Content.case_id == case_id, Content.exif_serial.is_not(None))
                ),
            )
            .distinct()
        )
    )
    # A serial also names the make (two makes may share a serial): by_serial decides, on the page's groups.
    shared = frozenset(key for key in sizes if key[1] in elsewhere)
    order = sorted(sizes, key=lambda key: (key not in shared, -sizes[key], key[1]))
    return CameraOverview(facts, order, shared, by_model_lens(session, case_id, facts))
