"""Face test pictures: LFW adults from ../shared/data/faces, synthetic pictures, and composites of LFW
faces tiled into one picture. Nothing else is ever used for face tests."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from shared_data import SHARED_DATA

LFW = SHARED_DATA / "faces" / "lfw"


def lfw_path(person: str, number: int) -> Path:
    path = LFW / person / f"{person}_{number:04d}.jpg"
    if not path.is_file():
        pytest.skip(f"shared LFW data missing: {path}")
    return path


def lfw_bytes(person: str, number: int) -> bytes:
    return lfw_path(person, number).read_bytes()


def composite(people: list[tuple[str, int]], columns: int = 2) -> bytes:
    """LFW pictures (250x250) tiled left to right, top to bottom, as one JPEG."""
    rows = -(-len(people) // columns)
    sheet = Image.new("RGB", (250 * columns, 250 * rows), (128, 128, 128))
    for i, (person, number) in enumerate(people):
        with Image.open(lfw_path(person, number)) as tile:
            sheet.paste(tile.convert("RGB"), (250 * (i % columns), 250 * (i // columns)))
    return jpeg(sheet)


def jpeg(image: Image.Image, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92, **params)
    return buffer.getvalue()
