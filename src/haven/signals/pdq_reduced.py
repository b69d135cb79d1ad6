"""PDQ of a full-resolution image, computed from a copy reduced by an integer factor.

Why: PDQ's first step blurs the full-resolution luma with two box filters (Jarosz) and samples
64x64 points; on a 12-MP photo that costs more than decoding. Haven decodes large JPEGs with
libjpeg's DCT scaling (1/2, 1/4, 1/8), whose pixels are, to a close approximation, the means of
``scale`` x ``scale`` blocks of the full image. Both the box filters and the sampling are linear,
so each of the 64x64 samples the reference would compute at full resolution is a fixed weighted
sum of the reduced pixels. This module builds those weights (exactly as the reference's
``box1DFloat`` and ``decimateFloat`` define them, at the *original* dimensions) and applies them
to the reduced image; the DCT, median and quality steps then follow the reference.

Hashing the reduced image directly with pdqhash instead would shift the sampling grid and change
the filter windows: on 12-MP photos that lands 2-10 bits from the full-resolution hash, while
this lands 0-2 bits away, at a tenth of the cost. With ``scale=1`` it reproduces pdqhash bit for
bit on the reference images (tested), which is how the implementation is checked.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

SIDE = 64  # PDQ's downsampled grid
# The reference's 16x64 DCT matrix (frequencies 1..16 of a 64-point DCT-II), in float32 as it is.
_PHASE = np.outer(np.arange(1, 17), 2 * np.arange(SIDE) + 1)
_DCT = (np.sqrt(2.0 / SIDE) * np.cos(np.pi / 2.0 / SIDE * _PHASE)).astype(np.float32)


def jarosz_window(full_len: int) -> int:
    """Box width per pass (reference: computeJaroszFilterWindowSize(old, 64))."""
    return (full_len + 2 * SIDE - 1) // (2 * SIDE)


@lru_cache(maxsize=256)
def sample_band(full_len: int, scale: int, reduced_len: int) -> tuple[np.ndarray, np.ndarray]:
    """(index, weight), each (64, K): sample i = sum_k weight[i, k] * reduced[index[i, k]].

    Reproduces, along one axis of length ``full_len``, two passes of the reference box filter
    (window ``jarosz_window``, truncated and renormalised at the edges) followed by sampling at
    ``int((i + 0.5) * full_len / 64)``, with each full-resolution pixel p read from reduced
    pixel ``p // scale``. Cached: a collection has few distinct image sizes.
    """
    width = jarosz_window(full_len)
    half = (width + 2) // 2
    pos = np.arange(full_len)
    lo = np.maximum(pos - (width - half), 0)  # window of box output p: [lo[p], hi[p]]
    hi = np.minimum(pos + half - 1, full_len - 1)
    centers = ((np.arange(SIDE) + 0.5) * full_len / SIDE).astype(np.int64)
    # Second pass at each center averages first-pass outputs j in its window...
    j = lo[centers, None] + np.arange(width)[None, :]
    valid = j <= hi[centers, None]
    j = np.minimum(j, full_len - 1)
    outer = valid / (hi[centers] - lo[centers] + 1)[:, None]
    # ...each of which averages full-resolution pixels [lo[j], hi[j]]: accumulate as steps.
    share = outer / (hi[j] - lo[j] + 1)
    steps = np.zeros((SIDE, full_len + 1))
    rows = np.broadcast_to(np.arange(SIDE)[:, None], j.shape)
    np.add.at(steps, (rows, lo[j]), share)
    np.add.at(steps, (rows, hi[j] + 1), -share)
    on_full = np.cumsum(steps[:, :full_len], axis=1)
    # Fold full-resolution pixels onto the reduced pixel that holds them.
    padded = np.zeros((SIDE, reduced_len * scale))
    padded[:, :full_len] = on_full
    folded = padded.reshape(SIDE, reduced_len, scale).sum(axis=2)
    folded[np.abs(folded) < 1e-12] = 0.0  # cumsum leaves dust outside the support
    nonzero = folded != 0
    first = nonzero.argmax(axis=1)
    last = reduced_len - 1 - nonzero[:, ::-1].argmax(axis=1)
    span = int((last - first).max()) + 1
    index = first[:, None] + np.arange(span)[None, :]
    inside = index <= last[:, None]
    index = np.minimum(index, reduced_len - 1)
    weight = np.where(inside, np.take_along_axis(folded, index, axis=1), 0.0).astype(np.float32)
    index.flags.writeable = weight.flags.writeable = False  # shared through the cache
    return index, weight


def luma_float(pixels: np.ndarray) -> np.ndarray:
    """Float32 luma: grey as is, colour with the reference's 0.299/0.587/0.114 weights."""
    if pixels.ndim == 2:
        return pixels.astype(np.float32)
    # float64 then float32, as pdqhash does, so scale=1 agrees with it bit for bit.
    return (pixels[..., 0] * 0.299 + pixels[..., 1] * 0.587 + pixels[..., 2] * 0.114).astype(np.float32)


def downsample64(luma: np.ndarray, full_size: tuple[int, int], scale: int) -> np.ndarray:
    """The reference's 64x64 buffer of the full-resolution image, from its reduced luma."""
    full_w, full_h = full_size
    rows, row_w = sample_band(full_h, scale, luma.shape[0])
    cols, col_w = sample_band(full_w, scale, luma.shape[1])
    along_rows = np.einsum("ik,ikw->iw", row_w, luma[rows])
    buffer: np.ndarray = np.einsum("jk,ijk->ij", col_w, along_rows[:, cols])
    return buffer


def dct16(buffer64: np.ndarray) -> np.ndarray:
    dct: np.ndarray = _DCT @ buffer64.astype(np.float32) @ _DCT.T
    return dct


def quality(buffer64: np.ndarray) -> int:
    """The reference's gradient-count quality (0-100), with its integer truncations."""
    down = np.trunc((buffer64[:-1, :] - buffer64[1:, :]) * np.float32(100) / np.float32(255))
    across = np.trunc((buffer64[:, :-1] - buffer64[:, 1:]) * np.float32(100) / np.float32(255))
    total = int(np.abs(down).sum()) + int(np.abs(across).sum())
    return min(total // 90, 100)


def dct_to_hex(dct: np.ndarray) -> str:
    """Bit k (k = 16*row + col) is set when above the median; hex shows bit 255 first."""
    flat = dct.reshape(-1)
    median = np.partition(flat, 127)[127]  # Torben's median of 256 values is the 128th smallest
    return np.packbits((flat > median)[::-1]).tobytes().hex()


def dihedral_dcts(dct: np.ndarray) -> list[np.ndarray]:
    """The eight rotated/flipped DCTs in ``DIHEDRAL_NAMES`` order (reference dct16OriginalTo*).

    Flipping a 64-point signal negates its odd frequencies; frequencies start at 1, so those are
    the even indices here.
    """
    even = np.where(np.arange(16) % 2 == 0, -1.0, 1.0).astype(np.float32)
    neg_rows, neg_cols = dct * even[:, None], dct * even[None, :]
    both = dct * even[:, None] * even[None, :]
    return [dct, neg_cols.T, both, neg_rows.T, neg_rows, neg_cols, dct.T, both.T]


def dihedral_hexes(dct: np.ndarray) -> list[str]:
    """``dct_to_hex`` of each of the eight ``dihedral_dcts``, bit for bit, in one vectorised pass.

    Why not eight ``dct_to_hex`` calls: the medians and bit packing then run once over an (8, 256)
    stack instead of eight times, which keeps the dihedral hashes at a few microseconds per image.
    """
    flat = np.stack(dihedral_dcts(dct)).reshape(8, -1)
    median = np.partition(flat, 127, axis=1)[:, 127:128]
    packed = np.packbits((flat > median)[:, ::-1], axis=1)
    return [row.tobytes().hex() for row in packed]
