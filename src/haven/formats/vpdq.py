"""vPDQ hash files (Meta's vPDQ, ``vpdq-hash-video`` output): a known video, one line per hashed frame.

A line is ``frame_number,quality,pdq_hex,timestamp_seconds``, e.g. ``0,100,e271…055c,0.000``: the four
fields ``vpdq/cpp/io/vpdqio.cpp`` writes and requires when it reads. A file is one video. Files joined
with ``cat`` hold several: vPDQ numbers a video's frames upwards from 0, so a new video starts wherever
the frame number does not increase. Each video becomes one entry (no file hash: the format has none)
with its frames. Frames of every quality are kept, as vPDQ keeps them: the quality floor is applied
when matching.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path

from haven.formats.base import (
    Note,
    ParsedEntry,
    Skipped,
    VideoEntry,
    content_lines,
    is_hex,
    new_entry,
    read_lines,
    shorten,
)

name = "vpdq"

_LINE = re.compile(r"[0-9]+\s*,\s*[0-9]{1,3}\s*,\s*[0-9a-fA-F]{64}\s*,\s*[0-9]+(?:\.[0-9]*)?")
_WHOLE = re.compile(r"[0-9]+").fullmatch  # ASCII digits only: str.isdigit also takes "²"
SNIFF_LINES = 5

Frame = tuple[int, float, str, int]  # frame number, seconds, PDQ hex, quality


def sniff(head: bytes) -> bool:
    lines = content_lines(head, limit=SNIFF_LINES)
    return bool(lines) and all(_LINE.fullmatch(line) for line in lines)


def scheme(head: bytes) -> str | None:
    return None  # a vPDQ file carries no categories


def read(path: Path) -> Iterator[ParsedEntry | VideoEntry | Skipped | Note]:
    frames: list[Frame] = []
    for number, line in read_lines(path):
        parsed = parse_line(line)
        if isinstance(parsed, str):
            yield Skipped(f"line {number}", parsed)
            continue
        if frames and parsed[0] <= frames[-1][0]:
            yield VideoEntry(new_entry(), frames)
            frames = []
        frames.append(parsed)
    if frames:
        yield VideoEntry(new_entry(), frames)


def parse_line(line: str) -> Frame | str:
    """The frame on one line, or why there is none."""
    fields = [field.strip() for field in line.split(",")]
    if len(fields) != 4:
        return f"{shorten(line)} is not frame_number,quality,pdq_hash,timestamp"
    frame, quality, pdq, seconds = fields
    if not _WHOLE(frame):
        return f"frame number {shorten(frame)} is not a whole number"
    if not _WHOLE(quality) or int(quality) > 100:
        return f"quality {shorten(quality)} is not a whole number from 0 to 100"
    pdq = pdq.lower()
    if len(pdq) != 64 or not is_hex(pdq):
        return f"{shorten(pdq)} is not a PDQ hash (64 hex digits)"
    try:
        timestamp = float(seconds)
    except ValueError:
        timestamp = -1.0
    if not math.isfinite(timestamp) or timestamp < 0:
        return f"timestamp {shorten(seconds)} is not a number of seconds"
    return int(frame), timestamp, pdq, int(quality)
