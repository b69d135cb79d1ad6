"""PDQ: Meta's 256-bit perceptual photo hash, computed with the ``pdqhash`` binding of the C++
reference, encoded exactly as python-threatexchange encodes it so hashes from HMA, NCMEC-style
lists and Haven compare bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pdqhash
from PIL import Image

from haven.signals import pdq_reduced
from haven.signals.base import HexDigestSignal

BITS = 256
DEFAULT_THRESHOLD = 31
"""Meta's recommended match distance (python-threatexchange PDQ_CONFIDENT_MATCH_THRESHOLD)."""
QUALITY_FLOOR = 50
"""Below this quality a hash is kept for the record but never matched (flat or tiny images
collide with each other); python-threatexchange uses the same floor."""
DIHEDRAL_NAMES = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flipx",
    "flipy",
    "flipplus1",
    "flipminus1",
)
"""Order of ``pdqhash.compute_dihedral``'s hashes (the C++ reference's order).

Hash ``name`` of a picture P approximates the plain PDQ of P transformed by ``name`` (Pillow's
equivalent in brackets, checked against the reference's rotated bridge files): rotate90/180/270
counter-clockwise (``Transpose.ROTATE_*``), flipx upside down (``FLIP_TOP_BOTTOM``), flipy mirrored
left-right (``FLIP_LEFT_RIGHT``), flipplus1 mirrored about the main diagonal (``TRANSPOSE``),
flipminus1 about the anti-diagonal (``TRANSVERSE``)."""
OTHER_DIHEDRAL_NAMES = DIHEDRAL_NAMES[1:]
"""Names of the 7 non-identity hashes, in the order ``ContentInfo.pdq_dihedral`` and the store's
comma-joined ``Content.pdq_dihedral`` hold them (the identity is the plain ``pdq``)."""


class PdqHash(NamedTuple):
    hex: str
    quality: int


class PdqDihedral(NamedTuple):
    """The plain hash and quality, plus the 7 other dihedral hashes in ``OTHER_DIHEDRAL_NAMES`` order."""

    hex: str
    quality: int
    others: tuple[str, ...]


def dihedral_by_name(others: Sequence[str] | str) -> dict[str, str]:
    """Name -> hash for the 7 stored dihedral hashes (a sequence, or the store's comma-joined text)."""
    hashes = others.split(",") if isinstance(others, str) else list(others)
    return dict(zip(OTHER_DIHEDRAL_NAMES, hashes, strict=True))


def bits_to_hex(bits: np.ndarray) -> str:
    """256 0/1 values, most significant first -> 64 lower-case hex (python-threatexchange's order)."""
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def hex_to_bits(signal: str) -> np.ndarray:
    return np.unpackbits(np.frombuffer(bytes.fromhex(signal), dtype=np.uint8))


def hamming(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def pdq_input(img: Image.Image) -> np.ndarray:
    """Pixels as the (rows, cols, >=3) uint8 array pdqhash reads, without copying when possible.

    pdqhash reads channels 0-2 only, so RGBA/RGBX pass straight through (alpha ignored, as in
    python-threatexchange). Grey images become a zero-copy 3-channel view: luma of (Y, Y, Y) is Y.
    """
    if img.mode in ("RGB", "RGBA", "RGBX"):
        return np.asarray(img)
    if img.mode != "L":
        img = img.convert("RGB")
        return np.asarray(img)
    grey = np.asarray(img)
    return np.broadcast_to(grey[..., np.newaxis], (*grey.shape, 3))


def pdq_from_image(img: Image.Image, full_size: tuple[int, int] | None = None) -> PdqHash:
    """PDQ of ``img``; or, when ``img`` is a copy of a ``full_size`` image reduced by an integer
    factor (JPEG draft decode, ``Image.reduce``), the hash of the full-resolution image."""
    scale = reduction(img.size, full_size)
    if full_size is None or scale == 1:
        bits, quality = pdqhash.compute(pdq_input(img))
        return PdqHash(bits_to_hex(bits), int(quality))
    buffer = pdq_reduced.downsample64(pdq_reduced.luma_float(_pixels(img)), full_size, scale)
    return PdqHash(pdq_reduced.dct_to_hex(pdq_reduced.dct16(buffer)), pdq_reduced.quality(buffer))


def pdq_with_dihedral(img: Image.Image, full_size: tuple[int, int] | None = None) -> PdqDihedral:
    """``pdq_from_image`` plus the 7 other dihedral hashes, all from one DCT.

    Why one DCT is enough: rotating or flipping the 64x64 buffer only transposes the 16x16 DCT
    and negates its odd frequencies, so the eight hashes cost one hash and seven medians. The
    plain hash is the same as ``pdq_from_image``'s (pdqhash's ``compute_dihedral`` runs the same
    pipeline as ``compute`` up to the DCT).
    """
    scale = reduction(img.size, full_size)
    if full_size is None or scale == 1:
        bits, quality = pdqhash.compute_dihedral(pdq_input(img))
        hexes = [bits_to_hex(b) for b in bits]
        return PdqDihedral(hexes[0], int(quality), tuple(hexes[1:]))
    buffer = pdq_reduced.downsample64(pdq_reduced.luma_float(_pixels(img)), full_size, scale)
    hexes = pdq_reduced.dihedral_hexes(pdq_reduced.dct16(buffer))
    return PdqDihedral(hexes[0], pdq_reduced.quality(buffer), tuple(hexes[1:]))


def pdq_dihedral_from_image(img: Image.Image, full_size: tuple[int, int] | None = None) -> tuple[dict[str, str], int]:
    """The eight rotation/flip hashes keyed by ``DIHEDRAL_NAMES``, and the quality."""
    found = pdq_with_dihedral(img, full_size)
    return dict(zip(DIHEDRAL_NAMES, (found.hex, *found.others), strict=True)), found.quality


def reduction(size: tuple[int, int], full_size: tuple[int, int] | None) -> int:
    """The integer factor ``size`` was reduced by from ``full_size`` (sides rounded up)."""
    if full_size is None or full_size == size:
        return 1
    for scale in range(2, 65):
        if size == (-(-full_size[0] // scale), -(-full_size[1] // scale)):
            return scale
    raise ValueError(f"{size} is not an integer reduction of {full_size}")


def _pixels(img: Image.Image) -> np.ndarray:
    return np.asarray(img if img.mode in ("L", "RGB", "RGBA", "RGBX") else img.convert("RGB"))


class PdqSignal(HexDigestSignal):
    """PDQ photo hash. Distance is Hamming over 256 bits; match at <= 31; quality floor 50."""

    name = "pdq"
    content_kinds = frozenset({"image"})
    default_threshold = DEFAULT_THRESHOLD
    hex_len = 64
    quality_floor = QUALITY_FLOOR

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        return hamming(a, b)

    @classmethod
    def compute(cls, data: bytes) -> str | None:
        """Hash of encoded image bytes via Haven's decode path; None if undecodable or low quality."""
        from haven.media.decode import decode_image  # media imports stay out of matching-only use
        from haven.settings import AnalysisSettings

        try:
            decoded = decode_image(data, AnalysisSettings())
        except Exception:
            return None
        found = pdq_from_image(decoded.image, (decoded.width, decoded.height))
        return found.hex if cls.is_matchable(found.quality) else None

    @classmethod
    def is_matchable(cls, quality: int | None) -> bool:
        return quality is not None and quality >= cls.quality_floor
