"""The VICS fast path (vics_scan + orjson) reads what ijson reads, and leaves to ijson what it cannot vouch for."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hashset_builders import fake_hash, read_all, vics_media, write_vics
from haven.formats import FormatError, vics, vics_scan

CONTEXT = "http://example.invalid/ProjectVic/DataModels/2.0.xml/US/$metadata#"
MD5S = [fake_hash("md5", i) for i in range(40)]


def ijson_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference: every record read by ijson, as before the fast path existed."""

    def refuse(*_args: Any, **_kwargs: Any) -> Iterator[list[Any]]:
        raise vics_scan.UnsureError("off")
        yield []  # a generator, as media_batches is

    monkeypatch.setattr(vics, "media_batches", refuse)


def fast_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the file would be handed to ijson."""

    def refuse(*_args: Any, **_kwargs: Any) -> Iterator[Any]:
        raise AssertionError("the fast path gave up")
        yield None

    monkeypatch.setattr(vics, "_read_with_ijson", refuse)


def outcome(path: Path) -> tuple[list[dict[str, Any]], list[str], list[str]] | str:
    try:
        return read_all(vics.read(path))
    except FormatError as error:
        return f"FormatError: {error}"


def both_ways(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    fast = outcome(path)
    with monkeypatch.context() as patch:
        ijson_only(patch)
        reference = outcome(path)
    return fast, reference


@pytest.fixture
def tiny_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads of 512 bytes, so that every file here crosses many buffer boundaries (and the 64 KiB head
    is irrelevant: files below start past it)."""
    monkeypatch.setattr(vics_scan, "CHUNK", 512)


def awkward_media(count: int) -> list[Any]:
    """Records whose strings hold what the scanner looks for: braces, brackets, quotes, escapes, the
    record signature itself, non-ASCII; with fields in varied order and nesting."""
    media: list[Any] = []
    for index in range(count):
        record = vics_media(MD5S[index % len(MD5S)], media_id=index + 1, category=index % 4 or None)
        record["Series"] = ['}, {"MediaID": 7', 'a"b\\c', "é ☃ \U0001f600", "[{]}", ",\n{"][index % 5]
        record["Tags"] = [["x", {"y": [1, 2.5, None]}], "t"][index % 2]
        if index % 7 == 3:
            record = dict(reversed(list(record.items())))  # another key order: the signature cut misses, still read
        media.append(record)
    media.insert(5, "not an object")
    media.insert(9, 12)
    media.insert(11, None)
    media.insert(13, {})
    return media


@pytest.mark.parametrize("collection", ["Cases", "Media"])
@pytest.mark.parametrize("indent", [None, 2])
def test_awkward_records_read_the_same_as_ijson(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_chunks: None, collection: str, indent: int | None
) -> None:
    media = awkward_media(400)  # about 250 kB: past the 64 KiB head, through many 512-byte reads
    path = tmp_path / "v.json"
    if collection == "Cases":
        cases = [
            {"CaseID": "1", "Identifiers": [{"k": "Media"}], "Media": media[:25], "After": {"Media": [1]}},
            {"CaseID": "2", "Media": []},
            {"Media": media[25:], "CaseMetadata": [{"PropertyName": "x", "Value": "]}"}]},
        ]
        document: dict[str, Any] = {"@odata.context": CONTEXT + "Cases", "value": cases, "@odata.count": 3}
    else:
        document = {"@odata.context": CONTEXT + "Media", "value": media}
    path.write_text(json.dumps(document, indent=indent, ensure_ascii=indent is None))

    with monkeypatch.context() as patch:
        fast_only(patch)
        fast = outcome(path)
    with monkeypatch.context() as patch:
        ijson_only(patch)
        reference = outcome(path)

    assert not isinstance(reference, str)
    assert len(reference[0]) == 400 and len(reference[1]) == 4
    assert fast == reference


def test_a_plain_export_is_read_without_ijson(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_chunks: None
) -> None:
    media = [vics_media(m, media_id=i, sha1=fake_hash("sha1", i), pdq=fake_hash("pdq", i)) for i, m in enumerate(MD5S)]
    path = write_vics(tmp_path / "v.json", media, bom=True)
    fast_only(monkeypatch)

    entries, skipped, notes = read_all(vics.read(path))

    assert [e["md5"] for e in entries] == MD5S and skipped == [] and notes == []


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: data[: len(data) // 2], id="truncated"),
        pytest.param(lambda data: data[:-3], id="truncated-at-the-end"),
        pytest.param(lambda data: data + b"{}", id="trailing-garbage"),
        pytest.param(
            lambda data: data.replace(b'"MediaSize": 1017', b'"MediaSize": 12345678901234567890123'), id="huge-int"
        ),
        pytest.param(
            lambda data: data.replace(b'"MediaSize": 1021', b'"MediaSize": 9223372036854775808'), id="u64-int"
        ),
        pytest.param(lambda data: data.replace(b'"MediaSize": 1019', b'"MediaSize": NaN'), id="nan"),
        pytest.param(lambda data: data.replace(b'"Comments": null', b'"Comments": "\\ud800"', 1), id="lone-surrogate"),
        pytest.param(lambda data: data.replace(b"haven-tests", b"haven\xfftests"), id="bad-utf8-after-media"),
        pytest.param(lambda data: data.replace(b'"MediaID": 20,', b'"MediaID": 20,,'), id="double-comma"),
        pytest.param(lambda data: data.replace(b'"CaseID"', b'"Case\\u0049D"'), id="escaped-key"),
        pytest.param(lambda data: data.replace(b"]}]}", b"],}]}"), id="trailing-comma"),
        pytest.param(lambda data: data.replace(b', "value"', b',\x0c"value"'), id="form-feed-is-not-json-space"),
        pytest.param(lambda data: data.replace(b'"Tags": null', b'"Tags": [[[[[[["deep"]]]]]]]', 1), id="deep"),
    ],
)
def test_damaged_or_unusual_files_get_ijsons_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_chunks: None, damage: Any
) -> None:
    media = [vics_media(m, media_id=i, sha1=fake_hash("sha1", i)) for i, m in enumerate(MD5S)]
    path = write_vics(tmp_path / "v.json", media)
    path.write_bytes(damage(path.read_bytes()))

    fast, reference = both_ways(path, monkeypatch)

    assert fast == reference


def test_a_record_larger_than_a_read_is_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_chunks: None
) -> None:
    media = [vics_media(m, media_id=i, series="s" * 5000 if i == 3 else None) for i, m in enumerate(MD5S[:8])]
    path = write_vics(tmp_path / "v.json", media)
    fast_only(monkeypatch)

    entries, _, _ = read_all(vics.read(path))

    assert [e["series"] for e in entries][2:5] == [None, "s" * 5000, None]


def test_records_are_numbered_across_the_switch_to_ijson(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_chunks: None
) -> None:
    media: list[Any] = [vics_media(fake_hash("md5", i), media_id=i) for i in range(400)]  # past the 64 KiB head
    media[300]["Series"] = "\ud800"  # orjson refuses a lone surrogate, ijson reads it as "?": ijson from here
    media[350] = {"MD5": "12345"}
    path = write_vics(tmp_path / "v.json", media)
    handed_over: list[int] = []
    original = vics._read_with_ijson

    def spy(stream: Any, context: Any, done: int, *rest: Any) -> Any:
        handed_over.append(done)
        return original(stream, context, done, *rest)

    monkeypatch.setattr(vics, "_read_with_ijson", spy)

    entries, skipped, _ = read_all(vics.read(path))

    assert 0 < handed_over[0] <= 300
    assert len(entries) == 399 and entries[300]["series"] == "?"
    assert skipped == ["record 351: MD5 '12345' is not 32 hex digits"]


def test_memory_is_one_buffer_not_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches come as the file is read: the first arrives after one read, not after the whole file."""
    media = [vics_media(fake_hash("md5", i), media_id=i) for i in range(3000)]  # ~2 MB
    path = write_vics(tmp_path / "v.json", media)
    with path.open("rb") as stream:
        batches = vics_scan.media_batches(stream, "Cases")
        first = next(batches)
        assert 0 < len(first) < 3000
        assert stream.tell() < path.stat().st_size / 4
