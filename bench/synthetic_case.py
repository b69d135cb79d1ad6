"""A synthetic review case written straight into the store with bulk inserts (no evidence, no ingest).

Shape of what `haven ingest` + `haven match` leave behind, at any size (100,000 items in well under a
minute on SQLite): contents with random hashes, kinds, statuses, sizes and EXIF (camera, GPS on some),
one or two occurrences each over a few sources, a stored blurred greyscale thumbnail for every picture
and video (one small JPEG reused), near-duplicate stacks (members a few PDQ bits from their
representative, recorded in near_group / near_group_member) and some decisions (a person's, and the
propagated copies on the other members of the stack).

Used by bench/web_latency.py (100,000 items) and tests/test_bench_smoke.py (a few hundred).
The sources point at folders that do not exist: revealing an original from this case is not possible
(and not measured).

    from synthetic_case import build_synthetic_case
    summary = build_synthetic_case(store, "BENCH-100K", items=100_000)
"""

from __future__ import annotations

import hashlib
import io
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image, ImageFilter
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from haven.cases import create_case
from haven.store import Store
from haven.store.models import (
    Category,
    Content,
    Decision,
    DecisionBatch,
    NearGroup,
    NearGroupMember,
    Occurrence,
    Source,
    Thumbnail,
)

BATCH = 5000
STATUS_WEIGHTS = {"unknown": 70, "near-known": 6, "known": 12, "known-good": 8, "error": 4}
KIND_WEIGHTS = {"image": 82, "video": 8, "document": 5, "archive": 2, "other": 3}
MIME_BY_KIND = {
    "image": ("image/jpeg", "image/png", "image/heic", "image/webp"),
    "video": ("video/mp4", "video/quicktime"),
    "document": ("application/pdf",),
    "archive": ("application/zip",),
    "other": ("application/octet-stream", "text/plain"),
}
CAMERAS = (("Apple", "iPhone 12"), ("Samsung", "SM-G991B"), ("Canon", "Canon EOS 80D"), ("Google", "Pixel 7"))
FOLDERS = ("DCIM/100APPLE", "Pictures/Screenshots", "Downloads", "WhatsApp/Media/Images", "Users/x/Desktop")
OPTIONAL_COLUMNS = (
    "width", "height", "duration", "codec", "pdq", "pdq_quality", "exif_make", "exif_model", "exif_serial",
    "exif_datetime", "gps_lat", "gps_lon", "encrypted", "current_category", "category_source",
)  # fmt: skip
EXTENSION = {"image/jpeg": "jpg", "image/png": "png", "image/heic": "heic", "image/webp": "webp", "video/mp4": "mp4"}


@dataclass
class SyntheticCaseSummary:
    reference: str
    case_id: int
    items: int
    occurrences: int
    thumbnails: int
    stacks: int
    stacked_items: int
    decisions: int
    by_status: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    sample_sha256: list[str] = field(default_factory=list)
    """A few unknown items (not decided): handy for thumbnails and decisions in a benchmark."""

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "sample_sha256"}


def blurred_thumbnail_jpeg(seed: int = 0) -> bytes:
    """A small greyscale, blurred JPEG like the ones ingest stores (a gradient: no picture of anything)."""
    rng = random.Random(seed)
    img = Image.new("L", (160, 120))
    img.putdata([(x + y + rng.randrange(32)) % 256 for y in range(120) for x in range(160)])
    out = io.BytesIO()
    img.filter(ImageFilter.GaussianBlur(6)).save(out, "JPEG", quality=70)
    return out.getvalue()


def _hex(rng: random.Random, bits: int) -> str:
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


def _flip_bits(pdq: str, rng: random.Random, max_bits: int) -> tuple[str, int]:
    """``pdq`` with 1..max_bits random bits flipped, and how many."""
    count = rng.randint(1, max_bits)
    mask = sum(1 << b for b in rng.sample(range(256), count))
    return f"{int(pdq, 16) ^ mask:064x}", count


def _plan_stacks(rng: random.Random, image_positions: list[int], stacks: int) -> list[list[int]]:
    """Disjoint groups of 2-6 picture positions; the first of each is the representative."""
    pool = image_positions[:]
    rng.shuffle(pool)
    planned, cursor = [], 0
    for _ in range(stacks):
        size = rng.choice((2, 2, 2, 3, 3, 4, 6))
        if cursor + size > len(pool):
            break
        planned.append(sorted(pool[cursor : cursor + size]))
        cursor += size
    return planned


def build_synthetic_case(
    store: Store,
    reference: str,
    items: int = 100_000,
    *,
    seed: int = 0,
    sources: int = 3,
    stack_share: float = 0.03,
    decided_share: float = 0.08,
    user: str = "bench",
    scheme: str = "vic-us",
) -> SyntheticCaseSummary:
    """Create case ``reference`` holding ``items`` synthetic contents; returns what was written."""
    started = time.perf_counter()
    rng = random.Random(seed)
    thumbnail = blurred_thumbnail_jpeg(seed)
    with store.session() as session:
        case, created = create_case(
            session, reference, user=user, title=f"Synthetic case ({items:,} items)", scheme=scheme
        )
        if not created:
            raise ValueError(f"case {reference} already exists")
        case_id = case.id
        source_ids = _add_sources(session, case_id, reference, sources, user)
        codes = [
            c for c in session.scalars(select(Category.code).where(Category.scheme == scheme)).all() if c != "0"
        ] or ["1"]

    kinds = rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()), k=items)
    statuses = rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()), k=items)
    image_positions = [i for i, k in enumerate(kinds) if k == "image"]
    planned = _plan_stacks(rng, image_positions, int(items * stack_share / 3))
    pdqs: dict[int, str] = {}
    distances: dict[int, int] = {}
    for group in planned:
        representative = _hex(rng, 256)
        pdqs[group[0]], distances[group[0]] = representative, 0
        for member in group[1:]:
            pdqs[member], distances[member] = _flip_bits(representative, rng, 20)

    decisions = _plan_decisions(rng, kinds, statuses, planned, codes, decided_share)
    rows = [_content_row(rng, case_id, i, kinds[i], statuses[i], pdqs.get(i)) for i in range(items)]
    for decision in decisions:  # the review grid reads the current category from the content row
        rows[decision.position]["current_category"] = decision.code
        rows[decision.position]["category_source"] = decision.source
    with store.session() as session:
        for start in range(0, items, BATCH):
            session.execute(insert(Content), rows[start : start + BATCH])
        ids_by_sha = dict(session.execute(select(Content.sha256, Content.id).where(Content.case_id == case_id)).all())
    content_ids = [ids_by_sha[row["sha256"]] for row in rows]

    occurrences = _add_occurrences(store, rng, rows, content_ids, source_ids)
    thumbnails = _add_thumbnails(store, rows, content_ids, thumbnail)
    stacked = _add_stacks(store, planned, content_ids, distances)
    decided = _add_decisions(store, case_id, rows, content_ids, decisions, user)

    by_status: dict[str, int] = {}
    for status in statuses:
        by_status[status] = by_status.get(status, 0) + 1
    stacked_positions = {p for group in planned for p in group}
    decided_positions = {d.position for d in decisions}
    sample = [
        rows[i]["sha256"]
        for i in range(items)
        if statuses[i] == "unknown"
        and kinds[i] == "image"
        and i not in stacked_positions
        and i not in decided_positions
    ]
    return SyntheticCaseSummary(
        reference=reference,
        case_id=case_id,
        items=items,
        occurrences=occurrences,
        thumbnails=thumbnails,
        stacks=len(planned),
        stacked_items=stacked,
        decisions=decided,
        by_status=by_status,
        seconds=round(time.perf_counter() - started, 2),
        sample_sha256=sample,
    )


def _add_sources(session: Session, case_id: int, reference: str, count: int, user: str) -> list[int]:
    ids = []
    for n in range(1, count + 1):
        source = Source(
            case_id=case_id,
            label=f"EX-{n:02d}",
            kind="folder",
            location=f"/nonexistent/synthetic/{reference}/EX-{n:02d}",
            sha256=hashlib.sha256(f"{reference}/{n}".encode()).hexdigest(),
            registered_by=user,
            status="complete",
        )
        session.add(source)
        session.flush()
        ids.append(source.id)
    return ids


def _content_row(rng: random.Random, case_id: int, i: int, kind: str, status: str, pdq: str | None) -> dict[str, Any]:
    mime = rng.choice(MIME_BY_KIND[kind])
    row: dict[str, Any] = dict.fromkeys(OPTIONAL_COLUMNS)  # executemany wants the same keys in every row
    row |= {
        "case_id": case_id,
        "sha256": _hex(rng, 256),
        "md5": _hex(rng, 128),
        "sha1": _hex(rng, 160),
        "size": rng.randint(2_000, 8_000_000),
        "mime": mime,
        "kind": kind,
        "status": status,
        "error": "truncated or corrupt: image file is truncated" if status == "error" else None,
    }
    if kind in ("image", "video"):
        row["width"], row["height"] = rng.choice(((4032, 3024), (1920, 1080), (1280, 720), (640, 480), (1080, 1920)))
    if kind == "image":
        row["pdq"] = pdq or _hex(rng, 256)
        row["pdq_quality"] = rng.choice((70, 90, 100, 100))
        if rng.random() < 0.4:
            row["exif_make"], row["exif_model"] = rng.choice(CAMERAS)
            row["exif_serial"] = f"SN{rng.randrange(10**6):06d}"
            taken = datetime(2019, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(5 * 365 * 86400))
            row["exif_datetime"] = taken.strftime("%Y:%m:%d %H:%M:%S")
            if rng.random() < 0.25:
                row["gps_lat"], row["gps_lon"] = round(rng.uniform(-60, 60), 5), round(rng.uniform(-180, 180), 5)
    elif kind == "video":
        row["duration"], row["codec"] = round(rng.uniform(2, 600), 2), rng.choice(("h264", "hevc", "mpeg4"))
    if status == "error":
        row["pdq"] = row["pdq_quality"] = None
    if kind == "archive" and rng.random() < 0.2:
        row["encrypted"] = "zip: password-protected entries"
    return row


def _add_occurrences(
    store: Store, rng: random.Random, rows: list[dict[str, Any]], content_ids: list[int], source_ids: list[int]
) -> int:
    written = 0
    batch: list[dict[str, Any]] = []
    base_time = datetime(2023, 6, 1, tzinfo=UTC).timestamp()
    with store.session() as session:
        for i, (row, content_id) in enumerate(zip(rows, content_ids, strict=True)):
            copies = 2 if rng.random() < 0.2 else 1
            for copy in range(copies):
                source_id = rng.choice(source_ids)
                label = f"EX-{source_ids.index(source_id) + 1:02d}"
                path = f"{label}:/{rng.choice(FOLDERS)}/item_{i:06d}_{copy}.{EXTENSION.get(row['mime'], 'bin')}"
                digest = hashlib.sha1(path.encode()).hexdigest()
                mtime = base_time - rng.randrange(3 * 365 * 86400)
                batch.append(
                    {
                        "source_id": source_id,
                        "content_id": content_id,
                        "path": path,
                        "path_digest": digest,
                        "top_level": digest,
                        "mtime": mtime,
                        "atime": mtime,
                        "ctime": mtime,
                    }
                )
            if len(batch) >= BATCH:
                session.execute(insert(Occurrence), batch)
                written += len(batch)
                batch = []
        if batch:
            session.execute(insert(Occurrence), batch)
            written += len(batch)
    return written


def _add_thumbnails(store: Store, rows: list[dict[str, Any]], content_ids: list[int], jpeg: bytes) -> int:
    wanted = [
        {"content_id": cid, "jpeg": jpeg}
        for row, cid in zip(rows, content_ids, strict=True)
        if row["kind"] in ("image", "video") and row["status"] != "error"
    ]
    with store.session() as session:
        for start in range(0, len(wanted), BATCH):
            session.execute(insert(Thumbnail), wanted[start : start + BATCH])
    return len(wanted)


def _add_stacks(store: Store, planned: list[list[int]], content_ids: list[int], distances: dict[int, int]) -> int:
    members = 0
    with store.session() as session:
        for group in planned:
            spread = max(distances[p] for p in group)
            group_id = session.execute(
                insert(NearGroup).returning(NearGroup.id),
                [{"representative_id": content_ids[group[0]], "max_distance": spread, "threshold": 31}],
            ).scalar_one()
            rows = [{"group_id": group_id, "content_id": content_ids[p], "distance": distances[p]} for p in group]
            session.execute(insert(NearGroupMember), rows)
            members += len(rows)
    return members


@dataclass(frozen=True)
class _PlannedDecision:
    position: int
    code: str
    source: str  # user | propagated
    origin: int  # the position the person decided (itself for "user")
    seq: int  # order of the review action


def _plan_decisions(
    rng: random.Random, kinds: list[str], statuses: list[str], planned: list[list[int]], codes: list[str], share: float
) -> list[_PlannedDecision]:
    """A person's decision on a share of the items; on a stack representative it is propagated to the members."""
    stack_of = {group[0]: group for group in planned}
    in_stack = {p for group in planned for p in group}
    candidates = [i for i in range(len(kinds)) if statuses[i] != "error" and (i in stack_of or i not in in_stack)]
    chosen = rng.sample(candidates, min(len(candidates), int(len(kinds) * share)))
    decisions = []
    for seq, position in enumerate(chosen):
        code = rng.choice(codes)
        decisions.append(_PlannedDecision(position, code, "user", position, seq))
        decisions += [_PlannedDecision(m, code, "propagated", position, seq) for m in stack_of.get(position, [])[1:]]
    return decisions


def _add_decisions(
    store: Store,
    case_id: int,
    rows: list[dict[str, Any]],
    content_ids: list[int],
    decisions: list[_PlannedDecision],
    user: str,
) -> int:
    """One decision batch (a review action, as the review grid records it) per person's decision."""
    actions = sorted({(d.seq, d.code) for d in decisions})
    at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    with store.session() as session:
        batch_ids: dict[int, int] = {}
        for start in range(0, len(actions), BATCH):
            chunk = actions[start : start + BATCH]
            ids = session.scalars(
                insert(DecisionBatch).returning(DecisionBatch.id, sort_by_parameter_order=True),
                [
                    {
                        "case_id": case_id,
                        "user_name": user,
                        "action": "decide",
                        "category": code,
                        "created_at": at + timedelta(seconds=seq),
                    }
                    for seq, code in chunk
                ],
            ).all()
            batch_ids.update({seq: batch_id for (seq, _), batch_id in zip(chunk, ids, strict=True)})
        decision_rows = [
            {
                "content_id": content_ids[d.position],
                "category": d.code,
                "source": d.source,
                "source_detail": user if d.source == "user" else rows[d.origin]["sha256"],
                "decided_by": user,
                "decided_at": at + timedelta(seconds=d.seq),
                "batch_id": batch_ids[d.seq],
            }
            for d in decisions
        ]
        for start in range(0, len(decision_rows), BATCH):
            session.execute(insert(Decision), decision_rows[start : start + BATCH])
    return len(decision_rows)
