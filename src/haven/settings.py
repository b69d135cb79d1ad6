"""Analysis settings: everything per-item work depends on besides the bytes themselves.

Kept a frozen, picklable dataclass so that per-item analysis is a pure function of
(bytes, settings) and can run in a process pool today or on a cluster later.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ArchiveLimits:
    """Guards against zip bombs and hostile containers."""

    max_depth: int = 6
    """Nested containers deeper than this are recorded as an error, not opened."""
    max_ratio: float = 200.0
    """Largest allowed expansion ratio of one member (uncompressed / compressed)."""
    max_member_bytes: int = 4 * 1024**3
    """Largest single member read out of an archive."""
    max_total_bytes: int = 16 * 1024**3
    """Largest total expanded size of one top-level archive, nested members included."""
    max_entries: int = 1_000_000
    """Largest number of entries read out of one top-level archive."""
    min_ratio_check_bytes: int = 1024 * 1024
    """The ratio rule only applies past this many expanded bytes (tiny files compress well)."""


@dataclass(frozen=True)
class AnalysisSettings:
    """Settings for per-item analysis. Changing them changes the analysis, so they are recorded."""

    thumbnail_px: int = 160
    """Longest side of the stored thumbnail."""
    thumbnail_blur_radius: float = 6.0
    """Gaussian blur applied before the thumbnail is stored: no stored preview is ever sharp."""
    pdq_decode_min_px: int = 512
    """JPEG draft decoding keeps at least this many pixels on the shorter side for PDQ."""
    max_image_pixels: int = 250_000_000
    """Images that declare more pixels than this are refused as decompression bombs."""
    max_image_side: int = 40_000
    """Images wider or taller than this are refused as decompression bombs."""
    in_memory_bytes: int = 256 * 1024**2
    """Files up to this size are read whole into memory; larger ones are streamed."""
    entropy_sample_bytes: int = 4 * 1024**2
    """Bytes sampled (start, middle, end) for the encrypted-container test."""
    video_frames_per_second: float = 1.0
    """Video frames PDQ-hashed per second (vPDQ's 1 / seconds_per_hash); 0 hashes every frame."""
    video_max_frames: int = 3600
    """Most frames hashed per video; longer videos are sampled more sparsely so the cap spans them whole."""
    scratch_dir: str | None = None
    """Where members too large for memory are spooled (inside the case store, never the evidence)."""
    archives: ArchiveLimits = field(default_factory=ArchiveLimits)
