"""The same-scene stage and search on a real store (SQLite and PostgreSQL): analyse, errors, resume,
the persisted index, search within a case, across cases and by region."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from haven.cases import case_chain, create_case
from haven.config import Config
from haven.errors import HavenError
from haven.pipeline import ingest
from haven.scenes.index import BowIndex
from haven.scenes.search import search_scene
from haven.scenes.stage import analyse_scenes
from haven.scenes.stored_index import index_path, scene_index
from haven.store import Store
from haven.store.models import AuditEvent, Content, SceneFeatures
from media_builders import truncated
from scenes_builders import distractors, flat_png, side_by_side, ukbench

BROKEN = truncated(ukbench(9), 0.3)
FLAT = flat_png()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def config_for(store: Store, tmp_path: Path) -> Config:
    return Config(home=tmp_path / "home", database_url=str(store.engine.url), user="tester")


def ingested(store: Store, cfg: Config, ref: str, folder: Path, pictures: dict[str, bytes]) -> None:
    folder.mkdir(parents=True)
    for name, data in pictures.items():
        (folder / name).write_bytes(data)
    with store.session() as session:
        create_case(session, ref, user=cfg.user)
    ingest(store, cfg, ref, [folder], workers=1, show_progress=False)


def test_scenes_are_analysed_resumed_and_searched_within_and_across_cases(store: Store, tmp_path: Path) -> None:
    cfg = config_for(store, tmp_path)
    others = {f"d{i}.jpg": data for i, data in enumerate(distractors(6))}
    ingested(
        store,
        cfg,
        "S-1",
        tmp_path / "one",
        {
            "tin4.jpg": ukbench(4),
            "tin5.jpg": ukbench(5),
            "puzzle0.jpg": ukbench(0),
            "broken.jpg": BROKEN,
            "flat.png": FLAT,
            **others,
        },
    )
    ingested(store, cfg, "S-2", tmp_path / "two", {"tin6.jpg": ukbench(6), "puzzle2.jpg": ukbench(2)})

    first = analyse_scenes(store, cfg, "S-1", workers=2, show_progress=False)
    assert (first.pictures, first.scanned, first.already_done) == (11, 11, 0)
    assert (first.errors, first.without_features) == (1, 1)
    assert first.indexed == 9  # the broken and the flat pictures have nothing to index
    assert index_path(cfg.index_dir).is_file()
    again = analyse_scenes(store, cfg, "S-1", workers=2, show_progress=False)
    assert (again.scanned, again.already_done, again.errors) == (0, 11, 0)
    second = analyse_scenes(store, cfg, "S-2", workers=1, show_progress=False)
    assert second.indexed == 11  # the saved index was brought up to date, not rebuilt from nothing

    with store.session() as session:
        rows = {
            content_sha: (keypoints, error)
            for content_sha, keypoints, error in session.execute(
                select(Content.sha256, SceneFeatures.keypoints, SceneFeatures.error).join(
                    Content, Content.id == SceneFeatures.content_id
                )
            )
        }
        assert session.scalar(select(func.count()).select_from(SceneFeatures)) == 13
        assert rows[sha(FLAT)] == (0, None)
        assert rows[sha(BROKEN)][0] == 0 and "cannot decode picture" in (rows[sha(BROKEN)][1] or "")
        assert rows[sha(ukbench(4))][0] > 100

        within = search_scene(session, "S-1", sha(ukbench(4)), index_dir=cfg.index_dir)
        assert [m["sha256"] for m in within.matches] == [sha(ukbench(5))]
        assert within.matches[0]["case"] == "S-1" and within.matches[0]["path"].endswith("tin5.jpg")
        assert 0 < within.matches[0]["score"] <= 1

        across = search_scene(session, "S-1", sha(ukbench(4))[:12], index_dir=cfg.index_dir, all_cases=True)
        assert {(m["case"], m["sha256"]) for m in across.matches} == {
            ("S-1", sha(ukbench(5))),
            ("S-2", sha(ukbench(6))),
        }

        # A picture file on disk as the query, limited to its right half (the tin box).
        scene = tmp_path / "scene.jpg"
        scene.write_bytes(side_by_side(ukbench(1), ukbench(7)))
        right = search_scene(session, "S-2", str(scene), index_dir=cfg.index_dir, box=(640, 0, 640, 480))
        left = search_scene(session, "S-2", str(scene), index_dir=cfg.index_dir, box=(0, 0, 640, 480))
        assert right.matches[0]["sha256"] == sha(ukbench(6))
        assert left.matches[0]["sha256"] == sha(ukbench(2))

        with pytest.raises(HavenError, match="could not be analysed"):
            search_scene(session, "S-1", sha(BROKEN), index_dir=cfg.index_dir)
        flat = search_scene(session, "S-1", sha(FLAT), index_dir=cfg.index_dir)
        assert flat.query_keypoints == 0 and flat.matches == []

        events = session.scalars(
            select(AuditEvent).where(AuditEvent.chain == case_chain("S-1"), AuditEvent.action == "analyze.scenes")
        ).all()
        assert len(events) == 2


def test_a_picture_not_yet_analysed_is_a_clear_error(store: Store, tmp_path: Path) -> None:
    cfg = config_for(store, tmp_path)
    ingested(store, cfg, "S-3", tmp_path / "three", {"tin4.jpg": ukbench(4)})
    with store.session() as session, pytest.raises(HavenError, match="--scenes"):
        search_scene(session, "S-3", sha(ukbench(4)), index_dir=cfg.index_dir)


def test_the_saved_index_follows_deleted_rows_without_learning_again(store: Store, tmp_path: Path) -> None:
    cfg = config_for(store, tmp_path)
    ingested(
        store, cfg, "S-4", tmp_path / "four", {"tin4.jpg": ukbench(4), "tin5.jpg": ukbench(5), "p0.jpg": ukbench(0)}
    )
    assert analyse_scenes(store, cfg, "S-4", workers=1, show_progress=False).indexed == 3
    vocabulary = BowIndex.load(index_path(cfg.index_dir)).vocabulary
    with store.session() as session:
        tin5 = session.scalar(select(Content.id).where(Content.sha256 == sha(ukbench(5))))
        session.execute(delete(SceneFeatures).where(SceneFeatures.content_id == tin5))
    with store.session() as session:
        index = scene_index(session, cfg.index_dir)
        assert index is not None and len(index) == 2
        assert (index.vocabulary == vocabulary).all()
        assert search_scene(session, "S-4", sha(ukbench(4)), index_dir=cfg.index_dir).matches == []
    assert len(BowIndex.load(index_path(cfg.index_dir))) == 2
