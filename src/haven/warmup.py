"""Warm the analysis path once in the parent process, before workers are forked.

The first picture a process analyses pays one-off costs: Pillow's plugin registry, libmagic loading
its rule database, the PDQ code paths' first calls. Paid once in the parent, forked workers inherit
the result instead of each paying it again at the start of every ingest.
"""

from __future__ import annotations

import io

from PIL import Image

from haven.analyze import analyze_bytes
from haven.evidence.filetype import sniff
from haven.settings import AnalysisSettings


def warm_up(settings: AnalysisSettings) -> None:
    for side in (64, 1280):  # below and above the size where PDQ switches to the reduced-decode path
        buffer = io.BytesIO()
        Image.linear_gradient("L").resize((side, side)).convert("RGB").save(buffer, "JPEG", quality=80)
        analyze_bytes(buffer.getvalue(), settings)
    sniff(b"\x00haven warm-up: not a known signature")  # loads libmagic's database
