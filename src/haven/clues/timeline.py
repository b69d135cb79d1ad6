"""The EXIF timeline of a case: pictures per day and camera, from DateTimeOriginal.

Days are the camera's local calendar days as written (EXIF has no time zone unless OffsetTimeOriginal is
set): two cameras in different zones are not re-aligned, and a camera with a wrong clock shows as such.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from haven.clues.cameras import camera_label, real_serial
from haven.store.models import Content


def timeline(session: Session, case_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Content.sha256, Content.exif_datetime, Content.exif_make, Content.exif_model, Content.exif_serial)
        .where(Content.case_id == case_id, Content.exif_datetime.is_not(None))
        .order_by(Content.exif_datetime, Content.id)
    )
    days: dict[tuple[str, str, str | None], list[tuple[str, str]]] = defaultdict(list)
    for sha256, taken, make, model, serial in rows:
        assert taken is not None  # the query asks for dated contents only
        camera = camera_label(make, model) if make or model else "unknown camera"
        days[(taken[:10], camera, serial if real_serial(serial) else None)].append((taken, sha256))
    return [
        {
            "day": day,
            "camera": camera,
            "serial": serial,
            "contents": len(items),
            "first_taken": items[0][0],
            "last_taken": items[-1][0],
            "sha256": [sha for _, sha in items],
        }
        for (day, camera, serial), items in sorted(days.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or ""))
    ]
