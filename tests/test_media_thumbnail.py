"""Thumbnails are small, greyscale, blurred JPEGs, upright per EXIF orientation."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from haven.media.thumbnail import make_thumbnail
from haven.settings import AnalysisSettings
from media_builders import synthetic_image

SETTINGS = AnalysisSettings()


def _open(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    assert img.format == "JPEG"
    return img


def _steepest_step(img: Image.Image) -> float:
    """Largest jump between neighbouring pixels: ~255 across a sharp black/white edge."""
    pixels = np.asarray(img, dtype=np.float64)
    return float(max(np.abs(np.diff(pixels, axis=0)).max(), np.abs(np.diff(pixels, axis=1)).max()))


def _half_black_half_white() -> Image.Image:
    img = Image.new("RGB", (1000, 750), (255, 255, 255))
    img.paste((0, 0, 0), (0, 0, 500, 750))
    return img


@pytest.mark.parametrize(
    ("size", "expected"), [((1000, 750), (160, 120)), ((750, 1000), (120, 160)), ((90, 60), (160, 107))]
)
def test_longest_side_and_greyscale(size: tuple[int, int], expected: tuple[int, int]) -> None:
    thumb = _open(make_thumbnail(synthetic_image(*size), SETTINGS))
    assert thumb.size == expected
    assert thumb.mode == "L"


def test_a_few_kilobytes() -> None:
    assert len(make_thumbnail(synthetic_image(1000, 750), SETTINGS)) < 6000


def test_blurred() -> None:
    src = _half_black_half_white()
    assert _steepest_step(src.convert("L").resize((160, 120), Image.Resampling.BILINEAR)) > 150
    # A radius-6 Gaussian spreads the edge over ~15 px: no neighbour step above ~255/15.
    assert _steepest_step(_open(make_thumbnail(src, SETTINGS))) < 25


def test_never_sharp_even_if_blur_is_configured_off() -> None:
    thumb = _open(make_thumbnail(_half_black_half_white(), AnalysisSettings(thumbnail_blur_radius=0.0)))
    assert _steepest_step(thumb) < 80


def test_orientation_makes_it_upright() -> None:
    src = synthetic_image(400, 200)
    assert _open(make_thumbnail(src, SETTINGS, orientation=6)).size == (80, 160)
    assert _open(make_thumbnail(src, SETTINGS, orientation=3)).size == (160, 80)
    assert _open(make_thumbnail(src, SETTINGS, orientation=None)).size == (160, 80)


def test_any_mode_and_tiny_images() -> None:
    for mode in ("L", "RGBA", "RGB"):
        assert _open(make_thumbnail(synthetic_image(50, 40, mode=mode), SETTINGS)).mode == "L"
    assert _open(make_thumbnail(Image.new("RGB", (1, 1)), SETTINGS)).size == (160, 160)
