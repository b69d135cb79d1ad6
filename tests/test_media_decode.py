"""Safe decoding: size checked before decode, JPEG fast path, every supported format opens."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from haven.media.decode import ImageTooLargeError, decode_image, jpeg_scale
from haven.settings import AnalysisSettings
from media_builders import (
    bmp_bytes,
    gif_bytes,
    heic_bytes,
    jpeg_bytes,
    png_bytes,
    png_declaring,
    tiff_bytes,
    truncated,
    webp_bytes,
)

SETTINGS = AnalysisSettings()


@pytest.mark.parametrize(
    ("size", "min_px", "scale"),
    [
        ((4000, 3000), 512, 4),  # 12 MP -> 1000x750
        ((3000, 4000), 512, 4),
        ((1600, 1004), 512, 1),  # shorter side under 2x512: full resolution
        ((2048, 1024), 512, 2),
        ((8192, 8192), 512, 8),
        ((20000, 20000), 512, 8),  # libjpeg cannot go below 1/8
        ((4000, 3000), 256, 8),
        ((300, 200), 512, 1),
    ],
)
def test_jpeg_scale_keeps_the_shorter_side(size: tuple[int, int], min_px: int, scale: int) -> None:
    assert jpeg_scale(*size, min_px) == scale
    assert min(size) // scale >= min(min_px, min(size))


def test_large_jpeg_takes_the_luma_draft_path() -> None:
    data = jpeg_bytes(2400, 1800, seed=1)
    decoded = decode_image(data, SETTINGS)
    assert (decoded.width, decoded.height) == (2400, 1800)  # original dimensions kept
    assert decoded.scale == 2  # 1800 // 512 = 3, and libjpeg scales by powers of two
    assert decoded.image.size == (1200, 900)
    assert decoded.image.mode == "L"
    assert min(decoded.image.size) >= SETTINGS.pdq_decode_min_px


@pytest.mark.parametrize("mode", ["RGB", "P", "LA"])
def test_large_other_formats_are_block_averaged(mode: str) -> None:
    decoded = decode_image(png_bytes(2400, 1800, mode=mode), SETTINGS)
    assert (decoded.width, decoded.height, decoded.scale) == (2400, 1800, 2)
    assert (decoded.image.size, decoded.image.mode) == ((1200, 900), "L")


def test_small_jpeg_decodes_at_full_resolution_in_colour() -> None:
    decoded = decode_image(jpeg_bytes(640, 480), SETTINGS)
    assert decoded.scale == 1
    assert decoded.image.size == (640, 480)
    assert decoded.image.mode == "RGB"


def test_min_px_setting_drives_the_draft() -> None:
    data = jpeg_bytes(2400, 1800, seed=1)
    assert decode_image(data, AnalysisSettings(pdq_decode_min_px=1800)).scale == 1
    assert decode_image(data, AnalysisSettings(pdq_decode_min_px=200)).image.size == (300, 225)


FORMATS = {
    "PNG": png_bytes,
    "GIF": gif_bytes,
    "WEBP": webp_bytes,
    "BMP": bmp_bytes,
    "TIFF": tiff_bytes,
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_formats_decode(fmt: str) -> None:
    decoded = decode_image(FORMATS[fmt](200, 100), SETTINGS)
    assert decoded.format == fmt
    assert (decoded.width, decoded.height) == (200, 100)
    assert decoded.image.mode in ("L", "RGB", "RGBA", "RGBX")


def test_heic_decodes() -> None:
    data = heic_bytes(200, 100)
    if data is None:
        pytest.skip("this pillow-heif build cannot encode HEIC")
    decoded = decode_image(data, SETTINGS)
    assert decoded.format == "HEIF"
    assert (decoded.width, decoded.height) == (200, 100)


@pytest.mark.parametrize("mode", ["I;16", "LA", "CMYK", "1"])
def test_unusual_modes_become_rgb(mode: str) -> None:
    img = Image.new("RGB", (64, 48), (10, 200, 30)).convert("L" if mode == "I;16" else mode)
    if mode == "I;16":
        img = img.convert("I").convert("I;16")
    out = io.BytesIO()
    img.save(out, "TIFF" if mode == "CMYK" else "PNG")
    assert decode_image(out.getvalue(), SETTINGS).image.mode == "RGB"


def test_side_limit_refused_before_decoding() -> None:
    with pytest.raises(ImageTooLargeError) as err:
        decode_image(png_declaring(50_000, 10), SETTINGS)
    assert str(err.value) == ("image too large: 50000x10 exceeds the 40000-pixel side limit (decompression bomb guard)")
    with pytest.raises(ImageTooLargeError, match="50000x50000"):
        decode_image(png_declaring(50_000, 50_000), SETTINGS)


def test_pixel_limit_refused_before_decoding() -> None:
    with pytest.raises(ImageTooLargeError) as err:
        decode_image(png_declaring(20_000, 20_000), SETTINGS)
    assert "20000x20000 = 400000000 pixels exceeds the 250000000-pixel limit" in str(err.value)
    tight = AnalysisSettings(max_image_pixels=10_000)
    with pytest.raises(ImageTooLargeError):
        decode_image(png_bytes(200, 100), tight)


def test_truncated_jpeg_raises() -> None:
    with pytest.raises(OSError, match="truncated"):
        decode_image(truncated(jpeg_bytes(400, 300)), SETTINGS)
