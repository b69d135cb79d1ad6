"""Typing by content: the fast signature path agrees with libmagic, extensions are ignored."""

from __future__ import annotations

import io

import magic
from PIL import Image

from haven.evidence.filetype import _fast_mime, sniff
from shared_data import SHARED_DATA


def _encoded(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 200, 30)).save(buffer, fmt)
    return buffer.getvalue()


def test_fast_signatures_agree_with_libmagic() -> None:
    reference = magic.Magic(mime=True)
    samples = [_encoded(fmt) for fmt in ("JPEG", "PNG", "GIF", "WEBP")]
    samples += [p.read_bytes()[:65536] for p in sorted((SHARED_DATA / "pdq-reference").rglob("*.*"))[:40]]
    checked = 0
    for head in samples:
        fast = _fast_mime(head)
        if fast is not None:
            assert fast == reference.from_buffer(head)
            checked += 1
    assert checked >= 8


def test_kinds() -> None:
    assert sniff(_encoded("PNG")) == ("image/png", "image")
    assert sniff(b"") == ("application/x-empty", "other")
    assert sniff(b"PK\x03\x04" + b"\x00" * 26)[1] in ("archive", "other")
    assert sniff(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")[1] == "document"
