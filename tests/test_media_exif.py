"""EXIF facts: exact keys, decimal GPS with S/W negative, ISO dates, serial fallbacks."""

from __future__ import annotations

import io
import warnings

import pytest
from PIL import Image

from haven.analyze import analyze_bytes
from haven.media.decode import open_image
from haven.media.exif import read_exif
from haven.settings import AnalysisSettings
from media_builders import ExifFacts, jpeg_bytes, make_exif, synthetic_image, tiff_bytes

KEYS = {"make", "model", "serial", "datetime_original", "gps_lat", "gps_lon"}


def _read(facts: ExifFacts) -> tuple[dict[str, object], int | None]:
    return read_exif(Image.open(io.BytesIO(jpeg_bytes(64, 48, exif=facts))))


def test_all_facts() -> None:
    facts, orientation = _read(ExifFacts())
    assert set(facts) == KEYS
    assert facts["make"] == "Haven Test Camera Co."
    assert facts["model"] == "HTC-1"
    assert facts["serial"] == "SN-000123"
    assert facts["datetime_original"] == "2021-03-04T05:06:07"
    assert facts["gps_lat"] == pytest.approx(51.51)
    assert facts["gps_lon"] == pytest.approx(-0.13)  # W is negative
    assert orientation is None


@pytest.mark.parametrize(
    ("lat_ref", "lon_ref", "signs"),
    [("N", "E", (1, 1)), ("S", "E", (-1, 1)), ("N", "W", (1, -1)), ("S", "W", (-1, -1))],
)
def test_gps_hemispheres(lat_ref: str, lon_ref: str, signs: tuple[int, int]) -> None:
    facts, _ = _read(
        ExifFacts(gps_lat=(33.0, 52.0, 4.2), gps_lat_ref=lat_ref, gps_lon=(151.0, 12.0, 36.0), gps_lon_ref=lon_ref)
    )
    assert facts["gps_lat"] == pytest.approx(signs[0] * (33 + 52 / 60 + 4.2 / 3600), abs=1e-6)
    assert facts["gps_lon"] == pytest.approx(signs[1] * (151 + 12 / 60 + 36 / 3600), abs=1e-6)


def test_absent_keys_are_omitted() -> None:
    facts, _ = _read(ExifFacts(model=None, body_serial=None, datetime_original=None, gps_lat=None, gps_lon=None))
    assert facts == {"make": "Haven Test Camera Co."}
    assert read_exif(synthetic_image(32, 32)) == ({}, None)


def test_serial_falls_back_to_dng_camera_serial() -> None:
    facts, _ = _read(ExifFacts(body_serial=None, camera_serial="DNG-42"))
    assert facts["serial"] == "DNG-42"
    facts, _ = _read(ExifFacts(body_serial="BODY-1", camera_serial="DNG-42"))
    assert facts["serial"] == "BODY-1"  # BodySerialNumber wins


def test_offset_time_makes_an_aware_iso_date() -> None:
    facts, _ = _read(ExifFacts(offset_time_original="-05:00"))
    assert facts["datetime_original"] == "2021-03-04T05:06:07-05:00"


@pytest.mark.parametrize("bad", ["0000:00:00 00:00:00", "    :  :     :  :  ", "yesterday", ""])
def test_unset_or_malformed_dates_are_dropped(bad: str) -> None:
    facts, _ = _read(ExifFacts(datetime_original=bad))
    assert "datetime_original" not in facts
    assert facts["make"]  # the rest survives


def test_padding_is_stripped() -> None:
    facts, _ = _read(ExifFacts(make="Canon\x00\x00  ", model="  EOS  "))
    assert (facts["make"], facts["model"]) == ("Canon", "EOS")


def test_out_of_range_gps_is_dropped() -> None:
    facts, _ = _read(ExifFacts(gps_lat=(95.0, 0.0, 0.0), gps_lon=(10.0, 0.0, 0.0), gps_lon_ref="E"))
    assert "gps_lat" not in facts
    assert facts["gps_lon"] == pytest.approx(10.0)


def test_orientation_is_returned() -> None:
    assert _read(ExifFacts(orientation=6))[1] == 6
    assert _read(ExifFacts(orientation=42))[1] is None


def test_tiff_tags_read_from_ifd0() -> None:
    # Pillow's TIFF writer keeps IFD0 (make, model, DNG serial) but not the Exif/GPS sub-IFDs.
    facts, _ = read_exif(Image.open(io.BytesIO(tiff_bytes(64, 48, exif=ExifFacts(camera_serial="T-9")))))
    assert facts == {"make": "Haven Test Camera Co.", "model": "HTC-1", "serial": "T-9"}


def test_corrupt_exif_block_yields_nothing_quietly() -> None:
    out = io.BytesIO()
    synthetic_image(64, 48).save(out, "JPEG", exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff garbage")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert read_exif(open_image(out.getvalue())) == ({}, None)
        info = analyze_bytes(out.getvalue(), AnalysisSettings())
    assert not caught  # thousands of these must not flood the workers' stderr
    assert info.error is None and info.exif == {} and info.pdq
    assert make_exif(ExifFacts()).tobytes()  # the builder itself round-trips
