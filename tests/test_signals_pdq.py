"""PDQ signal: encoding identical to python-threatexchange, distance, thresholds, dihedrals."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from threatexchange.signal_type.pdq.pdq_hasher import _pdq_from_numpy_array
from threatexchange.signal_type.pdq.signal import PdqSignal as PytxPdqSignal

from haven.signals import pdq_reduced
from haven.signals.pdq import (
    DIHEDRAL_NAMES,
    PdqSignal,
    bits_to_hex,
    hamming,
    hex_to_bits,
    pdq_dihedral_from_image,
    pdq_from_image,
    reduction,
)
from media_builders import jpeg_bytes, synthetic_image
from shared_data import SHARED_DATA


def test_hex_encoding_matches_python_threatexchange() -> None:
    # pytx turns pdqhash's bit vector into hex through a binary string; ours packs bytes.
    # The reference tests depend on the two agreeing bit for bit.
    img = synthetic_image(200, 150, seed=3)
    expected, quality = _pdq_from_numpy_array(np.asarray(img))
    assert pdq_from_image(img) == (expected, quality)
    rng = np.random.default_rng(0)
    for _ in range(50):
        bits = rng.integers(0, 2, 256)
        text = bits_to_hex(bits)
        assert text == f"{int(''.join(map(str, bits)), 2):064x}"
        assert (hex_to_bits(text) == bits).all()


def test_hamming_distance() -> None:
    zero = "0" * 64
    assert hamming(zero, zero) == 0
    assert hamming(zero, "f" * 64) == 256
    assert hamming(zero, "8" + "0" * 62 + "1") == 2
    assert PdqSignal.distance("f" * 64, "f" * 63 + "0") == 4


def test_default_threshold_is_inclusive_31() -> None:
    zero = "0" * 64
    at_31 = f"{(1 << 31) - 1:064x}"
    at_32 = f"{(1 << 32) - 1:064x}"
    assert PdqSignal.default_threshold == 31
    assert PdqSignal.matches(zero, at_31)
    assert not PdqSignal.matches(zero, at_32)
    assert PdqSignal.matches(zero, at_32, threshold=32)


def test_validate() -> None:
    good = "F8F8F0CEE0F4A84F06370A22038F63F0B36E2ED596621E1D33E6B39C4E9C9B22"
    assert PdqSignal.validate(f" {good} ") == good.lower()
    for bad in ("", good[:-1], good + "0", "g" * 64):
        with pytest.raises(ValueError):
            PdqSignal.validate(bad)
    assert PdqSignal.applies_to("image") and not PdqSignal.applies_to("video")


def test_quality_floor_50() -> None:
    assert PdqSignal.quality_floor == 50 == PytxPdqSignal.QUALITY_THRESHOLD
    assert PdqSignal.is_matchable(50) and not PdqSignal.is_matchable(49)
    assert not PdqSignal.is_matchable(None)


def test_compute_from_bytes_refuses_flat_and_undecodable() -> None:
    textured = jpeg_bytes(256, 256, seed=4)
    assert PdqSignal.compute(textured) == pdq_from_image(Image.open(io.BytesIO(textured))).hex
    flat = io.BytesIO()
    Image.new("RGB", (256, 256), (90, 90, 90)).save(flat, "PNG")
    assert PdqSignal.compute(flat.getvalue()) is None  # quality 0: never matched
    assert PdqSignal.compute(b"not an image") is None


def test_modes_hash_like_their_rgb_conversion() -> None:
    rgb = synthetic_image(160, 120, seed=5)
    grey = rgb.convert("L")
    assert pdq_from_image(grey) == pdq_from_image(grey.convert("RGB"))
    rgba = rgb.copy()
    rgba.putalpha(128)
    assert pdq_from_image(rgba) == pdq_from_image(rgb)  # alpha ignored, as in pytx
    palette = rgb.convert("P")
    assert pdq_from_image(palette) == pdq_from_image(palette.convert("RGB"))


# PDQ's dihedral names, as the Pillow transposition of the content each one stands for
# (checked against the reference's rotated bridge files in test_pdq_reference.py).
PILLOW_OF = {
    "original": None,
    "rotate90": Image.Transpose.ROTATE_90,
    "rotate180": Image.Transpose.ROTATE_180,
    "rotate270": Image.Transpose.ROTATE_270,
    "flipx": Image.Transpose.FLIP_TOP_BOTTOM,
    "flipy": Image.Transpose.FLIP_LEFT_RIGHT,
    "flipplus1": Image.Transpose.TRANSPOSE,
    "flipminus1": Image.Transpose.TRANSVERSE,
}


def test_dihedral_hashes_approximate_transformed_copies() -> None:
    # One DCT gives all eight; they approximate hashing each transformed copy. Use a smooth
    # picture: on aliasing-heavy tiny images the approximation is looser (see reference test).
    img = synthetic_image(1024, 768, seed=6).resize((512, 384), Image.Resampling.LANCZOS)
    hashes, quality = pdq_dihedral_from_image(img)
    assert tuple(hashes) == DIHEDRAL_NAMES
    assert quality == pdq_from_image(img).quality
    assert hashes["original"] == pdq_from_image(img).hex
    for name, step in PILLOW_OF.items():
        copy = img if step is None else img.transpose(step)
        own = hamming(hashes[name], pdq_from_image(copy).hex)
        others = min(hamming(h, pdq_from_image(copy).hex) for n, h in hashes.items() if n != name)
        assert own <= 16 < others, (name, own, others)


# ---------------------------------------------------------------- full-resolution PDQ from a reduced copy

REFERENCE_IMAGES = SHARED_DATA / "pdq-reference"


def _scale1(img: Image.Image) -> tuple[str, int, list[str]]:
    pixels = np.asarray(img.convert("RGB"))
    buffer = pdq_reduced.downsample64(pdq_reduced.luma_float(pixels), img.size, 1)
    dct = pdq_reduced.dct16(buffer)
    return (
        pdq_reduced.dct_to_hex(dct),
        pdq_reduced.quality(buffer),
        [pdq_reduced.dct_to_hex(d) for d in pdq_reduced.dihedral_dcts(dct)],
    )


@pytest.mark.parametrize(
    "name",
    [
        "bridge-mods/aaa-orig.jpg",
        "misc-images/c.png",
        "reg-test-input/pen-and-coaster.png",
        "reg-test-input/labelme-subset/q1050.jpg",
        "pytx-resources/rgb.jpeg",
    ],
)
def test_reduced_pipeline_at_scale_1_is_the_reference(name: str) -> None:
    # With nothing reduced, the weights must reproduce pdqhash exactly: that pins the filter
    # windows, edge handling, sampling grid, DCT, median, bit order and quality.
    img = Image.open(REFERENCE_IMAGES / name).convert("RGB")
    text, quality, dihedral = _scale1(img)
    assert (text, quality) == pdq_from_image(img)
    assert dihedral == list(pdq_dihedral_from_image(img)[0].values())


@pytest.mark.parametrize(("size", "seed"), [((640, 480), 1), ((333, 517), 2), ((1500, 64), 3), ((97, 1001), 4)])
def test_reduced_pipeline_at_scale_1_on_odd_sizes(size: tuple[int, int], seed: int) -> None:
    img = synthetic_image(*size, seed=seed)
    text, quality, _ = _scale1(img)
    assert (text, quality) == pdq_from_image(img)


def test_reduction_factor() -> None:
    assert reduction((1000, 750), (4000, 3000)) == 4
    assert reduction((501, 376), (4001, 3001)) == 8  # sides round up, as libjpeg and reduce() do
    assert reduction((640, 480), (640, 480)) == reduction((640, 480), None) == 1
    with pytest.raises(ValueError):
        reduction((1000, 700), (4000, 3000))


@pytest.mark.parametrize(("full_len", "scale"), [(4000, 4), (3000, 4), (1004, 1), (2448, 2), (4001, 8)])
def test_sample_weights_are_averages(full_len: int, scale: int) -> None:
    index, weight = pdq_reduced.sample_band(full_len, scale, -(-full_len // scale))
    assert index.shape == weight.shape == (64, index.shape[1])
    assert np.allclose(weight.sum(axis=1), 1.0, atol=1e-5)
    assert (weight >= 0).all()
    assert index.max() < -(-full_len // scale)


def test_reduced_copy_hashes_like_the_full_image() -> None:
    # The point of the module: from a quarter-size block-averaged copy, the full-size hash.
    full = synthetic_image(1200, 900, seed=8).resize((2400, 1800), Image.Resampling.BICUBIC)
    reduced = full.convert("L").reduce(4)
    reference = pdq_from_image(full)
    assert hamming(pdq_from_image(reduced, full.size).hex, reference.hex) <= 4
    assert pdq_from_image(reduced, full.size).quality == reference.quality
    assert (
        hamming(
            pdq_dihedral_from_image(reduced, full.size)[0]["rotate90"],
            pdq_from_image(full.transpose(Image.Transpose.ROTATE_90)).hex,
        )
        <= 16
    )
