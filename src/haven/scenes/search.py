"""`haven search-scene`: other pictures of the same room or object, from a picture or a region of it.

The query is a picture of the case (SHA-256, or 8+ leading hex digits, or evidence path: its stored
features) or a picture file on disk (analysed now, not stored). ``box`` keeps only the query keypoints
inside it. The case's pictures (or every case's, ``all_cases``) are shortlisted by the bag-of-words index
and re-ranked by homography inliers; those with at least ``min_inliers`` are reported, best first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haven.case_items import find_content
from haven.cases import get_case
from haven.errors import HavenError
from haven.evidence.reading import describe_os_error, read_whole
from haven.scenes.features import VERSION, PictureError, SceneFeatures, extract, inside_box
from haven.scenes.ranking import SHORTLIST, rank
from haven.scenes.rows import load_features
from haven.scenes.stored_index import scene_index
from haven.scenes.verify import MIN_INLIERS
from haven.store.models import Case, Content, Occurrence
from haven.store.models import SceneFeatures as SceneFeaturesRow


@dataclass
class SceneSearchResult:
    item: str
    box: tuple[int, int, int, int] | None
    query_keypoints: int
    scope: str
    matches: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "box": list(self.box) if self.box else None,
            "query_keypoints": self.query_keypoints,
            "scope": self.scope,
            "matches": self.matches,
        }


def parse_box(text: str) -> tuple[int, int, int, int]:
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise HavenError(f"--box must be x,y,w,h in pixels of the picture (got '{text}')") from None
    if w <= 0 or h <= 0 or x < 0 or y < 0:
        raise HavenError(f"--box needs x, y >= 0 and a positive width and height (got '{text}')")
    return x, y, w, h


def search_scene(
    session: Session,
    ref: str,
    item: str,
    *,
    index_dir: Path | None,
    box: tuple[int, int, int, int] | None = None,
    limit: int = 20,
    all_cases: bool = False,
    min_inliers: int = MIN_INLIERS,
    shortlist: int = SHORTLIST,
) -> SceneSearchResult:
    case = get_case(session, ref)
    query, own_row = _query(session, case, item)
    if box is not None:
        query = inside_box(query, box)
    result = SceneSearchResult(item, box, len(query), "all cases" if all_cases else case.reference)
    if len(query) == 0:
        return result
    index = scene_index(session, index_dir)
    if index is None:
        return result
    ranked = rank(
        index,
        query,
        lambda keys: load_features(session, keys),
        groups=None if all_cases else [case.id],
        exclude_keys=[own_row] if own_row is not None else [],
        shortlist=max(shortlist, limit),
    )
    kept = [c for c in ranked if c.inliers >= min_inliers][:limit]
    details = _describe(session, [c.key for c in kept])
    result.matches = [
        {
            "score": round(c.inliers / len(query), 4),
            "inliers": c.inliers,
            "similarity": round(c.similarity, 4),
            **details[c.key],
        }
        for c in kept
    ]
    return result


def _query(session: Session, case: Case, item: str) -> tuple[SceneFeatures, int | None]:
    content = find_content(session, case, item)
    if content is not None:
        row = session.scalar(
            select(SceneFeaturesRow).where(
                SceneFeaturesRow.content_id == content.id, SceneFeaturesRow.version == VERSION
            )
        )
        if row is None:
            run = f"haven analyze {case.reference} --scenes"
            raise HavenError(f"{content.sha256[:16]} has not been analysed: run {run}")
        if row.error:
            raise HavenError(f"{content.sha256[:16]} could not be analysed: {row.error}")
        return load_features(session, [row.id])[row.id], row.id
    path = Path(item)
    if path.is_file():
        try:
            return extract(read_whole(str(path))), None
        except OSError as exc:
            raise HavenError(f"cannot read {item}: {describe_os_error(exc)}") from exc
        except PictureError as exc:
            raise HavenError(f"{item}: {exc}") from exc
    raise HavenError(f"'{item}' is not a picture of case '{case.reference}' (SHA-256 or evidence path) nor a file")


def _describe(session: Session, row_ids: list[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    first_path = (
        select(func.min(Occurrence.path))
        .where(Occurrence.content_id == Content.id)
        .correlate(Content)
        .scalar_subquery()
    )
    for start in range(0, len(row_ids), 500):
        rows = session.execute(
            select(SceneFeaturesRow.id, Case.reference, Content.sha256, first_path)
            .join(Content, Content.id == SceneFeaturesRow.content_id)
            .join(Case, Case.id == Content.case_id)
            .where(SceneFeaturesRow.id.in_(row_ids[start : start + 500]))
        )
        for row_id, case_ref, sha256, path in rows:
            out[row_id] = {"case": case_ref, "sha256": sha256, "path": path}
    return out
