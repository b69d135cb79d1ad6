"""A synthetic case for the review tests, ingested and matched through the real pipeline.

Everything is generated (textured gradients, blocks and discs; a sweeping-bar video; random text):
no real material. `build_review_case` is imported by the other review test modules; the test here
checks that the case has the shape they rely on.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from backends import BACKENDS, backend_store
from evidence_builders import sevenzip_bytes, text_bytes, zip_bytes
from haven.analyze import analyze_bytes
from haven.cases import create_case
from haven.config import Config
from haven.hashsets import import_hashset
from haven.matching.run import match_case
from haven.pipeline import ingest
from haven.settings import AnalysisSettings
from haven.store import Store
from haven.store.current_category import refresh_case_categories
from haven.store.models import Case, Content
from media_builders import ExifFacts, jpeg_bytes, synthetic_image, truncated, video_bytes

CASE = "REV-1"
OTHER = "REV-2"
NO_GPS = ExifFacts(make="Other Maker", model="OM-2", gps_lat=None, gps_lon=None)


@dataclass
class ReviewCase:
    store: Store
    config: Config
    evidence: Path
    card: Path
    case_id: int
    other_case_id: int
    sha: dict[str, str] = field(default_factory=dict)
    """name -> sha256 of the contents below."""
    ids: dict[str, int] = field(default_factory=dict)


def _jpeg(img: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


def review_files() -> dict[str, bytes]:
    """name -> bytes of everything the case holds (names are the keys of ReviewCase.sha)."""
    stack = synthetic_image(400, 300, seed=50)
    near_original = synthetic_image(320, 240, seed=60)
    inner = sevenzip_bytes({"deep/deep.jpg": jpeg_bytes(seed=8)})
    return {
        "gps": jpeg_bytes(seed=1, exif=ExifFacts()),
        "plain": jpeg_bytes(seed=2),
        "other-camera": jpeg_bytes(seed=3, exif=NO_GPS),
        "known": jpeg_bytes(seed=4),
        "stack-big": _jpeg(stack, 92),
        "stack-small": _jpeg(stack.resize((300, 225)), 75),
        "stack-q": _jpeg(stack, 60),
        "near": _jpeg(near_original.resize((200, 150)), 70),
        "near-original": _jpeg(near_original, 90),  # not evidence: its PDQ goes on a list
        "clip": video_bytes(frames=20, fps=10, seed=5),
        "notes": text_bytes(50),
        "broken": truncated(jpeg_bytes(640, 480, seed=99), 0.3),
        "member": jpeg_bytes(seed=7),
        "deep": jpeg_bytes(seed=8),
        "inner": inner,
        "archive": zip_bytes({"inner/member.jpg": jpeg_bytes(seed=7), "inner/nested.7z": inner}),
        "card": jpeg_bytes(seed=9),
    }


def write_evidence(root: Path) -> tuple[Path, Path, dict[str, bytes]]:
    files = review_files()
    phone = root / "phone"
    for folder in ("DCIM", "Downloads"):
        (phone / folder).mkdir(parents=True, exist_ok=True)
    layout = {
        "DCIM/gps.jpg": "gps",
        "DCIM/plain.jpg": "plain",
        "DCIM/other-camera.jpg": "other-camera",
        "DCIM/known.jpg": "known",
        "Downloads/known-copy.jpg": "known",
        "DCIM/stack-big.jpg": "stack-big",
        "Downloads/stack-small.jpg": "stack-small",
        "Downloads/stack-q.jpg": "stack-q",
        "DCIM/near.jpg": "near",
        "Downloads/clip.mp4": "clip",
        "Downloads/notes.txt": "notes",
        "Downloads/broken.jpg": "broken",
        "backup.zip": "archive",
    }
    for rel, name in layout.items():
        (phone / rel).write_bytes(files[name])
    card = root / "card.jpg"
    card.write_bytes(files["card"])
    return phone, card, files


def build_review_case(store: Store, root: Path) -> ReviewCase:
    root.mkdir(parents=True, exist_ok=True)
    config = Config(home=root / "home", database_url=store.engine.url.render_as_string(hide_password=False), user="t")
    config.home.mkdir(exist_ok=True)
    phone, card, files = write_evidence(root / "evidence")
    lists = root / "lists"
    lists.mkdir()
    (lists / "known.txt").write_text(f"MD5\n{hashlib.md5(files['known']).hexdigest()},1\n")
    pdq = analyze_bytes(files["near-original"], AnalysisSettings()).pdq
    (lists / "near.txt").write_text(f"pdq {pdq},2\n")
    with store.session() as session:
        case, _ = create_case(session, CASE, user="t", title="Review test")
        other, _ = create_case(session, OTHER, user="t")
        case_id, other_id = case.id, other.id
    import_hashset(store, lists / "known.txt", name="known-md5", user="t")
    import_hashset(store, lists / "near.txt", name="near-pdq", user="t")
    ingest(store, config, CASE, [phone], label="PHONE", workers=1, show_progress=False)
    ingest(store, config, CASE, [card], label="CARD", workers=1, show_progress=False)
    ingest(store, config, OTHER, [card], label="ELSEWHERE", workers=1, show_progress=False)
    match_case(store, CASE, user="t", index_dir=config.index_dir)
    built = ReviewCase(store, config, phone, card, case_id, other_id)
    with store.session() as session:
        refresh_case_categories(session, case_id)  # harmless once matching keeps the column itself
        for name, data in files.items():
            sha = hashlib.sha256(data).hexdigest()
            found = session.scalar(select(Content.id).where(Content.case_id == case_id, Content.sha256 == sha))
            if found is not None:
                built.sha[name], built.ids[name] = sha, found
    return built


def shared_review_case(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ReviewCase]:
    """One ingested case per backend for a whole module (for tests that only read): a module's fixture
    with ``params=BACKENDS`` yields from this."""
    root = tmp_path_factory.mktemp("review-case")
    with backend_store(request, root) as store:
        yield build_review_case(store, root / "case")


@pytest.fixture(scope="module", params=BACKENDS)
def shared_case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReviewCase]:
    yield from shared_review_case(request, tmp_path_factory)


def test_the_review_case_has_what_the_review_tests_rely_on(shared_case: ReviewCase) -> None:
    with shared_case.store.session() as session:
        status = dict(
            session.execute(select(Content.sha256, Content.status).where(Content.case_id == shared_case.case_id)).all()
        )
        assert session.scalar(select(Case.scheme).where(Case.id == shared_case.case_id)) == "vic-us"
    sha = shared_case.sha
    assert status[sha["known"]] == "known"
    assert status[sha["near"]] == "near-known"
    assert status[sha["broken"]] == "error"
    assert status[sha["plain"]] == "unknown"
    assert {"member", "deep", "card", "clip", "stack-small", "stack-q"} <= set(sha)
    assert "near-original" not in sha
