"""Cryptographic signals: one pass yields the same digests as hashlib, streamed or in memory."""

from __future__ import annotations

import hashlib
import io

import pytest

from haven.signals import signal_type, signal_types
from haven.signals.crypto import CHUNK_BYTES, Md5Signal, Sha1Signal, Sha256Signal, crypto_hashes, hash_stream


def _expected(data: bytes) -> tuple[str, str, str]:
    return hashlib.md5(data).hexdigest(), hashlib.sha1(data).hexdigest(), hashlib.sha256(data).hexdigest()


SIZES = [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 2 * CHUNK_BYTES + 12345]


@pytest.mark.parametrize("size", SIZES)
def test_in_memory_hashes_equal_hashlib(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    assert tuple(crypto_hashes(data)) == _expected(data)


@pytest.mark.parametrize("size", SIZES)
def test_streamed_hashes_size_and_head(size: int) -> None:
    data = (b"haven" * (size // 5 + 1))[:size]
    hashes, total, head = hash_stream(io.BytesIO(data), head_bytes=4096)
    assert tuple(hashes) == _expected(data)
    assert total == size
    assert head == data[:4096]


def test_memoryview_and_bytearray_accepted() -> None:
    data = b"x" * 3000
    assert crypto_hashes(bytearray(data)) == crypto_hashes(memoryview(data)) == crypto_hashes(data)


@pytest.mark.parametrize(
    ("cls", "length"),
    [(Md5Signal, 32), (Sha1Signal, 40), (Sha256Signal, 64)],
)
def test_validate_normalises_and_rejects(cls: type[Md5Signal], length: int) -> None:
    good = "ab" * (length // 2)
    assert cls.validate(f"\ufeff  {good.upper()}\n") == good
    for bad in ("", good[:-1], good + "0", "zz" * (length // 2)):
        with pytest.raises(ValueError):
            cls.validate(bad)


def test_exact_signals_compute_distance_and_match() -> None:
    data = b"evidence"
    assert Md5Signal.compute(data) == hashlib.md5(data).hexdigest()
    assert Sha1Signal.compute(data) == hashlib.sha1(data).hexdigest()
    assert Sha256Signal.compute(data) == hashlib.sha256(data).hexdigest()
    a, b = Md5Signal.compute(b"a"), Md5Signal.compute(b"b")
    assert Md5Signal.distance(a, a) == 0
    assert Md5Signal.matches(a, a)
    assert not Md5Signal.matches(a, b)
    assert Md5Signal.applies_to("video") and Md5Signal.applies_to("other")


def test_registry_by_name() -> None:
    assert set(signal_types()) == {"md5", "sha1", "sha256", "pdq"}
    assert signal_type("SHA256") is Sha256Signal
    with pytest.raises(KeyError):
        signal_type("photodna")
