"""Benign photos for the same-scene tests: UKBench object views and ImageNet distractors (../shared/data)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "photos"

if not PHOTOS.is_dir():  # pragma: no cover - the corpus ships beside the project
    pytest.skip(f"benign photos corpus not found at {PHOTOS}", allow_module_level=True)


def ukbench(number: int) -> bytes:
    """UKBench view ``number``: views 0-3 are one jigsaw puzzle, 4-7 one tin box."""
    return (PHOTOS / "near_duplicates" / "ukbench" / f"ukbench{number:05d}.jpg").read_bytes()


def distractors(count: int) -> list[bytes]:
    files = sorted(p for p in (PHOTOS / "imagenet_sample").iterdir() if p.is_file())
    return [p.read_bytes() for p in files[:: max(1, len(files) // count)][:count]]


def side_by_side(left: bytes, right: bytes) -> bytes:
    """One JPEG holding both pictures next to each other (two objects in one scene)."""
    with Image.open(io.BytesIO(left)) as a, Image.open(io.BytesIO(right)) as b:
        a, b = a.convert("RGB"), b.convert("RGB").resize(a.size)
        joined = Image.new("RGB", (a.width * 2, a.height))
        joined.paste(a, (0, 0))
        joined.paste(b, (a.width, 0))
    out = io.BytesIO()
    joined.save(out, "JPEG", quality=92)
    return out.getvalue()


def flat_png(width: int = 320, height: int = 240) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (128, 120, 110)).save(out, "PNG")
    return out.getvalue()
