"""Dihedral PDQ: 7 rotated/flipped hashes at ingest from one DCT, and ``pdq-dihedral`` matching.

Reference images: ../shared/data/pdq-reference/reg-test-input/dih/ holds the bridge photo in its
8 rotations/flips. Their plain PDQ hashes are 104-130 bits apart (README), so only the dihedral
hashes can connect them. Tolerances used here, and why:

* ``DIHEDRAL_MATCH_LIMIT`` (8 bits, observed 0-8): one rotated file's dihedral hash against the
  original's plain hash. Each file is a separately decoded JPEG, so a few bits of re-encoding noise.
* ``FAST_PATH_LIMIT`` (4 bits, observed 0-2): the 12-MP fast path's derived hashes against
  ``pdqhash.compute_dihedral`` at full resolution; the fast path's own plain-hash budget.
* ``CROSS_IMPLEMENTATION_LIMIT`` (10 bits): the PDQ README's agreement limit between implementations,
  for the C++/Java hashes of the rotated files against Haven's dihedral hashes of the original.
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
from functools import cache
from pathlib import Path

import numpy as np
import pdqhash
import pytest
from PIL import Image
from sqlalchemy import select

from haven.analyze import analyze_bytes
from haven.cases import create_case
from haven.matching.dihedral import match_pdq_dihedral
from haven.matching.run import match_case
from haven.results import ContentInfo
from haven.settings import AnalysisSettings
from haven.signals import pdq_reduced
from haven.signals.pdq import (
    DEFAULT_THRESHOLD,
    OTHER_DIHEDRAL_NAMES,
    bits_to_hex,
    dihedral_by_name,
    hamming,
    pdq_from_image,
    pdq_input,
)
from haven.store.bulk import insert_ignore
from haven.store.models import Content, Decision, HashEntry, HashSet, Match
from haven.store.writer import content_row
from shared_data import SHARED_DATA

ROOT = SHARED_DATA / "pdq-reference"
DIH = ROOT / "reg-test-input" / "dih"
SETTINGS = AnalysisSettings()
DIHEDRAL_MATCH_LIMIT = 8
FAST_PATH_LIMIT = 4
CROSS_IMPLEMENTATION_LIMIT = 10
# The transform each dih/ file applies to the original, and the hash that undoes it: the file's
# hash for T's inverse comes back to the original (a quarter turn undoes the opposite one).
TRANSFORM_OF = {
    "bridge-2-rotate-90.jpg": "rotate90",
    "bridge-3-rotate-180.jpg": "rotate180",
    "bridge-4-rotate-270.jpg": "rotate270",
    "bridge-5-flipx.jpg": "flipx",
    "bridge-6-flipy.jpg": "flipy",
    "bridge-7-flip-plus-1.jpg": "flipplus1",
    "bridge-8-flip-minus-1.jpg": "flipminus1",
}
INVERSE = {"rotate90": "rotate270", "rotate270": "rotate90"}
UNDOING = {name: INVERSE.get(t, t) for name, t in TRANSFORM_OF.items()}
ORIGINAL = "bridge-1-original.jpg"


@cache
def analysed(path: Path) -> ContentInfo:
    info = analyze_bytes(path.read_bytes(), SETTINGS)
    assert info.pdq is not None and info.pdq_dihedral is not None, (path, info.error)
    return info


def _reference_dihedral(img: Image.Image) -> list[str]:
    bits, _ = pdqhash.compute_dihedral(pdq_input(img))
    return [bits_to_hex(b) for b in bits]


# ---------------------------------------------------------------- hashes at ingest


def test_names_and_order_of_the_stored_hashes() -> None:
    assert OTHER_DIHEDRAL_NAMES == (
        "rotate90",
        "rotate180",
        "rotate270",
        "flipx",
        "flipy",
        "flipplus1",
        "flipminus1",
    )
    hashes = [f"{i:064x}" for i in range(7)]
    assert dihedral_by_name(hashes) == dict(zip(OTHER_DIHEDRAL_NAMES, hashes, strict=True))
    assert dihedral_by_name(",".join(hashes)) == dihedral_by_name(hashes)  # the store's text form
    with pytest.raises(ValueError):
        dihedral_by_name(hashes[:6])


def test_small_pictures_store_pdqhash_dihedral_hashes_exactly() -> None:
    # Below the fast-path size the hashes are pdqhash's own, in the reference's order; the plain
    # hash is unchanged by computing the others.
    path = DIH / ORIGINAL
    info = analysed(path)
    reference = _reference_dihedral(Image.open(path).convert("RGB"))
    assert [info.pdq, *info.pdq_dihedral] == reference
    assert info.pdq == pdq_from_image(Image.open(path).convert("RGB")).hex


def test_vectorised_dihedral_hexes_equal_one_by_one() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        dct = pdq_reduced.dct16((rng.random((64, 64)) * 255).astype(np.float32))
        assert pdq_reduced.dihedral_hexes(dct) == [pdq_reduced.dct_to_hex(d) for d in pdq_reduced.dihedral_dcts(dct)]


def test_fast_path_derives_dihedral_hashes_close_to_full_resolution() -> None:
    # 4032x3024 phone photos: draft-decoded at 1/4 and the 8 hashes derived from one reduced DCT.
    for path in sorted((ROOT / "reg-test-input" / "exif-rotn").glob("*.jpg")):
        info = analysed(path)
        reference = _reference_dihedral(Image.open(path).convert("RGB"))
        distances = [hamming(ours, ref) for ours, ref in zip([info.pdq, *info.pdq_dihedral], reference, strict=True)]
        assert max(distances) <= FAST_PATH_LIMIT, (path.name, distances)


def test_dihedral_hashes_of_the_original_agree_with_reference_hashes_of_the_rotated_files() -> None:
    # The C++ and Java reference tools hashed each rotated file; Haven derives those from bridge-1.
    ours = dihedral_by_name(analysed(DIH / ORIGINAL).pdq_dihedral or [])
    compared = []
    with (ROOT / "expected-hashes.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            name = Path(row["file"]).name
            if name in TRANSFORM_OF and row["implementation"].startswith(("C++", "Java")):
                compared.append((hamming(ours[TRANSFORM_OF[name]], row["expected_pdq_hex"]), name))
    assert len(compared) == 15  # 7 files x (C++, Java tool), plus Java ImageIO's rotate-90
    assert max(compared)[0] <= CROSS_IMPLEMENTATION_LIMIT, compared


def test_transposition_of_a_square_picture_equals_pythreatexchange_rotated_copy() -> None:
    # pytx's rotation rows hash re-encoded transformed copies of LA.png (256x256). Transposing a
    # square picture maps PDQ's sampling grid onto itself, so that one derived hash is exact. The
    # flips and rotations move the grid by one pixel, which on this pixel-sharp synthetic image
    # changes 60-90 bits: not comparable, so not asserted (the photo checks above cover them).
    info = analysed(ROOT / "pytx-resources" / "LA.png")
    with (ROOT / "expected-hashes.csv").open(newline="") as fh:
        rows = {r["variant"]: r["expected_pdq_hex"] for r in csv.DictReader(fh) if r["file"].endswith("LA.png")}
    assert dihedral_by_name(info.pdq_dihedral or [])["flipplus1"] == rows["FLIPPLUS1"]


def test_rotated_files_are_far_by_plain_pdq_and_close_by_their_undoing_hash() -> None:
    original = analysed(DIH / ORIGINAL).pdq
    assert original is not None
    for name, undo in UNDOING.items():
        copy = analysed(DIH / name)
        assert copy.pdq is not None
        assert hamming(copy.pdq, original) > DEFAULT_THRESHOLD, name  # README: 104-128 bits
        by_name = dihedral_by_name(copy.pdq_dihedral or [])
        assert hamming(by_name[undo], original) <= DIHEDRAL_MATCH_LIMIT, name
        others = [hamming(h, original) for n, h in by_name.items() if n != undo]
        assert min(others) > DEFAULT_THRESHOLD, name  # only the right transform comes back


# ---------------------------------------------------------------- matching


def _flip(hex_hash: str, bits: int, seed: int) -> str:
    value = int(hex_hash, 16)
    for bit in random.Random(seed).sample(range(256), bits):
        value ^= 1 << bit
    return f"{value:064x}"


def _known_set(session, name: str, entries: list[dict]) -> HashSet:
    hash_set = HashSet(name=name, kind="known", format="pdq", file_sha256=(name * 64)[:64], imported_by="t")
    session.add(hash_set)
    session.flush()
    session.add_all(HashEntry(set_id=hash_set.id, **e) for e in entries)
    session.flush()
    return hash_set


def _synthetic_content(case_id: int, name: str, pdq: str, dihedral: list[str], quality: int = 90) -> dict:
    info = ContentInfo(sha256=hashlib.sha256(name.encode()).hexdigest(), md5="0" * 32, sha1="0" * 40, size=1)
    info.kind, info.pdq, info.pdq_quality, info.pdq_dihedral = "image", pdq, quality, dihedral
    return content_row(case_id, info)


def test_distance_is_the_nearest_of_seven_and_the_threshold_inclusive(store) -> None:
    known = "f8f8f0cce0f4e84d0e370a22028f67f0b36e2ed596623e1d33e6339c4e9c9b22"
    far = _flip(known, 128, seed=99)
    fillers = [_flip(far, 10, seed=s) for s in range(7)]  # ~120+ bits from the known hash
    cases = {
        "two-hits": (far, [_flip(known, 31, 1), *fillers[1:4], _flip(known, 20, 2), *fillers[5:]], 90),
        "at-32": (far, [*fillers[:6], _flip(known, 32, 3)], 90),
        "low-quality": (far, [_flip(known, 3, 4), *fillers[1:]], 49),
        "straight-too": (_flip(known, 5, 5), [_flip(known, 9, 6), *fillers[1:]], 90),
    }
    with store.session() as session:
        case, _ = create_case(session, "C1", user="t")
        hash_set = _known_set(session, "known-pdq", [{"pdq": known, "category": "1"}])
        rows = [_synthetic_content(case.id, n, p, d, q) for n, (p, d, q) in cases.items()]
        insert_ignore(session, Content, rows, ("case_id", "sha256"))
        ids = {
            n: session.scalar(select(Content.id).where(Content.sha256 == r["sha256"]))
            for n, r in zip(cases, rows, strict=True)
        }
        entry_id = session.scalar(select(HashEntry.id).where(HashEntry.set_id == hash_set.id))
        # The straight match match_pdq would have made; dihedral must not duplicate it.
        session.add(
            Match(content_id=ids["straight-too"], entry_id=entry_id, set_id=hash_set.id, method="pdq", distance=5)
        )
        session.flush()
        added = match_pdq_dihedral(session, case.id, threshold=31, min_quality=50)
        found = session.execute(
            select(Match.content_id, Match.set_id, Match.distance).where(Match.method == "pdq-dihedral")
        )
        assert added == 1
        assert found.all() == [(ids["two-hits"], hash_set.id, 20)]
        assert match_pdq_dihedral(session, case.id, threshold=31, min_quality=50) == 0  # re-runnable
        assert match_pdq_dihedral(session, case.id, threshold=32, min_quality=50) == 1  # at-32 joins
        assert match_pdq_dihedral(session, case.id, threshold=31, min_quality=40) == 1  # low-quality joins


def _jpeg(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


def test_mirrored_and_rotated_copies_of_known_pictures_are_near_known(store, tmp_path: Path) -> None:
    bridge = DIH / ORIGINAL
    phone = ROOT / "reg-test-input" / "exif-rotn" / "exif-rotn-1.jpg"
    # A mirrored copy of a large photo goes through the 12-MP fast path.
    mirrored_phone = analyze_bytes(_jpeg(Image.open(phone).transpose(Image.Transpose.FLIP_LEFT_RIGHT)), SETTINGS)
    contents = {
        "bridge-original": analysed(bridge),
        "bridge-mirrored": analysed(DIH / "bridge-6-flipy.jpg"),
        "bridge-rotated": analysed(DIH / "bridge-2-rotate-90.jpg"),
        "phone-mirrored": mirrored_phone,
        "unrelated": analysed(ROOT / "reg-test-input" / "labelme-subset" / "q1050.jpg"),
    }
    with store.session() as session:
        case, _ = create_case(session, "C1", user="t")
        _known_set(
            session,
            "known-pdq",
            [{"pdq": analysed(bridge).pdq, "category": "1"}, {"pdq": analysed(phone).pdq, "category": "2"}],
        )
        rows = [content_row(case.id, info) for info in contents.values()]
        insert_ignore(session, Content, rows, ("case_id", "sha256"))
    # With an index folder, as the CLI runs it: dihedral matching loads the index match_pdq saved.
    indexes = tmp_path / "indexes"
    summary = match_case(store, "C1", user="t", index_dir=indexes)
    with store.session() as session:
        by_name = {
            name: session.scalar(select(Content).where(Content.sha256 == info.sha256))
            for name, info in contents.items()
        }
        methods = {
            name: sorted(session.scalars(select(Match.method).where(Match.content_id == c.id)))
            for name, c in by_name.items()
        }
        status = {name: c.status for name, c in by_name.items()}
        categories = {
            name: session.scalar(select(Decision.category).where(Decision.content_id == c.id))
            for name, c in by_name.items()
        }
        dihedral_rows = session.execute(select(Match.content_id, Match.distance).where(Match.method == "pdq-dihedral"))
        distances = {content_id: distance for content_id, distance in dihedral_rows}
    assert status == {
        "bridge-original": "near-known",
        "bridge-mirrored": "near-known",
        "bridge-rotated": "near-known",
        "phone-mirrored": "near-known",
        "unrelated": "unknown",
    }
    assert methods == {
        "bridge-original": ["pdq"],  # a straight match: no dihedral row on top
        "bridge-mirrored": ["pdq-dihedral"],
        "bridge-rotated": ["pdq-dihedral"],
        "phone-mirrored": ["pdq-dihedral"],
        "unrelated": [],
    }
    assert categories["phone-mirrored"] == "2" and categories["bridge-mirrored"] == "1"
    assert summary.dihedral_matches_added == 3 and summary.pdq_matches_added == 1
    assert distances[by_name["phone-mirrored"].id] <= FAST_PATH_LIMIT
    assert max(distances.values()) <= DIHEDRAL_MATCH_LIMIT
    assert match_case(store, "C1", user="t", index_dir=indexes).dihedral_matches_added == 0
    assert len(list(indexes.glob("pdq-*"))) == 1
