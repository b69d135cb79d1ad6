"""OCR (issue 6): one picture's text, and the `analyze --ocr` stage with `search-text` on both back ends.

Skipped, with the reason, when Tesseract (Debian tesseract-ocr + tesseract-ocr-eng) or pytesseract is absent.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont
from typer.testing import CliRunner

from conftest import HavenEnv
from haven.cli import app
from haven.errors import HavenError
from haven.ocr.search import parse_query
from haven.ocr.settings import OcrSettings
from media_builders import jpeg_bytes, truncated
from shared_data import SHARED_DATA

try:
    import pytesseract
except ImportError:  # pragma: no cover - depends on the machine
    pytesseract = None

needs_tesseract = pytest.mark.skipif(
    pytesseract is None or shutil.which("tesseract") is None,
    reason="OCR: tesseract (apt-get install tesseract-ocr tesseract-ocr-eng) or pytesseract is not installed",
)
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
runner = CliRunner()


def rendered_text(lines: list[str], size: tuple[int, int] = (900, 300)) -> bytes:
    """A PNG with dark text on a light background (DejaVu Sans, or Pillow's own font scaled)."""
    img = Image.new("RGB", size, (245, 242, 235))
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(str(FONT), 48) if FONT.exists() else ImageFont.load_default(size=48)
    for i, line in enumerate(lines):
        draw.text((40, 40 + i * 90), line, fill=(20, 20, 30), font=font)
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def words(text: str) -> set[str]:
    return {w.strip(".,!?").lower() for w in text.split()}


@needs_tesseract
def test_rendered_text_is_read_with_confidence() -> None:
    from haven.ocr.analysis import text_of_picture

    page = text_of_picture(rendered_text(["Harbour Street Motel", "Room 214 checkout"]), OcrSettings())
    assert page.error is None
    assert {"harbour", "street", "motel", "room", "214", "checkout"} <= words(page.text)
    assert page.words >= 6 and page.confidence is not None and page.confidence > 70


@needs_tesseract
def test_shared_receipt_photo_is_read() -> None:
    from haven.ocr.analysis import text_of_picture

    data = (SHARED_DATA / "text" / "receipts" / "wildreceipt_2.jpeg").read_bytes()
    page = text_of_picture(data, OcrSettings())
    assert page.error is None
    assert {"korean", "restaurant"} <= words(page.text)


@needs_tesseract
def test_no_text_is_empty_and_corrupt_is_an_error() -> None:
    from haven.ocr.analysis import text_of_picture

    blank = text_of_picture(jpeg_bytes(320, 240, seed=3), OcrSettings())
    assert (blank.text, blank.words, blank.confidence, blank.error) == ("", 0, None, None)
    broken = text_of_picture(b"\xff\xd8\xff\xe0 not really a jpeg", OcrSettings())
    assert broken.text == "" and broken.error is not None and broken.error.startswith("unreadable picture")


def test_query_words_are_not_syntax() -> None:
    assert [(t.word, t.prefix) for t in parse_query('Motel AND "room*" NEAR(x')] == [
        ("motel", False),
        ("and", False),
        ("room", True),
        ("near", False),
        ("x", False),
    ]
    with pytest.raises(HavenError, match="nothing to search for"):
        parse_query(" -- ")


def run(*args: str) -> str:
    result = runner.invoke(app, ["-q", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


@needs_tesseract
def test_analyze_ocr_then_search_text(haven_env: HavenEnv, tmp_path: Path) -> None:
    evidence = tmp_path / "ev"
    evidence.mkdir()
    motel = rendered_text(["Harbour Street Motel", "Room 214"])
    bakery = rendered_text(["Sunrise Bakery", "Harbour Road"])
    files = {
        "motel.png": motel,
        "bakery.png": bakery,
        "blank.jpg": jpeg_bytes(320, 240, seed=5),
        "broken.jpg": truncated(jpeg_bytes(320, 240, seed=6), 0.3),
    }
    for name, data in files.items():
        (evidence / name).write_bytes(data)
    run("case", "create", "OCR-1")
    run("ingest", "OCR-1", str(evidence), "--workers", "1")

    first = run("analyze", "OCR-1", "--ocr", "--workers", "2")
    assert "pictures read (0 already done)" in first and "2 with text" in first
    again = run("analyze", "OCR-1", "--ocr", "--workers", "1")
    assert "0 pictures read" in again  # every picture already has its row: nothing redone

    hits = json.loads(run("search-text", "OCR-1", "harbour", "--json"))
    assert {h["sha256"] for h in hits} == {hashlib.sha256(motel).hexdigest(), hashlib.sha256(bakery).hexdigest()}
    assert set(hits[0]) == {"sha256", "path", "score", "snippet", "confidence", "engine", "language"}
    assert all("[" in h["snippet"] and h["engine"].startswith("tesseract") for h in hits)
    only_motel = json.loads(run("search-text", "OCR-1", "harbour mot*", "--json"))
    assert [h["sha256"] for h in only_motel] == [hashlib.sha256(motel).hexdigest()]
    assert only_motel[0]["path"].endswith("motel.png")
    assert json.loads(run("search-text", "OCR-1", "nowhere", "--json")) == []
    assert "1 picture(s)" in run("search-text", "OCR-1", "bakery")


@needs_tesseract
def test_stage_records_the_unreadable_picture(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from haven.cases import create_case
    from haven.config import load_config
    from haven.ocr.stage import analyse_text
    from haven.store.models import Content, ContentText

    # A stored content whose evidence file is gone: an error row for it, the run goes on.
    with store.session() as session:
        case, _ = create_case(session, "OCR-2", user="tester")
        session.add(Content(case_id=case.id, sha256="0" * 64, md5="0" * 32, sha1="0" * 40, size=1, kind="image"))
    summary = analyse_text(store, load_config(), "OCR-2", workers=1, show_progress=False)
    assert (summary.scanned, summary.errors) == (1, 1)
    with store.session() as session:
        row = session.scalars(select(ContentText)).one()
    assert row.text == "" and row.error == "no occurrence recorded"


@needs_tesseract
def test_missing_tesseract_is_named(haven_env: HavenEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    run("case", "create", "OCR-3")
    result = runner.invoke(app, ["analyze", "OCR-3", "--ocr"])
    assert isinstance(result.exception, HavenError)
    assert str(result.exception).startswith("tesseract is not installed: OCR needs the Debian packages tesseract-ocr")
