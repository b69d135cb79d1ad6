"""Build synthetic images and videos in memory for tests and benchmarks.

Every picture here is generated (gradients, blocks, discs); nothing is downloaded. Builders are
deterministic for a given seed, so hashes computed from them are stable across runs.
"""

from __future__ import annotations

import io
import struct
import tempfile
import zlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, TiffImagePlugin

EXIF_IFD, GPS_IFD = 0x8769, 0x8825


def synthetic_rgb(width: int = 320, height: int = 240, seed: int = 0) -> np.ndarray:
    """A textured RGB picture (PDQ quality 100 at any size above a few dozen pixels)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 128 + 60 * np.sin(xx / max(width, 1) * 6.0 + seed) * np.cos(yy / max(height, 1) * 4.0)
    img = np.repeat(base[..., None], 3, axis=2)
    for _ in range(12):
        x0, y0 = rng.integers(0, max(width - 1, 1)), rng.integers(0, max(height - 1, 1))
        x1 = x0 + rng.integers(1, max(width // 3, 2))
        y1 = y0 + rng.integers(1, max(height // 3, 2))
        img[y0:y1, x0:x1] = rng.integers(0, 256, 3)
    for _ in range(4):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(0.05, 0.2) * min(width, height)
        img[(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] = rng.integers(0, 256, 3)
    return np.clip(img, 0, 255).astype(np.uint8)


def synthetic_image(width: int = 320, height: int = 240, seed: int = 0, mode: str = "RGB") -> Image.Image:
    img = Image.fromarray(synthetic_rgb(width, height, seed), "RGB")
    return img if mode == "RGB" else img.convert(mode)


@dataclass
class ExifFacts:
    """What a test camera writes; None leaves the tag out."""

    make: str | None = "Haven Test Camera Co."
    model: str | None = "HTC-1"
    body_serial: str | None = "SN-000123"
    camera_serial: str | None = None  # DNG CameraSerialNumber (0xC62F), maker-independent
    datetime_original: str | None = "2021:03:04 05:06:07"
    offset_time_original: str | None = None
    gps_lat: tuple[float, float, float] | None = (51.0, 30.0, 36.0)  # 51.51 degrees
    gps_lat_ref: str = "N"
    gps_lon: tuple[float, float, float] | None = (0.0, 7.0, 48.0)  # 0.13 degrees
    gps_lon_ref: str = "W"
    orientation: int | None = None


def make_exif(facts: ExifFacts) -> Image.Exif:
    """Build an EXIF block with Pillow's Exif API (IFD0, Exif IFD and GPS IFD)."""
    exif = Image.Exif()
    if facts.make is not None:
        exif[0x010F] = facts.make
    if facts.model is not None:
        exif[0x0110] = facts.model
    if facts.orientation is not None:
        exif[0x0112] = facts.orientation
    if facts.camera_serial is not None:
        exif[0xC62F] = facts.camera_serial
    sub = exif.get_ifd(EXIF_IFD)
    if facts.datetime_original is not None:
        sub[0x9003] = facts.datetime_original
    if facts.offset_time_original is not None:
        sub[0x9011] = facts.offset_time_original
    if facts.body_serial is not None:
        sub[0xA431] = facts.body_serial
    if facts.gps_lat is not None or facts.gps_lon is not None:
        gps = exif.get_ifd(GPS_IFD)
        gps[0] = b"\x02\x03\x00\x00"  # GPSVersionID
        if facts.gps_lat is not None:
            gps[1], gps[2] = facts.gps_lat_ref, _dms(facts.gps_lat)
        if facts.gps_lon is not None:
            gps[3], gps[4] = facts.gps_lon_ref, _dms(facts.gps_lon)
    return exif


def _dms(values: tuple[float, float, float]) -> tuple[TiffImagePlugin.IFDRational, ...]:
    return tuple(TiffImagePlugin.IFDRational(Fraction(v).limit_denominator(10000)) for v in values)


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def jpeg_bytes(
    width: int = 320,
    height: int = 240,
    *,
    seed: int = 0,
    quality: int = 90,
    exif: ExifFacts | None = None,
    mode: str = "RGB",
) -> bytes:
    params: dict[str, object] = {"quality": quality}
    if exif is not None:
        params["exif"] = make_exif(exif).tobytes()
    return encode(synthetic_image(width, height, seed, mode), "JPEG", **params)


def png_bytes(width: int = 320, height: int = 240, *, seed: int = 0, mode: str = "RGB") -> bytes:
    return encode(synthetic_image(width, height, seed, mode), "PNG")


def gif_bytes(width: int = 320, height: int = 240, *, seed: int = 0) -> bytes:
    return encode(synthetic_image(width, height, seed).convert("P"), "GIF")


def webp_bytes(width: int = 320, height: int = 240, *, seed: int = 0) -> bytes:
    return encode(synthetic_image(width, height, seed), "WEBP", quality=90)


def bmp_bytes(width: int = 320, height: int = 240, *, seed: int = 0) -> bytes:
    return encode(synthetic_image(width, height, seed), "BMP")


def tiff_bytes(width: int = 320, height: int = 240, *, seed: int = 0, exif: ExifFacts | None = None) -> bytes:
    params: dict[str, object] = {}
    if exif is not None:
        params["exif"] = make_exif(exif)
    return encode(synthetic_image(width, height, seed), "TIFF", **params)


def heic_bytes(width: int = 320, height: int = 240, *, seed: int = 0) -> bytes | None:
    """HEIC via pillow-heif's encoder, or None where the build cannot encode HEVC."""
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
        return encode(synthetic_image(width, height, seed), "HEIF", quality=90)
    except Exception:
        return None


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    """The first ``keep`` fraction of ``data`` (a partly carved or partly downloaded file)."""
    return data[: max(1, int(len(data) * keep))]


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (decompression-bomb shape).

    The pixel data is a few bytes: only a decoder that trusts the header would allocate.
    """

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def video_bytes(
    *,
    frames: int = 20,
    fps: int = 10,
    size: tuple[int, int] = (160, 120),
    codec: str = "mpeg4",
    container: str = "mp4",
    faststart: bool = False,
    seed: int = 1,
) -> bytes:
    """A short synthetic video (a bar sweeping over a gradient; ``seed`` picks the picture).

    ``faststart`` puts the MP4 index first, as phones and web uploads do: then truncation leaves
    a file that still opens, which is the harder case to detect. It needs a real file to rewrite.
    """
    width, height = size
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"clip.{container}"
        options = {"movflags": "faststart"} if faststart else {}
        with av.open(str(path), "w", format=container, options=options) as out:
            stream = out.add_stream(codec, rate=fps)
            assert isinstance(stream, av.VideoStream)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            for i in range(frames):
                pixels = synthetic_rgb(width, height, seed=seed).copy()
                x = (i * width // max(frames, 1)) % width
                pixels[:, x : x + max(width // 10, 1)] = 255
                for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
        return path.read_bytes()
