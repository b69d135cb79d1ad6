"""Haven share packages: signed export of a case, verified import, and every refusal leaving nothing behind.

A "sender" store exports a case as a package signed with its key; a "receiver" store that trusts (or
does not trust) that key imports it. Tampered packages are built from a good one by rewriting its zip
members, re-signing where a test needs a valid signature over a changed manifest.
"""

from __future__ import annotations

import hashlib
import json
import stat
import tracemalloc
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hashset_builders import fake_hash, vics_media, write_vics
from haven import hashset_loader, hashsets
from haven.cases import create_case
from haven.exports import export_case
from haven.hashsets import HashSetImportError, import_hashset
from haven.matching.run import match_case
from haven.share.keys import trust_key, untrust_key
from haven.share.package import MANIFEST, PAYLOAD, SIGNATURE
from haven.share.signing import generate, load_signing_key
from haven.share.writer import write_package
from haven.store import Store, open_store
from haven.store.models import AuditEvent, Content, Decision, HashEntry, HashSet, utcnow

AGENCY = "North Unit"


@dataclass(frozen=True)
class Keys:
    private: Path
    public: Path
    fingerprint: str


def make_keys(directory: Path, agency: str = AGENCY) -> Keys:
    private, public, fingerprint = generate(agency, directory)
    return Keys(private, public, fingerprint)


def add_contents(store: Store, reference: str, seeds: list[int]) -> dict[int, int]:
    """A case (created if missing) holding one content per seed, with made-up hashes; seed -> content id."""
    with store.session() as session:
        case, _ = create_case(session, reference, user="tester")
        ids = {}
        for seed in seeds:
            content = Content(
                case_id=case.id,
                md5=fake_hash("md5", seed),
                sha1=fake_hash("sha1", seed),
                sha256=fake_hash("sha256", seed),
                size=1000 + seed,
                kind="image",
                status="unknown",
            )
            session.add(content)
            session.flush()
            ids[seed] = content.id
        return ids


def categories(store: Store, content_ids: dict[int, int]) -> dict[int, tuple[str, str] | None]:
    """Current (category, decision source) of each seed's content, None when undecided."""
    found: dict[int, tuple[str, str] | None] = {}
    with store.session() as session:
        for seed, content_id in content_ids.items():
            row = session.execute(
                select(Decision.category, Decision.source)
                .where(Decision.content_id == content_id)
                .order_by(Decision.decided_at.desc(), Decision.id.desc())
                .limit(1)
            ).first()
            found[seed] = (row.category, row.source) if row else None
    return found


def nothing_imported(store: Store) -> bool:
    with store.session() as session:
        return not session.scalar(select(func.count(HashSet.id))) and not session.scalar(
            select(func.count(HashEntry.id))
        )


@pytest.fixture
def sender_keys(tmp_path: Path) -> Keys:
    return make_keys(tmp_path / "sender-keys")


@pytest.fixture
def sender(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path}/sender.db")
    try:
        yield s
    finally:
        s.dispose()


@pytest.fixture
def fresh_store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path}/receiver.db")
    try:
        yield s
    finally:
        s.dispose()


def categorized_case(store: Store, tmp_path: Path) -> dict[int, int]:
    """Case OP-A: seeds 0 and 1 pre-categorized by a known VICS set (with series and identified flags), seed 2
    categorized by a reviewer, seed 3 undecided."""
    known = write_vics(
        tmp_path / "known.json",
        [
            vics_media(fake_hash("md5", 0), category=1, series="Series K", victim_identified=True),
            vics_media(fake_hash("md5", 1), media_id=2, category=2, offender_identified=False),
        ],
    )
    import_hashset(store, known, name="known", user="tester")
    ids = add_contents(store, "OP-A", [0, 1, 2, 3])
    match_case(store, "OP-A", user="tester")
    with store.session() as session:
        session.add(Decision(content_id=ids[2], category="4", source="user", decided_by="tester", decided_at=utcnow()))
    return ids


@pytest.fixture
def package(sender: Store, sender_keys: Keys, tmp_path: Path) -> Path:
    """A good package of case OP-A (three categorized contents), exported by the sender."""
    categorized_case(sender, tmp_path)
    out = tmp_path / "OP-A.havenshare"
    export_case(sender, "OP-A", "haven", out, user="tester", signing_key=sender_keys.private)
    return out


def trusting(store: Store, keys: Keys, agency: str = AGENCY) -> Store:
    with store.session() as session:
        trust_key(session, keys.public, agency=agency, user="receiver")
    return store


# ---------------------------------------------------------------- round trip


def test_round_trip_pre_categorizes_the_same_contents(store: Store, fresh_store: Store, tmp_path: Path) -> None:
    """Exported from ``store`` (each back end), imported into a fresh store that trusts the key."""
    keys = make_keys(tmp_path / "keys")
    sent = categorized_case(store, tmp_path)
    out = tmp_path / "out" / "OP-A.havenshare"

    result = export_case(store, "OP-A", "haven", out, user="tester", signing_key=keys.private)
    trusting(fresh_store, keys, agency="North Unit (checked by phone)")
    imported = import_hashset(fresh_store, out, name="from-north", user="receiver")
    received = add_contents(fresh_store, "OP-B", [0, 1, 2, 3])
    match_case(fresh_store, "OP-B", user="receiver")

    assert (result.written, imported.imported, imported.skipped) == (3, 3, 0)
    assert categories(store, sent) == {0: ("1", "hashset"), 1: ("2", "hashset"), 2: ("4", "user"), 3: None}
    assert {seed: c and c[0] for seed, c in categories(fresh_store, received).items()} == {
        0: "1",
        1: "2",
        2: "4",
        3: None,
    }
    assert all(c is None or c[1] == "hashset" for c in categories(fresh_store, received).values())
    with fresh_store.session() as session:
        hash_set = session.scalars(select(HashSet)).one()
        entries = {e.md5: e for e in session.scalars(select(HashEntry))}
    assert (hash_set.format, hash_set.scheme, hash_set.case_reference) == ("haven", "vic-us", "OP-A")
    assert (hash_set.agency, hash_set.signer_fingerprint) == ("North Unit (checked by phone)", keys.fingerprint)
    assert hash_set.shared_at is not None
    first = entries[fake_hash("md5", 0)]
    assert (first.series, first.victim_identified, first.sha256) == ("Series K", True, fake_hash("sha256", 0))
    assert entries[fake_hash("md5", 1)].offender_identified is False
    assert entries[fake_hash("md5", 2)].series is None
    # The same package again adds nothing.
    assert import_hashset(fresh_store, out, name="again", user="receiver").already_imported


def test_package_holds_only_manifest_entries_and_signature(package: Path) -> None:
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
        members = {name: archive.read(name) for name in names}
    assert names == [MANIFEST, PAYLOAD, SIGNATURE]
    for data in members.values():
        assert b"\xff\xd8\xff" not in data and b"\x89PNG" not in data  # no picture bytes anywhere
    manifest = json.loads(members[MANIFEST])
    assert (manifest["format"], manifest["format_version"], manifest["entry_count"]) == ("haven-share-package", 1, 3)
    assert (manifest["agency"], manifest["case_reference"], manifest["scheme"]) == (AGENCY, "OP-A", "vic-us")
    assert manifest["includes_paths"] is False
    lines = [json.loads(line) for line in members[PAYLOAD].splitlines()]
    assert len(lines) == 3 and all("paths" not in line for line in lines)
    assert {line["md5"]: line["precategorized"] for line in lines} == {
        fake_hash("md5", 0): True,
        fake_hash("md5", 1): True,
        fake_hash("md5", 2): False,
    }
    assert len(members[SIGNATURE]) == 64


def test_export_is_audited_with_the_package_hash(sender: Store, package: Path) -> None:
    with sender.session() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
    detail = json.loads(event.detail)
    assert event.chain == "case:OP-A"
    assert (detail["format"], detail["written"], detail["includes_paths"]) == ("haven", 3, False)
    assert detail["sha256"] == hashlib.sha256(package.read_bytes()).hexdigest()


# ---------------------------------------------------------------- refusals


def rebuild(
    package: Path,
    out: Path,
    *,
    manifest: dict[str, object] | None = None,
    payload: bytes | None = None,
    resign: Path | None = None,
    drop: str | None = None,
    extra: tuple[str, bytes] | None = None,
) -> Path:
    """A copy of ``package`` with members replaced; ``resign`` signs the (changed) manifest with that key."""
    with zipfile.ZipFile(package) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    if manifest is not None:
        members[MANIFEST] = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    if payload is not None:
        members[PAYLOAD] = payload
    if resign is not None:
        members[SIGNATURE] = load_signing_key(resign).sign(members[MANIFEST])
    if drop is not None:
        del members[drop]
    if extra is not None:
        members[extra[0]] = extra[1]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out


def manifest_of(package: Path) -> dict[str, object]:
    with zipfile.ZipFile(package) as archive:
        return json.loads(archive.read(MANIFEST))


def payload_of(package: Path) -> bytes:
    with zipfile.ZipFile(package) as archive:
        return archive.read(PAYLOAD)


def refusal(store: Store, path: Path) -> str:
    with pytest.raises(HashSetImportError) as refused:
        import_hashset(store, path, user="receiver")
    message = str(refused.value)
    assert "\n" not in message and message.endswith("nothing was imported")
    assert nothing_imported(store)
    return message


def test_payload_changed_after_signing_is_refused_after_streaming(
    store: Store, package: Path, sender_keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One hex digit changed: a well-formed zip whose entries parse, caught by the payload hash at the end of
    the stream, after entries were inserted (one per batch here): the transaction rolls back."""
    monkeypatch.setattr(hashsets, "BATCH_ROWS", 1)
    payload = payload_of(package)
    position = payload.index(fake_hash("md5", 2).encode())
    altered = (
        payload[:position] + (b"0" if payload[position : position + 1] != b"0" else b"1") + payload[position + 1 :]
    )
    tampered = rebuild(package, tmp_path / "tampered.havenshare", payload=altered)
    trusting(store, sender_keys)

    assert "the payload was altered after signing: its SHA-256 does not match" in refusal(store, tampered)


def test_a_flipped_byte_in_the_compressed_payload_is_refused(
    store: Store, package: Path, sender_keys: Keys, tmp_path: Path
) -> None:
    data = bytearray(package.read_bytes())
    with zipfile.ZipFile(package) as archive:
        info = archive.getinfo(PAYLOAD)
    # Inside the deflated payload: past its local header (30 bytes + name + extra field).
    start = info.header_offset + 30 + len(PAYLOAD.encode()) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0x40
    tampered = tmp_path / "flipped.havenshare"
    tampered.write_bytes(bytes(data))
    trusting(store, sender_keys)

    message = refusal(store, tampered)

    assert "payload" in message and ("damaged or was altered" in message or "altered after signing" in message)


def test_manifest_changed_after_signing_is_refused(
    store: Store, package: Path, sender_keys: Keys, tmp_path: Path
) -> None:
    manifest = manifest_of(package) | {"case_reference": "OP-Z"}
    tampered = rebuild(package, tmp_path / "manifest.havenshare", manifest=manifest)
    trusting(store, sender_keys)

    assert "bad signature: the manifest was altered after signing" in refusal(store, tampered)


def test_untrusted_signer_is_refused_with_its_fingerprint_and_how_to_trust(
    store: Store, package: Path, sender_keys: Keys, tmp_path: Path
) -> None:
    stranger = make_keys(tmp_path / "stranger", agency="Someone")
    trusting(store, stranger, agency="Someone")  # another key is trusted; the sender's is not

    message = refusal(store, package)

    assert f"signed by an untrusted key {sender_keys.fingerprint}" in message
    assert "haven keys trust" in message


def test_a_package_re_signed_by_another_key_is_refused(
    store: Store, package: Path, sender_keys: Keys, tmp_path: Path
) -> None:
    """The manifest still names the trusted key, but an impostor signed it."""
    impostor = make_keys(tmp_path / "impostor")
    forged = rebuild(package, tmp_path / "forged.havenshare", resign=impostor.private)
    trusting(store, sender_keys)

    assert "bad signature" in refusal(store, forged)


def test_revoked_key_is_refused(store: Store, package: Path, sender_keys: Keys) -> None:
    trusting(store, sender_keys)
    with store.session() as session:
        untrust_key(session, sender_keys.fingerprint[:12], user="receiver")

    message = refusal(store, package)

    assert f"signed by the key of {AGENCY} ({sender_keys.fingerprint[:16]}), revoked on" in message


def test_truncated_package_is_refused(store: Store, package: Path, sender_keys: Keys, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.havenshare"
    truncated.write_bytes(package.read_bytes()[: package.stat().st_size // 2])
    trusting(store, sender_keys)

    assert "not a complete share package: the zip is truncated or damaged" in refusal(store, truncated)


def test_unsupported_format_version_is_refused(store: Store, package: Path, sender_keys: Keys, tmp_path: Path) -> None:
    manifest = manifest_of(package) | {"format_version": 2}
    future = rebuild(package, tmp_path / "v2.havenshare", manifest=manifest, resign=sender_keys.private)
    trusting(store, sender_keys)

    assert "unsupported share-package format version 2: this Haven reads version 1" in refusal(store, future)


def test_entry_count_differing_from_the_signed_manifest_is_refused(
    store: Store, package: Path, sender_keys: Keys, tmp_path: Path
) -> None:
    manifest = manifest_of(package) | {"entry_count": 4}
    miscounted = rebuild(package, tmp_path / "count.havenshare", manifest=manifest, resign=sender_keys.private)
    trusting(store, sender_keys)

    assert "the payload holds 3 entries, the signed manifest says 4" in refusal(store, miscounted)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"drop": MANIFEST}, "not a Haven share package: the zip has no manifest.json"),
        ({"manifest_bytes": b"{not json"}, "manifest.json is garbled: not UTF-8 JSON"),
        ({"manifest_bytes": b'{"format":"haven-share-package","format_version":1}'}, "manifest.json is garbled"),
        ({"drop": SIGNATURE}, "missing signature"),
        ({"extra": ("picture.jpg", b"\xff\xd8\xff\xe0")}, "unexpected 'picture.jpg'"),
    ],
)
def test_malformed_packages_are_refused(
    sqlite_store: Store,
    package: Path,
    sender_keys: Keys,
    tmp_path: Path,
    change: dict[str, object],
    expected: str,
) -> None:
    out = tmp_path / "malformed.havenshare"
    manifest_bytes = change.pop("manifest_bytes", None)
    rebuild(package, out, **change)  # type: ignore[arg-type]
    if manifest_bytes is not None:
        with zipfile.ZipFile(package) as archive:
            members = {name: archive.read(name) for name in archive.namelist()}
        members[MANIFEST] = manifest_bytes  # type: ignore[assignment]
        with zipfile.ZipFile(out, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)
    trusting(sqlite_store, sender_keys)

    assert expected in refusal(sqlite_store, out)


# ---------------------------------------------------------------- scale


def synthetic_entries(count: int) -> Iterator[dict[str, object]]:
    for n in range(count):
        yield {
            "md5": fake_hash("md5", n),
            "sha1": fake_hash("sha1", n),
            "sha256": fake_hash("sha256", n),
            "size": 1000 + n,
            "category": str(1 + n % 3),
            "precategorized": True,
            "series": f"Series {n % 50}" if n % 7 == 0 else None,
        }


@pytest.mark.slow
def test_large_package_imports_in_flat_memory(
    sqlite_store: Store, sender_keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """200k entries (a 42 MiB payload): the reader streams. SQLite only: what is measured is the reader, the
    same on either back end. Read in this process (not hashset_loader's child), so tracemalloc sees it."""
    monkeypatch.setattr(hashset_loader, "BACKGROUND_MIN_BYTES", 1 << 62)
    count = 200_000
    out = tmp_path / "large.havenshare"
    written = write_package(
        out,
        synthetic_entries(count),
        key=load_signing_key(sender_keys.private),
        agency=AGENCY,
        case_reference="OP-LARGE",
        scheme="vic-us",
        creator={"user": "tester"},
        includes_paths=False,
    )
    trusting(sqlite_store, sender_keys)

    tracemalloc.start()
    try:
        result = import_hashset(sqlite_store, out, user="receiver")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result.imported == written.entries == count
    payload = written.manifest.payload_size
    assert payload > 40 * 2**20
    # Batches of entries, never the payload: the peak stays well under the payload's size.
    assert peak < payload / 3, f"peak {peak / 2**20:.1f} MiB for a {payload / 2**20:.0f} MiB payload"


# ---------------------------------------------------------------- keys


def test_private_key_is_owner_only_and_never_overwritten(tmp_path: Path) -> None:
    keys = make_keys(tmp_path / "keys")

    assert stat.S_IMODE(keys.private.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert "PRIVATE KEY" not in keys.public.read_text() and f"Agency: {AGENCY}" in keys.public.read_text()
    assert load_signing_key(keys.private).fingerprint == keys.fingerprint
    with pytest.raises(Exception, match="a key already exists here"):
        make_keys(tmp_path / "keys")


def test_trust_refuses_a_private_key_and_a_second_agency(store: Store, tmp_path: Path) -> None:
    keys = make_keys(tmp_path / "keys")
    with store.session() as session:
        with pytest.raises(Exception, match="this is a PRIVATE key"):
            trust_key(session, keys.private, agency=AGENCY, user="receiver")
        assert trust_key(session, keys.public, agency=AGENCY, user="receiver").change == "added"
        assert trust_key(session, keys.public, agency=AGENCY, user="receiver").change == "unchanged"
        with pytest.raises(Exception, match="already recorded for agency 'North Unit'"):
            trust_key(session, keys.public, agency="Other", user="receiver")
        untrust_key(session, keys.fingerprint, user="receiver")
        assert trust_key(session, keys.public, agency=AGENCY, user="receiver").change == "restored"
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.chain == "global")))
    assert actions == ["keys.trust", "keys.untrust", "keys.trust"]
