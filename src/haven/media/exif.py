"""The few EXIF facts investigators act on: which camera, when, where.

Read from the already-open image (Pillow parsed the APP1/eXIf block at open), never from a
second parse of the file. Absent or malformed values are left out rather than guessed.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from datetime import datetime
from typing import Any

from PIL import Image

# Tag numbers (EXIF 2.32 / TIFF 6 / DNG 1.6).
MAKE = 0x010F
MODEL = 0x0110
ORIENTATION = 0x0112
EXIF_IFD = 0x8769
GPS_IFD = 0x8825
DATETIME_ORIGINAL = 0x9003
OFFSET_TIME_ORIGINAL = 0x9011
BODY_SERIAL_NUMBER = 0xA431
LENS_MAKE = 0xA433
LENS_MODEL = 0xA434
CAMERA_SERIAL_NUMBER = 0xC62F  # DNG, maker-independent
GPS_LATITUDE_REF, GPS_LATITUDE, GPS_LONGITUDE_REF, GPS_LONGITUDE = 1, 2, 3, 4


def read_exif(img: Image.Image) -> tuple[dict[str, Any], int | None]:
    """Return (facts, orientation). Facts keys: make, model, serial, lens, datetime_original, gps_lat,
    gps_lon; orientation is the raw EXIF value (1-8) or None. Never raises."""
    with warnings.catch_warnings():
        # "Corrupt EXIF data" warnings would flood worker stderr; what parses is still used.
        warnings.simplefilter("ignore")
        return _read(img)


def _read(img: Image.Image) -> tuple[dict[str, Any], int | None]:
    try:
        exif = img.getexif()
    except Exception:  # corrupt EXIF must not cost the image its hashes
        return {}, None
    if not exif:
        return {}, None
    facts: dict[str, Any] = {}
    try:
        sub = exif.get_ifd(EXIF_IFD)
    except Exception:
        sub = {}
    serial = _first_text(
        sub.get(BODY_SERIAL_NUMBER),
        exif.get(BODY_SERIAL_NUMBER),
        exif.get(CAMERA_SERIAL_NUMBER),
        sub.get(CAMERA_SERIAL_NUMBER),
    )
    for key, value in (
        ("make", _text(exif.get(MAKE))),
        ("model", _text(exif.get(MODEL))),
        ("serial", serial),
        ("lens", _lens(sub.get(LENS_MAKE), sub.get(LENS_MODEL))),
        ("datetime_original", _iso_datetime(sub.get(DATETIME_ORIGINAL), sub.get(OFFSET_TIME_ORIGINAL))),
    ):
        if value:
            facts[key] = value
    if GPS_IFD in exif:
        with contextlib.suppress(Exception):  # a broken GPS block must not lose make/model
            facts.update(_gps(exif.get_ifd(GPS_IFD)))
    orientation = exif.get(ORIENTATION)
    return facts, orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else None


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    # Cameras pad fixed-size fields with NULs and spaces.
    text = value.replace("\x00", " ").strip()
    return text or None


def _first_text(*values: Any) -> str | None:
    for value in values:
        text = _text(value)
        if text:
            return text
    return None


def _lens(make: Any, model: Any) -> str | None:
    """LensModel, with LensMake in front when the model does not already name it (a lens tells bodies apart)."""
    lens_make, lens_model = _text(make), _text(model)
    if not lens_model:
        return None
    if lens_make and not lens_model.lower().startswith(lens_make.lower()):
        return f"{lens_make} {lens_model}"
    return lens_model


def _iso_datetime(value: Any, offset: Any) -> str | None:
    text = _text(value)
    if not text:
        return None
    try:
        # "0000:00:00 00:00:00" and blanks (cameras with no clock set) fail here and are dropped.
        when = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    iso = when.isoformat()
    tz = _text(offset)
    if tz and len(tz) == 6 and tz[0] in "+-" and tz[3] == ":":
        iso += tz
    return iso


def _gps(gps: dict[int, Any]) -> dict[str, float]:
    found: dict[str, float] = {}
    for key, ref_tag, tag, limit, negative in (
        ("gps_lat", GPS_LATITUDE_REF, GPS_LATITUDE, 90.0, "S"),
        ("gps_lon", GPS_LONGITUDE_REF, GPS_LONGITUDE, 180.0, "W"),
    ):
        degrees = _degrees(gps.get(tag))
        if degrees is None or degrees > limit:
            continue
        ref = (_text(gps.get(ref_tag)) or "").upper()
        found[key] = round(-degrees if ref.startswith(negative) else degrees, 7)
    return found


def _degrees(dms: Any) -> float | None:
    if not isinstance(dms, tuple | list) or not 1 <= len(dms) <= 3:
        return None
    try:
        parts = [float(p) for p in dms]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if any(math.isnan(p) or p < 0 for p in parts):
        return None
    parts += [0.0] * (3 - len(parts))
    return parts[0] + parts[1] / 60.0 + parts[2] / 3600.0
