"""Haven's PDQ against Meta's published test vectors (../shared/data/pdq-reference).

Each row of expected-hashes.csv comes from one implementation and decoder; the tolerance follows
what that source can promise about *Haven*:

* python-threatexchange (PyPI pdqhash + Pillow) is Haven's own stack. Its images are all below
  the draft threshold (shorter side < 2 x pdq_decode_min_px), so Haven decodes them at full
  resolution in colour exactly as pytx does: the hash and quality must be identical (asserted,
  together with "no draft was used", so a settings change cannot silently void the reasoning).
* C++ (CImg), Java, WASM (browser decoder), Java ImageIO use other JPEG decoders and resamplers.
  The PDQ README calls an implementation correct when hashes of quality >= 80 are within 10 bits
  of the C++ reference; that is asserted for those rows. Lower-quality rows are only reported.
* The pure-Python reference (Pillow decoder, own float pipeline): its own test allows 16 bits.
* pytx CLI rotation rows hash re-encoded rotated copies: the rotated pixels must hash exactly;
  Haven's one-DCT dihedral hashes are reported against them but not asserted (on this 256-px,
  aliasing-heavy synthetic image they differ by 60+ bits; see the bridge dihedral check instead).
* Unletterbox rows need pytx's unletterbox preprocessing, which Haven does not do: skipped.

Run with ``-s`` to see the per-row table.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from PIL import Image

from haven.analyze import analyze_bytes
from haven.media.decode import decode_image
from haven.settings import AnalysisSettings
from haven.signals.pdq import hamming, pdq_dihedral_from_image, pdq_from_image
from shared_data import SHARED_DATA

ROOT = SHARED_DATA / "pdq-reference"
SETTINGS = AnalysisSettings()
CROSS_IMPLEMENTATION_LIMIT = 10
PURE_PYTHON_LIMIT = 16
# PDQ's dihedral names -> the Pillow transposition of the content each stands for (pytx uses
# the same names for its rotated copies: ROTATE90 is Pillow's counter-clockwise ROTATE_90).
PILLOW_OF = {
    "ROTATE90": Image.Transpose.ROTATE_90,
    "ROTATE180": Image.Transpose.ROTATE_180,
    "ROTATE270": Image.Transpose.ROTATE_270,
    "FLIPX": Image.Transpose.FLIP_TOP_BOTTOM,
    "FLIPY": Image.Transpose.FLIP_LEFT_RIGHT,
    "FLIPPLUS1": Image.Transpose.TRANSPOSE,
    "FLIPMINUS1": Image.Transpose.TRANSVERSE,
}
BRIDGE_DIHEDRAL = {
    "bridge-1-original.jpg": "original",
    "bridge-2-rotate-90.jpg": "rotate90",
    "bridge-3-rotate-180.jpg": "rotate180",
    "bridge-4-rotate-270.jpg": "rotate270",
    "bridge-5-flipx.jpg": "flipx",
    "bridge-6-flipy.jpg": "flipy",
    "bridge-7-flip-plus-1.jpg": "flipplus1",
    "bridge-8-flip-minus-1.jpg": "flipminus1",
}


@dataclass(frozen=True)
class Row:
    file: str
    variant: str
    expected: str
    expected_quality: int | None
    implementation: str

    @property
    def is_pytx(self) -> bool:
        return self.implementation.startswith("python-threatexchange")

    @property
    def is_original(self) -> bool:
        return self.variant.lower().startswith("original")


@dataclass(frozen=True)
class Haven:
    pdq: str
    quality: int
    scale: int
    dihedral: dict[str, str]


def _rows() -> list[Row]:
    with (ROOT / "expected-hashes.csv").open(newline="") as fh:
        return [
            Row(
                r["file"],
                r["variant"],
                r["expected_pdq_hex"],
                int(q) if (q := r["expected_quality"]) else None,
                r["implementation"],
            )
            for r in csv.DictReader(fh)
        ]


ROWS = _rows()


@cache
def haven(file: str) -> Haven:
    data = (ROOT / file).read_bytes()
    info = analyze_bytes(data, SETTINGS)
    assert info.pdq is not None and info.pdq_quality is not None, (file, info.error)
    decoded = decode_image(data, SETTINGS)
    dihedral, _ = pdq_dihedral_from_image(decoded.image)
    return Haven(info.pdq, info.pdq_quality, decoded.scale, dihedral)


def _table(title: str, header: str, lines: Sequence[Sequence[object]]) -> str:
    text = "\n".join("  " + " | ".join(str(x) for x in line) for line in lines)
    report = f"{title} ({header})\n{text}"
    print(report)
    return report


def test_python_threatexchange_rows_are_identical() -> None:
    lines, bad = [], []
    for row in ROWS:
        if not (row.is_pytx and row.is_original):
            continue
        ours = haven(row.file)
        dist = hamming(ours.pdq, row.expected)
        lines.append((dist, 0, ours.quality, row.implementation[:40], row.variant[:24], row.file))
        quality_ok = row.expected_quality is None or row.expected_quality == ours.quality
        if dist or not quality_ok or ours.scale != 1:
            bad.append(row.file)
    report = _table("python-threatexchange rows", "distance | limit | quality | implementation | variant | file", lines)
    assert len(lines) >= 4
    assert not bad, report


def test_other_implementations_within_10_bits_at_quality_80() -> None:
    lines, bad = [], []
    for row in ROWS:
        if row.is_pytx or not row.is_original or row.implementation.startswith("pure-Python"):
            continue
        ours = haven(row.file)
        dist = hamming(ours.pdq, row.expected)
        limit = CROSS_IMPLEMENTATION_LIMIT if ours.quality >= 80 else "report"
        lines.append((dist, limit, ours.quality, row.implementation[:40], row.variant, row.file))
        if isinstance(limit, int) and dist > limit:
            bad.append(row)
    report = _table("C++/Java/WASM rows", "distance | limit | quality | implementation | variant | file", lines)
    assert sum(isinstance(line[1], int) for line in lines) >= 40  # the check really ran
    assert not bad, report


def test_pure_python_rows_within_its_own_tolerance() -> None:
    lines = []
    for row in ROWS:
        if row.implementation.startswith("pure-Python"):
            ours = haven(row.file)
            lines.append((hamming(ours.pdq, row.expected), PURE_PYTHON_LIMIT, ours.quality, "pure-Python", row.file))
    report = _table("pure-Python rows", "distance | limit | quality | implementation | file", lines)
    assert len(lines) == 31
    assert all(line[0] <= PURE_PYTHON_LIMIT for line in lines), report


def test_large_exif_rotated_photos_use_the_draft_and_ignore_orientation() -> None:
    # 4032x3024 phone photos take the fast path (1/4 DCT-scaled luma decode, full-resolution PDQ
    # recovered from it) and must still land within the cross-implementation limit of the C++
    # reference, which, like Haven, ignores EXIF rotation.
    rows = [r for r in ROWS if "exif-rotn" in r.file and r.implementation.startswith("C++")]
    assert len(rows) == 3
    for row in rows:
        ours = haven(row.file)
        assert ours.scale == 4
        assert hamming(ours.pdq, row.expected) <= CROSS_IMPLEMENTATION_LIMIT, row.file


def test_pytx_rotation_rows() -> None:
    lines, bad = [], []
    for row in ROWS:
        if not (row.is_pytx and row.variant in PILLOW_OF):
            continue
        img = Image.open(io.BytesIO((ROOT / row.file).read_bytes())).convert("RGB")
        pixel = hamming(pdq_from_image(img.transpose(PILLOW_OF[row.variant])).hex, row.expected)
        one_dct = hamming(haven(row.file).dihedral[row.variant.lower()], row.expected)
        lines.append((pixel, 0, f"one-DCT dihedral distance {one_dct} (not asserted)", row.variant, row.file))
        if pixel:
            bad.append(row.variant)
    report = _table("pytx rotated copies", "rotated-pixels distance | limit | note | variant | file", lines)
    assert len(lines) == 7
    assert not bad, report


def test_bridge_dihedral_hashes_match_reference_hashes_of_rotated_files() -> None:
    # The reference hashed eight rotated/flipped files; Haven derives all eight from bridge-1.
    ours = haven("reg-test-input/dih/bridge-1-original.jpg").dihedral
    lines = []
    for row in ROWS:
        name = Path(row.file).name
        if "/dih/" in row.file and row.is_original and not row.is_pytx and name in BRIDGE_DIHEDRAL:
            limit = PURE_PYTHON_LIMIT if row.implementation.startswith("pure-Python") else CROSS_IMPLEMENTATION_LIMIT
            lines.append((hamming(ours[BRIDGE_DIHEDRAL[name]], row.expected), limit, row.implementation[:40], name))
    report = _table("bridge dihedral", "distance | limit | implementation | file", lines)
    assert len(lines) >= 24
    assert all(line[0] <= line[1] for line in lines), report


def test_unletterbox_rows_are_not_applicable() -> None:
    rows = [r for r in ROWS if "unletterbox" in r.variant]
    assert len(rows) == 2
    pytest.skip("unletterbox preprocessing is not part of Haven's PDQ (2 rows left out)")


def test_every_row_is_covered() -> None:
    # A new implementation or variant in the CSV must get a deliberate policy, not silence.
    known = {"C++", "Java", "pure-Python", "WASM", "python-threatexchange"}
    for row in ROWS:
        assert any(row.implementation.startswith(k) for k in known), row.implementation
        assert row.is_original or row.variant in PILLOW_OF or "unletterbox" in row.variant, row.variant
