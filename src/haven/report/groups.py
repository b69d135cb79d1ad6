"""report.json `groups`: the near-duplicate stacks that hold contents of the case."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy.orm import Session

from haven.matching.grouping import groups_for_case


def iter_groups(session: Session, case_id: int) -> Iterator[dict[str, Any]]:
    for group in groups_for_case(session, case_id):
        yield {
            "id": group.id,
            "representative": group.representative,
            "members": [m["sha256"] for m in group.members],
            "max_distance": group.max_distance,
            "member_details": group.members,
        }
