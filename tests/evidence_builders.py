"""Builders of synthetic evidence for tests: real archives and hostile files, built in tmp_path.

Everything here is synthetic (random bytes, gradients, short texts): no real material.
Builders return bytes (``*_bytes``) or write a file and return its Path (``write_*``).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import random
import socket
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

Members = Mapping[str, bytes] | Iterable[tuple[str, bytes]]

# --- plain content --------------------------------------------------------------------


def random_bytes(size: int, seed: int = 0) -> bytes:
    """Deterministic random bytes (stand-in for encrypted volumes)."""
    return random.Random(seed).randbytes(size)


def png_bytes(width: int = 64, height: int = 48, seed: int = 0) -> bytes:
    """A small synthetic PNG: a colour gradient with a seeded block pattern."""
    from PIL import Image

    rng = random.Random(seed)
    img = Image.new("RGB", (width, height))
    img.putdata(
        [
            ((x * 255) // width, (y * 255) // height, rng.randrange(256) if (x // 8 + y // 8) % 2 else 0)
            for y in range(height)
            for x in range(width)
        ]
    )
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(width: int = 64, height: int = 48, seed: int = 0) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.open(io.BytesIO(png_bytes(width, height, seed))).save(out, format="JPEG", quality=85)
    return out.getvalue()


def text_bytes(lines: int = 2000, seed: int = 0) -> bytes:
    """Compressible, text-like bytes."""
    rng = random.Random(seed)
    words = ["case", "exhibit", "report", "device", "folder", "image", "note", "date", "time", "ref"]
    picked = rng.choices(words, k=12 * lines)
    return "\n".join(" ".join(picked[i : i + 12]) for i in range(0, len(picked), 12)).encode()


# --- archives -------------------------------------------------------------------------


def _items(members: Members) -> list[tuple[str, bytes]]:
    return list(members.items()) if isinstance(members, Mapping) else list(members)


def zip_bytes(members: Members, *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip; names are stored verbatim (so '../x' and '/abs/x' stay hostile)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as zf:
        for name, data in _items(members):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 2, 3, 4, 6))
            info.compress_type = compression
            zf.writestr(info, data)
    return out.getvalue()


def tar_bytes(
    members: Members,
    *,
    compression: str = "",
    symlinks: Mapping[str, str] | None = None,
    hardlinks: Mapping[str, str] | None = None,
) -> bytes:
    """A tar, optionally compressed ('gz', 'bz2', 'xz'), with optional link entries."""
    out = io.BytesIO()
    mode = f"w:{compression}" if compression else "w"
    with tarfile.open(fileobj=out, mode=mode) as tf:  # type: ignore[call-overload]
        for name, data in _items(members):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_600_000_000
            tf.addfile(info, io.BytesIO(data))
        for kind, links in ((tarfile.SYMTYPE, symlinks), (tarfile.LNKTYPE, hardlinks)):
            for name, target in (links or {}).items():
                info = tarfile.TarInfo(name)
                info.type = kind
                info.linkname = target
                tf.addfile(info)
    return out.getvalue()


def gzip_bytes(data: bytes, name: str | None = None) -> bytes:
    """A raw gzip stream (not a tar), optionally recording the original file name."""
    out = io.BytesIO()
    with gzip.GzipFile(filename=name or "", fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(data)
    return out.getvalue()


def sevenzip_bytes(members: Members, *, password: str | None = None, encrypt_headers: bool = False) -> bytes:
    import py7zr

    out = io.BytesIO()
    with py7zr.SevenZipFile(out, "w", password=password, header_encryption=encrypt_headers) as z:
        for name, data in _items(members):
            z.writestr(data, name)
    return out.getvalue()


def nested_zip_bytes(depth: int, leaf_name: str = "leaf.txt", leaf: bytes = b"innermost") -> bytes:
    """zip in zip in zip ...: ``depth`` zips around one leaf (level1.zip holds level2.zip ...)."""
    data, name = leaf, leaf_name
    for level in range(depth, 0, -1):
        data, name = zip_bytes({name: data}), f"level{level}.zip"
    return data


def zip_bomb_bytes(member_size: int, name: str = "zeros.bin") -> bytes:
    """One member of zeros: a ~1000:1 expansion ratio with a truthful header."""
    return zip_bytes({name: bytes(member_size)})


def truncated(data: bytes, keep: float = 0.6) -> bytes:
    return data[: int(len(data) * keep)]


# --- encrypted zips written by hand (no external tools) -------------------------------


@dataclass
class RawZipEntry:
    name: str
    payload: bytes
    """Bytes stored after the local header (already compressed/encrypted)."""
    uncompressed_size: int
    crc: int
    method: int = 0
    flags: int = 0
    extra: bytes = b""


def raw_zip_bytes(entries: Iterable[RawZipEntry]) -> bytes:
    """Assemble a zip from prepared entries: lets tests set any flag or size."""
    local, central = io.BytesIO(), io.BytesIO()
    count = 0
    for e in entries:
        name = e.name.encode()
        offset = local.tell()
        local.write(
            struct.pack(
                "<IHHHHHIIIHH",
                0x04034B50,
                20,
                e.flags,
                e.method,
                0x6000,
                0x5021,
                e.crc,
                len(e.payload),
                e.uncompressed_size,
                len(name),
                len(e.extra),
            )
        )
        local.write(name + e.extra + e.payload)
        central.write(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                e.flags,
                e.method,
                0x6000,
                0x5021,
                e.crc,
                len(e.payload),
                e.uncompressed_size,
                len(name),
                len(e.extra),
                0,
                0,
                0,
                0,
                offset,
            )
        )
        central.write(name + e.extra)
        count += 1
    cd = central.getvalue()
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(cd), local.tell(), 0)
    return local.getvalue() + cd + eocd


def _zipcrypto_stream(password: bytes, plain: bytes, check_byte: int, seed: int) -> bytes:
    """Traditional PKWARE encryption of a 12-byte header + data."""
    keys = [0x12345678, 0x23456789, 0x34567890]

    def crc(value: int, byte: int) -> int:
        return zlib.crc32(bytes([byte]), value ^ 0xFFFFFFFF) ^ 0xFFFFFFFF

    def update(byte: int) -> None:
        keys[0] = crc(keys[0], byte)
        keys[1] = ((keys[1] + (keys[0] & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        keys[2] = crc(keys[2], keys[1] >> 24)

    for b in password:
        update(b)
    header = random.Random(seed).randbytes(11) + bytes([check_byte])
    out = bytearray()
    for b in header + plain:
        temp = (keys[2] | 2) & 0xFFFF
        out.append(b ^ (((temp * (temp ^ 1)) >> 8) & 0xFF))
        update(b)
    return bytes(out)


def zipcrypto_zip_bytes(members: Members, password: str, *, plain: Members = ()) -> bytes:
    """A real ZipCrypto-encrypted zip (stored members); ``plain`` members are not encrypted."""
    entries: list[RawZipEntry] = []
    for name, data in _items(members):
        crc = zlib.crc32(data)
        payload = _zipcrypto_stream(password.encode(), data, crc >> 24, seed=len(entries))
        entries.append(RawZipEntry(name, payload, len(data), crc, flags=0x1))
    for name, data in _items(plain):
        entries.append(RawZipEntry(name, data, len(data), zlib.crc32(data)))
    return raw_zip_bytes(entries)


def aes_flagged_zip_bytes(name: str = "secret.jpg", size: int = 4096) -> bytes:
    """A WinZip-AES (method 99, extra 0x9901) entry; the 'ciphertext' is random bytes."""
    extra = struct.pack("<HHH2sBH", 0x9901, 7, 2, b"AE", 3, 8)
    payload = random_bytes(16 + 2 + size + 10, seed=7)  # salt, verifier, data, auth code
    return raw_zip_bytes([RawZipEntry(name, payload, size, 0, method=99, flags=0x1, extra=extra)])


def rar5_encrypted_headers_bytes() -> bytes:
    """The start of a RAR5 archive made with -hp: signature, then an archive encryption header.

    Hand-made because no rar writer is available; enough for readers to see the encryption.
    """

    def vint(n: int) -> bytes:
        out = bytearray()
        while True:
            out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
            n >>= 7
            if not n:
                return bytes(out)

    # type 4 (encryption), flags 0, version 0 (AES-256), flags 1 (check value), KDF count, salt, check
    body = vint(4) + vint(0) + vint(0) + vint(1) + bytes([15]) + random_bytes(16, seed=5) + random_bytes(12, seed=6)
    header = vint(len(body)) + body
    return b"Rar!\x1a\x07\x01\x00" + zlib.crc32(header).to_bytes(4, "little") + header + random_bytes(256, seed=8)


# --- documents ------------------------------------------------------------------------


def pdf_bytes(*, user_password: str | None = None, owner_password: str | None = None) -> bytes:
    """A one-page blank PDF, encrypted when a password is given."""
    import pypdf

    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=72, height=72)
    if user_password is not None or owner_password is not None:
        writer.encrypt(user_password=user_password or "", owner_password=owner_password, algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_bytes() -> bytes:
    """A minimal OOXML word document."""
    ct = (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'
    )
    doc = (
        '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
        'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>synthetic</w:t></w:r></w:p></w:body></w:document>'
    )
    return zip_bytes(
        {"[Content_Types].xml": ct.encode(), "_rels/.rels": rels.encode(), "word/document.xml": doc.encode()}
    )


def encrypted_docx_bytes(password: str = "pw") -> bytes:
    """OOXML agile encryption (an OLE file holding EncryptedPackage), via msoffcrypto."""
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(docx_bytes())).encrypt(password, out)
    return out.getvalue()


# --- volumes --------------------------------------------------------------------------


def luks_bytes(size: int = 64 * 1024) -> bytes:
    header = b"LUKS\xba\xbe\x00\x02"
    return header + random_bytes(size - len(header), seed=3)


def bitlocker_bytes(size: int = 64 * 1024) -> bytes:
    header = b"\xeb\x58\x90-FVE-FS-"
    return header + bytes(size - len(header))


# --- filesystem oddities --------------------------------------------------------------


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def make_fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def make_socket(path: Path) -> Path:
    """A unix socket file: listed by the filesystem, impossible to open() for reading."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))
    return path


# --- evidence must stay read-only -----------------------------------------------------


@dataclass(frozen=True)
class FileState:
    mode: int
    size: int
    mtime_ns: int
    sha256: str | None
    """Regular files only; fifos and sockets are never opened."""
    link: str | None


def snapshot_tree(root: Path) -> dict[str, FileState]:
    """State of every entry under root (root itself included), links not followed."""
    states: dict[str, FileState] = {}
    paths = [root]
    while paths:
        path = paths.pop()
        st = path.lstat()
        sha = link = None
        if stat.S_ISREG(st.st_mode):
            sha = hashlib.sha256(_read_noatime(path)).hexdigest()
        elif stat.S_ISLNK(st.st_mode):
            link = str(path.readlink())
        elif stat.S_ISDIR(st.st_mode):
            paths.extend(path.iterdir())
        states[str(path.relative_to(root))] = FileState(st.st_mode, st.st_size, st.st_mtime_ns, sha, link)
    return states


def _read_noatime(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOATIME", 0))
    with os.fdopen(fd, "rb") as f:
        return f.read()


def assert_unchanged(root: Path, before: dict[str, FileState]) -> None:
    """Fail with a readable diff when anything under root was written, moved or deleted."""
    after = snapshot_tree(root)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"evidence changed: {changed}"
