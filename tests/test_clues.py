"""Camera, place and time clues (issue 6): EXIF lens at ingest, GPS clustering, and `haven clues` on both back ends."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import HavenEnv
from haven.cli import app
from haven.clues.places import cluster_labels, distance_m
from haven.media.exif import read_exif
from media_builders import ExifFacts, encode, make_exif, synthetic_image

runner = CliRunner()
GARBAGE_EXIF = b"Exif\x00\x00II*\x00\xff\xff\xff\x7f" + b"\xde\xad\xbe\xef" * 8


def photo(seed: int, facts: ExifFacts | None, lens: tuple[str | None, str | None] = (None, None)) -> bytes:
    img = synthetic_image(160, 120, seed)
    if facts is None:
        return encode(img, "JPEG", quality=85)
    exif = make_exif(facts)
    sub = exif.get_ifd(0x8769)
    if lens[0] is not None:
        sub[0xA433] = lens[0]
    if lens[1] is not None:
        sub[0xA434] = lens[1]
    return encode(img, "JPEG", quality=85, exif=exif.tobytes())


def canon(seed: int, when: str, gps: tuple[tuple[float, float, float], tuple[float, float, float]]) -> bytes:
    facts = ExifFacts(
        make="Canon",
        model="Canon EOS 80D",
        body_serial="SN-1",
        datetime_original=when,
        gps_lat=gps[0],
        gps_lat_ref="N",
        gps_lon=gps[1],
        gps_lon_ref="W",
    )
    return photo(seed, facts, ("Canon", "EF-S18-55mm f/3.5-5.6"))


def nikon(seed: int, serial: str, when: str = "2021:03:05 09:00:00", gps: bool = True) -> bytes:
    facts = ExifFacts(
        make="NIKON CORPORATION",
        model="NIKON D750",
        body_serial=serial,
        datetime_original=when,
        gps_lat=(48.0, 51.0, 24.0) if gps else None,
        gps_lat_ref="N",
        gps_lon=(2.0, 21.0, 0.0) if gps else None,
        gps_lon_ref="E",
    )
    return photo(seed, facts, (None, "24.0-120.0 mm f/4.0"))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")  # Pillow, when the test opens the garbage
def test_lens_is_read_with_its_make() -> None:
    named = Image.open(io.BytesIO(photo(1, ExifFacts(), ("Canon", "EF 50mm f/1.8"))))
    assert read_exif(named)[0]["lens"] == "Canon EF 50mm f/1.8"
    already = Image.open(io.BytesIO(photo(1, ExifFacts(), ("Canon", "Canon EF 50mm"))))
    assert read_exif(already)[0]["lens"] == "Canon EF 50mm"
    assert "lens" not in read_exif(Image.open(io.BytesIO(photo(1, ExifFacts()))))[0]
    garbage = Image.open(io.BytesIO(encode(synthetic_image(64, 48, 2), "JPEG", exif=GARBAGE_EXIF)))
    assert read_exif(garbage) == ({}, None)


def test_places_chain_within_the_radius_and_cross_the_antimeridian() -> None:
    lat = np.array([51.5000, 51.5010, 51.5020, 48.8566, 0.0, 0.0])
    lon = np.array([-0.1300, -0.1300, -0.1300, 2.3522, 179.9995, -179.9995])
    labels = cluster_labels(lat, lon, 150.0)  # 0.001 degrees of latitude: 111 m
    assert labels[0] == labels[1] == labels[2]  # a chain of 111 m steps is one place
    assert labels[3] != labels[0] and labels[4] == labels[5] != labels[0]
    assert len(set(cluster_labels(lat, lon, 50.0).tolist())) == 6
    assert cluster_labels(np.zeros(0), np.zeros(0), 100.0).size == 0
    assert 110 < distance_m(51.5, -0.13, 51.501, -0.13) < 112


def run(*args: str) -> str:
    result = runner.invoke(app, ["-q", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_clues_of_a_case_and_the_same_camera_elsewhere(haven_env: HavenEnv, tmp_path: Path) -> None:
    london_a, london_b = ((51.0, 30.0, 0.0), (0.0, 7.0, 48.0)), ((51.0, 30.0, 1.5), (0.0, 7.0, 48.0))  # 46 m apart
    pictures = {
        "a1.jpg": canon(1, "2021:03:04 05:06:07", london_a),
        "a2.jpg": canon(2, "2021:03:04 18:00:00", london_b),
        "a3.jpg": nikon(3, "N-77"),
        "garbage.jpg": encode(synthetic_image(160, 120, 4), "JPEG", exif=GARBAGE_EXIF),
        "plain.jpg": photo(5, None),
    }
    other_case = {
        "b1.jpg": canon(6, "2022:01:01 10:00:00", london_a),  # the same Canon body: a strong lead
        "b2.jpg": nikon(7, "N-99", gps=False),  # another D750 with the same lens: weak
    }
    for folder, files in (("ev-a", pictures), ("ev-b", other_case)):
        (tmp_path / folder).mkdir()
        for name, data in files.items():
            (tmp_path / folder / name).write_bytes(data)
    for ref, folder in (("CLUE-A", "ev-a"), ("CLUE-B", "ev-b")):
        run("case", "create", ref)
        run("ingest", ref, str(tmp_path / folder), "--workers", "1")

    found = json.loads(run("clues", "CLUE-A", "--json"))
    assert set(found) == {"case", "summary", "cameras", "places", "timeline"}
    assert found["summary"] == {"pictures": 5, "with_camera": 3, "with_gps": 3, "with_date": 3}

    serials = {g["serial"]: g for g in found["cameras"]["by_serial"]}
    assert set(serials) == {"SN-1", "N-77"}
    body = serials["SN-1"]
    assert (body["camera"], body["contents"], body["lenses"]) == ("Canon EOS 80D", 2, ["Canon EF-S18-55mm f/3.5-5.6"])
    assert set(body["sha256"]) == {sha(pictures["a1.jpg"]), sha(pictures["a2.jpg"])}
    assert (body["first_taken"], body["last_taken"]) == ("2021-03-04T05:06:07", "2021-03-04T18:00:00")
    assert body["other_cases"] == [{"case": "CLUE-B", "contents": 1}]
    assert serials["N-77"]["other_cases"] == []

    kinds = {g["camera"]: g for g in found["cameras"]["by_model_lens"]}
    assert kinds["NIKON D750"]["lens"] == "24.0-120.0 mm f/4.0"
    assert kinds["NIKON D750"]["other_cases"] == [{"case": "CLUE-B", "contents": 1}]
    assert kinds["Canon EOS 80D"]["serials"] == ["SN-1"]

    places = found["places"]
    assert [c["contents"] for c in places["clusters"]] == [2, 1]
    london, paris = places["clusters"]
    assert london["extent_m"] < 30 and london["cameras"] == ["Canon EOS 80D"]
    assert abs(london["centre"][0] - 51.5002) < 1e-3 and abs(london["centre"][1] + 0.13) < 1e-3
    assert paris["cameras"] == ["NIKON D750"] and abs(paris["centre"][1] - 2.35) < 1e-3
    assert {p["sha256"]: p["place"] for p in places["points"]}[sha(pictures["a3.jpg"])] == 2

    assert [(d["day"], d["camera"], d["serial"], d["contents"]) for d in found["timeline"]] == [
        ("2021-03-04", "Canon EOS 80D", "SN-1", 2),
        ("2021-03-05", "NIKON D750", "N-77", 1),
    ]

    lead = json.loads(run("clues", "CLUE-A", "--item", sha(pictures["a1.jpg"])[:12], "--json"))
    assert (lead["serial"], lead["lens"]) == ("SN-1", "Canon EF-S18-55mm f/3.5-5.6")
    assert lead["same_serial"] == lead["same_model_lens"] == [{"case": "CLUE-B", "contents": 1}]
    nothing = json.loads(run("clues", "CLUE-A", "--item", sha(pictures["garbage.jpg"]), "--json"))
    assert (nothing["camera"], nothing["same_serial"], nothing["same_model_lens"]) == (None, [], [])

    text = run("clues", "CLUE-A")
    assert "5 pictures; 3 with a camera" in text and "CLUE-B (1)" in text
    assert "Same camera body (strong lead): CLUE-B (1)" in run("clues", "CLUE-A", "--item", sha(pictures["a2.jpg"]))
    refused = runner.invoke(app, ["clues", "CLUE-A", "--item", "nope"])
    assert "is not a picture of case 'CLUE-A'" in str(refused.exception)
