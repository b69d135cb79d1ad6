"""Video probing with PyAV (FFmpeg): codec, size, duration, and whether the data is all there.

Carved and partly downloaded videos are common in seized media. A probe that only read the
header would call a half-missing file fine, so the probe also decodes the first frame and checks
that packets reach the declared end.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import av

TAIL_SECONDS = 1.0
"""How far before the declared end the truncation check seeks (it only demuxes, never decodes)."""


@dataclass
class VideoInfo:
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    """Seconds, as declared by the container or the video stream."""
    error: str | None = None


def probe_video(source: bytes | str | Path) -> VideoInfo:
    """Describe a video held in memory or on disk. Never raises: problems go to ``error``."""
    import av  # here, not at module level: worker start-up should not pay for FFmpeg

    info = VideoInfo()
    fp = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    try:
        with av.open(fp, mode="r", metadata_errors="ignore") as container:
            _describe(container, info)
    except Exception as exc:
        info.error = info.error or f"cannot read video: {ffmpeg_reason(exc)}"
    return info


def _describe(container: av.container.InputContainer, info: VideoInfo) -> None:
    if not container.streams.video:
        info.error = "no video stream"
        return
    stream = container.streams.video[0]
    ctx = stream.codec_context
    info.codec = ctx.name
    info.width = ctx.width or None
    info.height = ctx.height or None
    info.duration = _duration(container, stream)
    try:
        frame = next(container.decode(stream), None)
    except Exception as exc:
        info.error = f"corrupt video: first frame does not decode: {ffmpeg_reason(exc)}"
        return
    if frame is None:
        info.error = "corrupt video: no decodable frame"
        return
    if info.duration:
        info.error = _truncation(container, stream, info.duration)


def _duration(container: av.container.InputContainer, stream: av.VideoStream) -> float | None:
    if stream.duration and stream.time_base:
        return round(float(stream.duration * stream.time_base), 3)
    if container.duration:
        return round(container.duration / 1_000_000, 3)  # AV_TIME_BASE: microseconds
    return None


def _truncation(container: av.container.InputContainer, stream: av.VideoStream, duration: float) -> str | None:
    """Error text when the packets stop well before the declared duration, else None."""
    time_base = stream.time_base
    if not time_base:
        return None
    # Timestamps may start past zero (MPEG-TS, edited MP4); the duration is a length.
    start = stream.start_time or 0
    try:
        target = start + int(max(0.0, duration - TAIL_SECONDS) / time_base)
        container.seek(target, stream=stream, backward=True)
    except Exception:
        return None  # unseekable formats: nothing to conclude
    end = None
    try:
        for packet in container.demux(stream):
            if packet.pts is not None:
                stop = float((packet.pts - start + (packet.duration or 0)) * time_base)
                end = stop if end is None else max(end, stop)
    except Exception as exc:
        return f"corrupt video: the last second does not read: {ffmpeg_reason(exc)}"
    # Allow for container/stream rounding and a last frame without a duration.
    if end is None:
        return f"truncated video: nothing readable near the declared end ({duration:.2f} s)"
    if end < duration - max(0.5, 0.05 * duration):
        return f"truncated video: data ends at {end:.2f} s of {duration:.2f} s declared"
    return None


def ffmpeg_reason(exc: Exception) -> str:
    # FFmpeg errors carry a clean strerror; their str() adds errno and a '<none>' file name.
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
