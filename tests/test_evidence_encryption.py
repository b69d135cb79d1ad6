"""Password protection and suspected encrypted containers."""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

import pytest

from evidence_builders import (
    aes_flagged_zip_bytes,
    bitlocker_bytes,
    docx_bytes,
    encrypted_docx_bytes,
    jpeg_bytes,
    luks_bytes,
    pdf_bytes,
    random_bytes,
    rar5_encrypted_headers_bytes,
    sevenzip_bytes,
    text_bytes,
    truncated,
    write,
    zip_bytes,
    zipcrypto_zip_bytes,
)
from haven.evidence.encryption import detect_encryption
from haven.evidence.filetype import sniff


def detect(data: bytes) -> str | None:
    mime, kind = sniff(data)
    return detect_encryption(data, mime, kind)


# --- archives ---------------------------------------------------------------------------


def test_zipcrypto_zip_is_flagged_and_really_encrypted() -> None:
    data = zipcrypto_zip_bytes({"a.jpg": jpeg_bytes()}, "pw", plain={"readme.txt": b"hello"})
    assert zipfile.ZipFile(io.BytesIO(data)).read("a.jpg", pwd=b"pw") == jpeg_bytes()  # a real one
    assert detect(data) == "password-protected zip: 1 of 2 entries encrypted (ZipCrypto)"


def test_aes_zip_is_flagged() -> None:
    assert detect(aes_flagged_zip_bytes()) == "password-protected zip: 1 of 1 entries encrypted (AES)"


def test_truncated_encrypted_zip_is_still_flagged_from_local_headers() -> None:
    data = zipcrypto_zip_bytes({"a.bin": random_bytes(5000), "b.bin": random_bytes(5000, 1)}, "pw")
    reason = detect(truncated(data, 0.7))  # the central directory is gone
    assert reason is not None and reason.startswith("password-protected zip")


def test_plain_zip_and_docx_are_not_flagged() -> None:
    assert detect(zip_bytes({"a.txt": b"hello"})) is None
    assert detect(docx_bytes()) is None


def test_encrypted_7z() -> None:
    assert detect(sevenzip_bytes({"a.txt": b"x"}, password="pw")) == "password-protected 7z (AES-256)"
    assert detect(sevenzip_bytes({"a.txt": b"x"}, password="pw", encrypt_headers=True)) == (
        "7z with encrypted headers (password required to list)"
    )
    assert detect(sevenzip_bytes({"a.txt": b"x"})) is None


def test_rar_with_encrypted_headers() -> None:
    assert detect(rar5_encrypted_headers_bytes()) == "rar with encrypted headers (password required to list)"


# --- documents --------------------------------------------------------------------------


def test_encrypted_pdf() -> None:
    assert detect(pdf_bytes(user_password="u", owner_password="o")) == "encrypted PDF (password required to open)"
    assert detect(pdf_bytes(owner_password="o")) == (
        "encrypted PDF (owner password only: opens without a password, restricted)"
    )
    assert detect(pdf_bytes()) is None


def test_encrypted_office_document() -> None:
    assert detect(encrypted_docx_bytes()) == "encrypted Office document (password required)"


# --- volumes and unknown data -----------------------------------------------------------


def test_named_volume_headers() -> None:
    assert detect(luks_bytes()) == "LUKS encrypted volume (version 2)"
    assert detect(bitlocker_bytes()) == "BitLocker encrypted volume"


def test_random_data_sized_like_a_volume_is_suspected() -> None:
    reason = detect(random_bytes(512 * 2048))
    assert reason is not None
    assert reason.startswith("suspected encrypted container: entropy 7.99")
    assert reason.endswith("(uniform), size multiple of 512, no known header")


def test_random_data_of_odd_size_is_not_suspected() -> None:
    assert detect(random_bytes(512 * 2048 + 1)) is None


def test_small_random_data_is_not_suspected() -> None:
    assert detect(random_bytes(512 * 8)) is None


def test_compressed_data_fails_the_chi_square_test() -> None:
    deflated = zlib.compress(text_bytes(10_000), 9)[2:]  # raw deflate: no header to recognise
    deflated = deflated[: len(deflated) // 512 * 512]
    assert len(deflated) >= 64 * 1024
    assert detect(deflated) is None
    assert detect(zlib.compress(text_bytes(10_000))) is None


def test_too_regular_data_is_not_suspected() -> None:
    # Every byte value equally often: entropy 8.0, but far too uniform to be random.
    counter = bytes(range(256)) * 4096
    assert detect_encryption(counter, "application/octet-stream", "other") is None


def test_images_and_documents_skip_the_entropy_test() -> None:
    data = random_bytes(512 * 2048)
    assert detect_encryption(data, "image/jpeg", "image") is None
    assert detect_encryption(data, "text/plain", "document") is None


def test_big_files_are_checked_by_path(tmp_path: Path) -> None:
    volume = write(tmp_path / "volume.hc", random_bytes(512 * 4096))
    reason = detect_encryption(str(volume), "application/octet-stream", "other", sample_bytes=256 * 1024)
    assert reason is not None and reason.startswith("suspected encrypted container")
    archive = write(tmp_path / "x.7z", sevenzip_bytes({"a": b"b"}, password="pw"))
    assert detect_encryption(str(archive), "application/x-7z-compressed", "archive") == (
        "password-protected 7z (AES-256)"
    )


@pytest.mark.parametrize("data", [b"", b"PK\x03\x04", b"%PDF-1.7 garbage", b"7z\xbc\xaf\x27\x1c" + bytes(50)])
def test_garbage_never_raises(data: bytes) -> None:
    mime, kind = sniff(data)
    assert detect_encryption(data, mime, kind) is None
