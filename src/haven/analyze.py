"""Per-item analysis: a pure function of (bytes, settings) -> ContentInfo.

Runs inside worker processes. Never raises for bad input: problems become ``error`` and the
cryptographic hashes are always kept, because a file that will not decode can still match a
hash list. One read, one decode: hashes, PDQ, EXIF and the thumbnail share them.
"""

from __future__ import annotations

from pathlib import Path

from PIL import UnidentifiedImageError

from haven.evidence.filetype import sniff
from haven.media.decode import ImageTooLargeError, check_declared_size, decode_opened, open_image
from haven.media.exif import read_exif
from haven.media.thumbnail import make_thumbnail
from haven.media.video import probe_video
from haven.media.video_frames import hash_video_frames
from haven.results import ContentInfo
from haven.settings import AnalysisSettings
from haven.signals.crypto import CryptoHashes, crypto_hashes, hash_stream
from haven.signals.pdq import pdq_with_dihedral

HEAD_BYTES = 65536
"""Bytes given to the content sniffer (libmagic needs far fewer)."""


def analyze_bytes(data: bytes, settings: AnalysisSettings) -> ContentInfo:
    """Hash, type and (for media) decode one content held in memory."""
    info = _content_info(crypto_hashes(data), len(data))
    _describe(info, data[:HEAD_BYTES], data, settings)
    return info


def analyze_file(path: str, settings: AnalysisSettings) -> ContentInfo:
    """Like ``analyze_bytes`` for a file on disk; large files are streamed, never held whole.

    If the file cannot be read at all the hashes are empty strings and ``error`` says why.
    """
    try:
        file = Path(path)
        if file.stat().st_size <= settings.in_memory_bytes:
            return analyze_bytes(file.read_bytes(), settings)
        with file.open("rb", buffering=0) as stream:  # unbuffered: chunks land in our buffer
            hashes, size, head = hash_stream(stream, HEAD_BYTES)
    except OSError as exc:
        return ContentInfo(sha256="", md5="", sha1="", size=0, error=f"cannot read file: {exc}")
    info = _content_info(hashes, size)
    _describe(info, head, path, settings)
    return info


def _content_info(hashes: CryptoHashes, size: int) -> ContentInfo:
    return ContentInfo(sha256=hashes.sha256, md5=hashes.md5, sha1=hashes.sha1, size=size)


def _describe(info: ContentInfo, head: bytes, source: bytes | str, settings: AnalysisSettings) -> None:
    try:
        info.mime, info.kind = sniff(head)
        if info.kind == "image":
            _describe_image(info, source, settings)
        elif info.kind == "video":
            _describe_video(info, source, settings)
    except Exception as exc:  # last resort: a hostile file must not take down the worker
        info.error = info.error or f"analysis failed: {_reason(exc)}"


def _describe_image(info: ContentInfo, source: bytes | str, settings: AnalysisSettings) -> None:
    try:
        img = open_image(source)
    except Exception as exc:
        info.error = f"cannot decode image: {_reason(exc)}"
        return
    with img:
        info.width, info.height = img.size
        try:
            check_declared_size(img, settings)
        except ImageTooLargeError as exc:
            info.error = str(exc)
            return
        try:
            decoded = decode_opened(img, settings)
        except Exception as exc:
            info.error = f"cannot decode image: {_reason(exc)}"
            # A truncated photo's camera and GPS still matter; read them only if already parsed.
            if "exif" in img.info:
                info.exif = read_exif(img)[0]
            return
        # The 7 rotated/flipped hashes come from the same DCT (microseconds), so a mirrored or
        # rotated copy of a known picture can be matched without re-hashing the evidence.
        found = pdq_with_dihedral(decoded.image, (decoded.width, decoded.height))
        info.pdq, info.pdq_quality, info.pdq_dihedral = found.hex, found.quality, list(found.others)
        info.exif, orientation = read_exif(decoded.exif_source)
        info.thumbnail = make_thumbnail(decoded.image, settings, orientation)


def _describe_video(info: ContentInfo, source: bytes | str, settings: AnalysisSettings) -> None:
    video = probe_video(source)
    info.codec, info.width, info.height = video.codec, video.width, video.height
    info.duration, info.error = video.duration, video.error
    if video.codec is None:
        return  # no video stream, or the container does not open: nothing to hash
    # A truncated video keeps the frames hashed before the damage (they can still match); its
    # error stays recorded, the probe's first since it says what is wrong with the file.
    sampled = hash_video_frames(source, settings, video.duration)
    info.frames, info.thumbnail = sampled.frames or None, sampled.sheet
    info.error = info.error or sampled.error


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, UnidentifiedImageError):
        return "unrecognised or unsupported image data"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
