"""VICS records checked a batch at a time (vics_batch) become exactly the entries media_entry makes of them
one by one, or the batch is left to media_entry: never a different entry, skip, note or count."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from hashset_builders import fake_hash, vics_media, write_vics
from haven.formats import ColumnBatch, Note, ParsedEntry, Skipped, vics
from haven.formats.base import EMPTY_FILE_HASHES, ZERO_PDQ
from haven.formats.vics import _column, media_entry
from haven.formats.vics_batch import MediaRecord, as_dict, decode_run, entry_batch
from haven.hashsets import import_hashset
from haven.store import Store
from haven.store.models import HashEntry, HashSet

EMPTY_MD5 = next(value for value, label in EMPTY_FILE_HASHES.items() if label == "MD5")


def one_by_one(batch: list[Any]) -> tuple[list[ParsedEntry | Skipped | Note], Counter[str]]:
    ignored: Counter[str] = Counter()
    notes: list[Note] = []
    out: list[ParsedEntry | Skipped | Note] = []
    for number, media in enumerate(batch, start=1):
        out.append(media_entry(media, number, notes, ignored))
        out.extend(notes)
        notes.clear()
    return out, ignored


def at_once(batch: list[Any], typed: bool = False) -> tuple[list[ParsedEntry], Counter[str]] | None:
    """``batch`` through entry_batch: as dicts, or (``typed``) decoded from JSON as the reader decodes a run."""
    ignored: Counter[str] = Counter()
    found = entry_batch(decode_run(orjson.dumps(batch)) if typed else batch, ignored, _column)
    if found is None:
        assert not ignored  # a declined batch counts nothing: media_entry will
        return None
    return list(found.entries()), ignored


def record(i: int, **fields: Any) -> dict[str, Any]:
    media: dict[str, Any] = {
        "MediaID": i,
        "Category": 1 + i % 3,
        "IsPrecategorized": True,
        "MD5": fake_hash("md5", i).upper(),
        "SHA1": fake_hash("sha1", i),
        "MediaSize": 1000 + i,
        "AlternativeHashes": [
            {"HashName": "SHA256", "HashValue": fake_hash("sha256", i)},
            {"HashName": "PDQ", "HashValue": fake_hash("pdq", i).upper()},
        ],
    }
    media.update(fields)
    return {name: value for name, value in media.items() if value is not _DROP}


_DROP = object()


@pytest.mark.parametrize("typed", [False, True], ids=["dicts", "typed records"])
def test_a_plain_batch_is_taken_whole_and_gives_media_entrys_entries(typed: bool) -> None:
    batch = [record(i) for i in range(200)]

    result = at_once(batch, typed)

    assert result is not None, "the plain case must not fall back"
    entries, ignored = result
    expected, expected_ignored = one_by_one(batch)
    assert entries == expected and ignored == expected_ignored
    assert entries[0]["md5"] == fake_hash("md5", 0) and entries[0]["pdq"] == fake_hash("pdq", 0)  # lowercased


PLAIN_VARIANTS: dict[str, Any] = {
    "string categories with spaces": lambda i: {"Category": f" {1 + i % 3} "},
    "no categories": lambda i: {"Category": None},
    "no category fields": lambda i: {"Category": _DROP},
    "no sha1 fields": lambda i: {"SHA1": _DROP, "AlternativeHashes": _DROP},
    "flags": lambda i: {"VictimIdentified": bool(i % 2), "OffenderIdentified": None},
    "series, tags and photodna text": lambda i: {
        "Series": f" S{i % 4} " if i % 3 else "",
        "Tags": "a, b",
        "PhotoDNA": "x" * 20,
    },
    "no sha1": lambda i: {"SHA1": None},
    "no alternatives": lambda i: {"AlternativeHashes": None},
    "empty alternatives": lambda i: {"AlternativeHashes": []},
    "a name Haven does not keep": lambda i: {
        "AlternativeHashes": [
            {"HashName": "ED2K", "HashValue": "e" * 32},
            {"HashName": "SHA-256", "HashValue": fake_hash("sha256", i)},
        ]
    },
    "sha1 only as an alternative": lambda i: {
        "SHA1": _DROP,
        "AlternativeHashes": [{"HashName": "sha1", "HashValue": fake_hash("sha1", i)}],
    },
    "an alternative sha1 beside the record's own": lambda i: {
        "AlternativeHashes": [{"HashName": "SHA1", "HashValue": "not hex"}],
    },
    "the same column named twice": lambda i: {
        "AlternativeHashes": [
            {"HashName": "SHA256", "HashValue": fake_hash("sha256", i)},
            {"HashName": "SHA-256", "HashValue": "nonsense"},
        ]
    },
}


@pytest.mark.parametrize("typed", [False, True], ids=["dicts", "typed records"])
@pytest.mark.parametrize("variant", PLAIN_VARIANTS)
def test_uniform_variants_are_taken_whole_with_the_same_result(variant: str, typed: bool) -> None:
    batch = [record(i, **PLAIN_VARIANTS[variant](i)) for i in range(50)]

    result = at_once(batch, typed)

    assert result is not None, f"{variant}: fell back"
    assert result == one_by_one(batch)


ODD_RECORDS: dict[str, Any] = {
    "bad md5": {"MD5": "nope"},
    "missing md5": {"MD5": _DROP},
    "md5 with spaces": {"MD5": " " + fake_hash("md5", 999)[:-1]},
    "empty-file md5": {"MD5": EMPTY_MD5},
    "integer md5": {"MD5": 12345},
    "bad sha1": {"SHA1": "xyz"},
    "empty sha1": {"SHA1": ""},
    "float category": {"Category": 2.0},
    "boolean category": {"Category": True},
    "long category": {"Category": "x" * 61},
    "flag as text": {"VictimIdentified": "yes"},
    "tags as a list": {"Tags": ["a", None, "b"]},
    "zero pdq": {"AlternativeHashes": [{"HashName": "PDQ", "HashValue": ZERO_PDQ}]},
    "one alternative fewer": {"AlternativeHashes": [{"HashName": "SHA256", "HashValue": fake_hash("sha256", 5)}]},
    "photodna alternative": {
        "AlternativeHashes": [
            {"HashName": "PhotoDNA", "HashValue": "p"},
            {"HashName": "PDQ", "HashValue": fake_hash("pdq", 5)},
        ]
    },
    "alternatives not a list": {"AlternativeHashes": {"HashName": "PDQ"}},
    "alternative not an object": {"AlternativeHashes": ["PDQ", "SHA256"]},
    "numeric hash name": {
        "AlternativeHashes": [{"HashName": 5, "HashValue": "x"}, {"HashName": "PDQ", "HashValue": fake_hash("pdq", 5)}]
    },
    "record not an object": "just text",
}


@pytest.mark.parametrize("typed", [False, True], ids=["dicts", "typed records"])
@pytest.mark.parametrize("odd", ODD_RECORDS)
def test_one_odd_record_among_plain_ones_never_changes_the_result(odd: str, typed: bool) -> None:
    change = ODD_RECORDS[odd]
    batch: list[Any] = [record(i) for i in range(30)]
    batch[17] = change if isinstance(change, str) else record(17, **change)

    result = at_once(batch, typed)

    expected = one_by_one(batch)
    if any(not isinstance(item, dict) for item in expected[0]):  # a skip or a note: only media_entry words them
        assert result is None
    else:  # e.g. a float category media_entry spells "2": taken whole only if spelled the same
        assert result is None or result == expected


def test_random_mixtures_agree_with_media_entry() -> None:
    rng = random.Random(7)
    variants = list(PLAIN_VARIANTS.values())
    odd = [change for change in ODD_RECORDS.values() if not isinstance(change, str)]
    taken = 0
    for trial in range(300):
        shape = rng.choice(variants)
        batch: list[Any] = [record(trial * 100 + i, **shape(i)) for i in range(rng.randint(1, 40))]
        if rng.random() < 0.5:
            batch[rng.randrange(len(batch))] = record(0, **rng.choice(odd))
        result = at_once(batch, typed=trial % 2 == 1)
        if result is not None:
            taken += 1
            assert result == one_by_one(batch), f"trial {trial}"
    assert taken > 100  # the mixtures exercised the batch path, not only the fallback


def test_typed_records_read_one_by_one_give_what_dicts_give() -> None:
    batch = [record(i, Series=" S ", VictimIdentified=True) for i in range(5)]
    typed = decode_run(orjson.dumps(batch))
    assert {type(item) for item in typed} == {MediaRecord}

    assert [media_entry(as_dict(item), n, [], Counter()) for n, item in enumerate(typed, 1)] == one_by_one(batch)[0]


@pytest.mark.parametrize(
    "run",
    [
        b'[{"MD5": "a", "MediaSize": 1e999}]',  # out of range in a field Haven ignores: refused, as ijson does
        b'[{"MD5": "a", "Unknown": 1e999}]',
        b'[{"MD5": "a", "AlternativeHashes": [{"HashName": "X", "HashValue": "y", "MD5": 1e999}]}]',
        b'[{"MD5": "\\ud800"}]',
        b'[{"MD5": "a",}]',
    ],
)
def test_typed_decoding_refuses_what_orjson_refuses(run: bytes) -> None:
    with pytest.raises(ValueError):
        orjson.loads(run)
    with pytest.raises(ValueError):
        decode_run(run)


def test_fields_outside_the_data_model_are_read_as_dicts() -> None:
    assert decode_run(b'[{"MD5": "a", "Vendor": {"x": 1}}]') == [{"MD5": "a", "Vendor": {"x": 1}}]


def test_a_column_batch_round_trips_through_rows() -> None:
    batch = entry_batch([record(i, Series="S") for i in range(3)], Counter(), _column)
    assert isinstance(batch, ColumnBatch) and len(batch) == 3

    joined = ColumnBatch.joined([batch, batch])

    assert len(joined) == 6
    assert joined.rows() == batch.rows() * 2


def test_out_of_scheme_codes_in_a_batch_are_skipped_with_their_record_numbers(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    media = [vics_media(fake_hash("md5", i), category=i % 9, sha1=fake_hash("sha1", i)) for i in range(1, 60)]
    media[3]["Category"] = "03"  # respelled "3", as the scheme spells it
    path = write_vics(tmp_path / "set.json", media)

    batched = import_hashset(store, path, name="batched", user="analyst")
    monkeypatch.setattr(vics, "entry_batch", lambda *_args: None)  # every record through media_entry
    copy = write_vics(tmp_path / "copy.json", media)
    copy.write_bytes(copy.read_bytes() + b"\n")  # another file (by its hash), the same records
    one_by_one_import = import_hashset(store, copy, name="one", user="analyst")

    assert batched.skipped > 0 and batched.skipped_reasons == one_by_one_import.skipped_reasons
    assert (batched.imported, batched.skipped) == (one_by_one_import.imported, one_by_one_import.skipped)
    with store.session() as session:
        stored = {
            name: sorted(
                session.execute(select(HashEntry.md5, HashEntry.category).join(HashSet).where(HashSet.name == name))
            )
            for name in ("batched", "one")
        }
    assert stored["batched"] == stored["one"] and (fake_hash("md5", 4), "3") in stored["batched"]


def test_batches_joined_and_listed_join_into_one() -> None:
    read = entry_batch([record(i) for i in range(2)], Counter(), _column)
    assert read is not None and any(type(value) is str for value in read.values)  # hashes joined by the reader
    gathered = ColumnBatch.from_rows(read.columns, read.rows())  # the same entries, listed

    assert ColumnBatch.joined([read, gathered]).rows() == read.rows() * 2
