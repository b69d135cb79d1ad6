"""vPDQ hash files: reading Meta's sample files, detection, several videos per file, import with frames."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from hashset_builders import fake_hash, read_all, write_pdq, write_plain, write_text
from haven import hashsets
from haven.cli import app
from haven.formats import HEAD_SIZE, VideoEntry, detect, vpdq
from haven.hashsets import HashSetImportError, import_hashset
from haven.store import Store
from haven.store.models import HashEntry, HashEntryFrame, HashSet
from shared_data import SHARED_DATA

SAMPLES = SHARED_DATA / "vpdq-reference" / "vpdq-sample-hashes"
CHAIR = SAMPLES / "chair-19-sd-bar.txt"
USER = "investigator-1"


def vpdq_lines(seed: int, count: int, *, quality: int = 100, fps: int = 30) -> list[str]:
    return [f"{n},{quality},{fake_hash('pdq', f'{seed}:{n}')},{n / fps:.3f}" for n in range(count)]


def videos(path: Path) -> tuple[list[VideoEntry], list[str]]:
    items = list(vpdq.read(path))
    _, skipped, _ = read_all(item for item in items if not isinstance(item, VideoEntry))
    return [item for item in items if isinstance(item, VideoEntry)], skipped


def test_reads_a_reference_file_as_one_video() -> None:
    [video], skipped = videos(CHAIR)
    assert skipped == []
    assert len(video.frames) == 564
    assert video.frames[0] == (0, 0.0, "e271017837246aaccddea259648fb7d62f435c89d9e99b2497763e216c8d055c", 100)
    assert video.frames[-1][:2] == (563, 18.767)
    assert all(value is None for value in video.entry.values())  # no file hash, no category in the format


def test_low_quality_frames_are_kept() -> None:
    [video], _ = videos(SAMPLES / "doorknob-hd-no-bar.txt")
    assert len(video.frames) == 120
    assert sum(quality >= 50 for *_, quality in video.frames) == 60  # the floor is a matching rule


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.txt")), ids=lambda p: p.stem)
def test_every_sample_is_detected(path: Path) -> None:
    found = detect(path.read_bytes()[:HEAD_SIZE])
    assert found is not None and found.name == "vpdq"


def test_other_lists_are_not_taken_for_vpdq(tmp_path: Path) -> None:
    plain_list = write_plain(tmp_path / "p.txt", [fake_hash("md5", 1), fake_hash("sha256", 2)])
    pdq_list = write_pdq(tmp_path / "q.txt", [fake_hash("pdq", 1)])
    no_frame_number = write_text(tmp_path / "c.txt", [f"{fake_hash('pdq', 1)},100,0.000"])
    three_fields = write_text(tmp_path / "t.txt", [f"0,100,{fake_hash('pdq', 1)}"])  # vpdqio.cpp needs 4
    for path, expected in ((plain_list, "plain"), (pdq_list, "pdq"), (no_frame_number, "plain"), (three_fields, None)):
        found = detect(path.read_bytes())
        assert (found.name if found else None) == expected


def test_joined_files_split_where_frame_numbers_restart(tmp_path: Path) -> None:
    lines = ["# two videos joined with cat", *vpdq_lines(1, 3), "", *vpdq_lines(2, 2)]
    [first, second], skipped = videos(write_text(tmp_path / "two.txt", lines))
    assert skipped == []
    assert [f[0] for f in first.frames] == [0, 1, 2] and [f[0] for f in second.frames] == [0, 1]
    assert second.frames[1] == (1, 0.033, fake_hash("pdq", "2:1"), 100)


def test_bad_lines_are_skipped_with_their_numbers(tmp_path: Path) -> None:
    good = vpdq_lines(1, 2)
    pdq = fake_hash("pdq", 9)
    bad = [f"2,101,{pdq},0.1", f"3,90,{pdq[:-1]},0.1", f"4,90,{pdq},-1", f"5,90,{pdq}", f"x,90,{pdq},0.2"]
    [video], skipped = videos(write_text(tmp_path / "v.txt", [*good, *bad]))
    assert len(video.frames) == 2
    assert skipped == [
        "line 3: quality '101' is not a whole number from 0 to 100",
        f"line 4: '{pdq[:-1][:40]}…' is not a PDQ hash (64 hex digits)",
        "line 5: timestamp '-1' is not a number of seconds",
        f"line 6: '{f'5,90,{pdq}'[:40]}…' is not frame_number,quality,pdq_hash,timestamp",
        "line 7: frame number 'x' is not a whole number",
    ]


def frame_rows(store: Store) -> list[tuple[Any, ...]]:
    with store.session() as session:
        query = select(
            HashEntryFrame.entry_id,
            HashEntryFrame.seq,
            HashEntryFrame.timestamp,
            HashEntryFrame.pdq,
            HashEntryFrame.quality,
        )
        return [tuple(row) for row in session.execute(query.order_by(HashEntryFrame.id))]


def test_import_stores_each_video_with_its_frames(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hashsets, "BATCH_ROWS", 2)  # frames span several executemany calls
    path = write_text(tmp_path / "known-videos.txt", [*vpdq_lines(1, 5), *vpdq_lines(2, 3, quality=40)])

    result = import_hashset(store, path, user=USER)

    assert (result.format, result.imported, result.skipped) == ("vpdq", 2, 0)
    with store.session() as session:
        entries = list(session.scalars(select(HashEntry).order_by(HashEntry.id)))
        assert [(e.set_id, e.pdq, e.md5) for e in entries] == [(result.hash_set_id, None, None)] * 2
        assert session.scalar(select(HashSet.entry_count)) == 2
    rows = frame_rows(store)
    assert [(entry, seq) for entry, seq, *_ in rows] == [(entries[0].id, n) for n in range(5)] + [
        (entries[1].id, n) for n in range(3)
    ]
    assert rows[6][2:] == (0.033, fake_hash("pdq", "2:1"), 40)

    again = import_hashset(store, path, user=USER)
    assert again.already_imported and len(frame_rows(store)) == 8


def test_reference_file_imports(store: Store) -> None:
    result = import_hashset(store, CHAIR, user=USER)
    assert (result.name, result.format, result.imported) == ("chair-19-sd-bar", "vpdq", 1)
    assert len(frame_rows(store)) == 564


def test_failed_import_leaves_no_video_and_no_frame(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_text(tmp_path / "v.txt", vpdq_lines(1, 4))
    real_read = vpdq.read

    def read_then_append(p: Path) -> Iterator[object]:
        yield from real_read(p)  # the video and its frames are written before the file check fails
        with p.open("a") as more:
            more.write("\n")

    monkeypatch.setattr(vpdq, "read", read_then_append)
    with pytest.raises(HashSetImportError, match="changed while it was being imported"):
        import_hashset(store, path, user=USER)
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(HashEntry)) == 0
        assert session.scalar(select(func.count()).select_from(HashEntryFrame)) == 0


def test_cli_import_with_format_vpdq(haven_env: object, tmp_path: Path) -> None:
    runner = CliRunner()
    path = write_text(tmp_path / "clip-list.txt", vpdq_lines(3, 4))
    result = runner.invoke(app, ["hashset", "import", str(path), "--format", "vpdq", "--name", "videos"])
    assert result.exit_code == 0, result.output
    assert "Imported videos (vpdq, known): 1 entries, 0 skipped." in result.output
    auto = runner.invoke(app, ["hashset", "import", str(CHAIR)])  # --format auto
    assert auto.exit_code == 0, auto.output
    assert "Imported chair-19-sd-bar (vpdq, known): 1 entries, 0 skipped." in auto.output
