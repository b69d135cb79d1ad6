"""The owner fields of a picture's EXIF (who took or owns the camera): Artist, Copyright, ImageDescription,
XPAuthor, XPComment, UserComment, CameraOwnerName. One record ``exif`` per picture: they co-occur."""

from __future__ import annotations

import io
from collections.abc import Iterator

from haven.intel.readers.base import Body, Item, ReaderError, ReadLimits, Record, Segment, hint_for

NAME = "exif"
MIMES = frozenset({"image/jpeg", "image/tiff", "image/png", "image/webp"})
_IFD0 = {0x013B: "Artist", 0x8298: "Copyright", 0x010E: "ImageDescription", 0x9C9D: "XPAuthor", 0x9C9C: "XPComment"}
_EXIF_IFD = 0x8769
_EXIF_TAGS = {0x9286: "UserComment", 0xA430: "CameraOwnerName"}
_USER_COMMENT_CODES = {b"ASCII\x00\x00\x00": "ascii", b"UNICODE\x00": "utf-16", b"JIS\x00\x00\x00\x00\x00": "shift_jis"}


def read(body: Body, limits: ReadLimits) -> Iterator[Item]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(body.whole())) as picture:
            exif = picture.getexif()
            found = {name: exif.get(tag) for tag, name in _IFD0.items()}
            inner = exif.get_ifd(_EXIF_IFD)
            found.update({name: inner.get(tag) for tag, name in _EXIF_TAGS.items()})
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ReaderError(f"unreadable picture metadata: {exc}") from exc
    fields = {name: text for name, value in found.items() if (text := _text(name, value))}
    for name, text in fields.items():
        yield Segment(text, 0, 0, field=f"exif:{name}", record="exif", hint=hint_for(name))
    if fields:
        yield Record("exif", fields)


def _text(name: str, value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        if name == "UserComment":
            code, rest = value[:8], value[8:]
            encoding = _USER_COMMENT_CODES.get(code)
            value = (
                rest.decode(encoding or "latin-1", errors="replace")
                if encoding or code == b"\x00" * 8
                else value.decode("latin-1", errors="replace")
            )
        elif name.startswith("XP"):
            value = value.decode("utf-16-le", errors="replace")
        else:
            value = value.decode("utf-8", errors="replace")
    elif isinstance(value, tuple) and name.startswith("XP"):
        value = bytes(value).decode("utf-16-le", errors="replace")
    text = str(value).replace("\x00", "").strip()
    return text or None
