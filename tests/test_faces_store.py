"""The faces stage on a real store (SQLite and PostgreSQL): analyse, resume, cluster, analyst actions
kept across re-runs, search across cases, audit. Pictures: LFW adults, synthetic, LFW composites."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from faces_builders import composite, jpeg, lfw_bytes
from haven import audit
from haven.cases import case_chain, create_case
from haven.config import Config
from haven.errors import HavenError
from haven.faces.identities import merge_identities, move_faces, name_identity, split_identity
from haven.faces.listing import list_identities
from haven.faces.model import load_face_model
from haven.faces.search import search_face
from haven.faces.settings import FaceSettings
from haven.faces.stage import analyse_faces
from haven.pipeline import ingest
from haven.store import Store
from haven.store.models import AuditEvent, Content, Face, FaceAction, FaceScan
from media_builders import synthetic_image, truncated

MODEL = "dlib-resnet-v1"


def config_for(store: Store, tmp_path: Path) -> Config:
    return Config(home=tmp_path / "home", database_url=str(store.engine.url), user="tester")


def evidence(folder: Path, pictures: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in pictures.items():
        (folder / name).write_bytes(data)
    return folder


def ingest_and_analyse(store: Store, cfg: Config, ref: str, folder: Path, *, workers: int = 1):
    with store.session() as session:
        create_case(session, ref, user=cfg.user)
    ingest(store, cfg, ref, [folder], workers=1, show_progress=False)
    return analyse_faces(store, cfg, ref, workers=workers, show_progress=False)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def identity_of(store: Store, ref: str, sha256: str) -> dict:
    with store.session() as session:
        for identity in list_identities(session, ref, MODEL):
            if any(f["sha256"] == sha256 for f in identity["faces"]):
                return identity
    raise AssertionError(f"no identity holds {sha256}")


POWELL_1, POWELL_2, POWELL_3 = (lfw_bytes("Colin_Powell", n) for n in (1, 2, 3))
BLAIR_1 = lfw_bytes("Tony_Blair", 1)
BROKEN = truncated(lfw_bytes("Tony_Blair", 2), 0.3)
NO_FACE = jpeg(synthetic_image(400, 300, seed=5))


def test_faces_are_stored_errors_recorded_and_people_clustered(store: Store, tmp_path: Path) -> None:
    cfg = config_for(store, tmp_path)
    group = composite([("Hugo_Chavez", 1), ("Gerhard_Schroeder", 1), ("Abdullah_Gul", 1)], columns=3)
    folder = evidence(
        tmp_path / "ev",
        {
            "p1.jpg": POWELL_1,
            "p2.jpg": POWELL_2,
            "b1.jpg": BLAIR_1,
            "broken.jpg": BROKEN,
            "empty.jpg": NO_FACE,
            "group.jpg": group,
        },
    )
    summary = ingest_and_analyse(store, cfg, "F-1", folder, workers=2)
    assert (summary.pictures, summary.scanned, summary.already_done) == (6, 6, 0)
    assert summary.faces == 3 + 3 and summary.errors == 1
    with store.session() as session:
        scans = {
            sha: (faces, error)
            for sha, faces, error in session.execute(
                select(Content.sha256, FaceScan.faces, FaceScan.error).join(Content, Content.id == FaceScan.content_id)
            )
        }
        stored = session.scalar(select(func.count()).select_from(Face))
    assert stored == 6
    assert scans[sha(NO_FACE)] == (0, None)
    assert scans[sha(group)][0] == 3
    faces, error = scans[sha(BROKEN)]
    assert faces == 0 and error is not None and "unreadable picture" in error
    powell = identity_of(store, "F-1", sha(POWELL_1))
    assert {f["sha256"] for f in powell["faces"]} == {sha(POWELL_1), sha(POWELL_2)}
    assert identity_of(store, "F-1", sha(BLAIR_1))["id"] != powell["id"]


def test_a_picture_found_only_inside_an_archive_is_read_from_it(store: Store, tmp_path: Path) -> None:
    cfg = config_for(store, tmp_path)
    album = io.BytesIO()
    with zipfile.ZipFile(album, "w") as archive:
        archive.writestr("holiday/p3.jpg", POWELL_3)
    folder = evidence(tmp_path / "ev", {"p1.jpg": POWELL_1, "album.zip": album.getvalue()})
    summary = ingest_and_analyse(store, cfg, "F-Z", folder)
    assert (summary.scanned, summary.faces, summary.errors) == (2, 2, 0)
    together = identity_of(store, "F-Z", sha(POWELL_3))
    assert {f["sha256"] for f in together["faces"]} == {sha(POWELL_1), sha(POWELL_3)}


def test_a_rerun_skips_done_pictures_and_resumes_after_a_kill_without_duplicates(store: Store, tmp_path: Path) -> None:
    cfg = config_for(store, tmp_path)
    folder = evidence(tmp_path / "ev", {"p1.jpg": POWELL_1, "p2.jpg": POWELL_2, "b1.jpg": BLAIR_1})
    ingest_and_analyse(store, cfg, "F-2", folder)
    again = analyse_faces(store, cfg, "F-2", workers=1, show_progress=False)
    assert (again.scanned, again.already_done) == (0, 3)
    # A kill before the last batch committed: that picture has neither faces nor scan marker.
    with store.session() as session:
        blair = session.scalar(select(Content.id).where(Content.sha256 == sha(BLAIR_1)))
        session.execute(delete(Face).where(Face.content_id == blair))
        session.execute(delete(FaceScan).where(FaceScan.content_id == blair))
    resumed = analyse_faces(store, cfg, "F-2", workers=1, show_progress=False)
    assert (resumed.scanned, resumed.already_done) == (1, 2)
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Face)) == 3
        assert session.scalar(select(func.count()).select_from(FaceScan)) == 3


def test_analyst_names_merges_and_splits_survive_reruns(store: Store, tmp_path: Path) -> None:
    cfg = config_for(store, tmp_path)
    folder = evidence(tmp_path / "ev", {"p1.jpg": POWELL_1, "p2.jpg": POWELL_2, "b1.jpg": BLAIR_1})
    ingest_and_analyse(store, cfg, "F-3", folder)
    powell = identity_of(store, "F-3", sha(POWELL_1))["id"]
    blair = identity_of(store, "F-3", sha(BLAIR_1))["id"]
    with store.session() as session:
        name_identity(session, "F-3", powell, "Person A", model=MODEL, user="analyst")
        merge_identities(session, "F-3", powell, blair, model=MODEL, user="analyst")
    # The analyst then changes their mind about one picture: split it off.
    with store.session() as session:
        split = split_identity(session, "F-3", powell, [sha(POWELL_2)[:12]], model=MODEL, user="analyst")
    # New evidence arrives (another picture of the same man) and the stage runs again.
    (folder / "p3.jpg").write_bytes(POWELL_3)
    ingest(store, cfg, "F-3", [folder], workers=1, show_progress=False)
    rerun = analyse_faces(store, cfg, "F-3", workers=1, show_progress=False)
    assert (rerun.scanned, rerun.already_done) == (1, 3)
    named = identity_of(store, "F-3", sha(POWELL_1))
    assert named["id"] == powell and named["name"] == "Person A"
    assert identity_of(store, "F-3", sha(BLAIR_1))["id"] == powell  # the merge held
    assert identity_of(store, "F-3", sha(POWELL_2))["id"] == split.identity_id  # the split held
    # The new picture joined the nearest identity the analyst kept.
    assert identity_of(store, "F-3", sha(POWELL_3))["id"] in (powell, split.identity_id)
    with store.session() as session:
        actions = [a for (a,) in session.execute(select(FaceAction.action).order_by(FaceAction.id))]
        logged = list(session.scalars(select(AuditEvent.action).where(AuditEvent.chain == case_chain("F-3"))))
        assert audit.verify_chain(session, case_chain("F-3"))[1] is None
    assert actions == ["name", "merge", "split"]
    assert {"faces.name", "faces.merge", "faces.split", "analyze.faces"} <= set(logged)


def test_moving_faces_and_refusing_bad_requests(store: Store, tmp_path: Path) -> None:
    cfg = config_for(store, tmp_path)
    folder = evidence(tmp_path / "ev", {"p1.jpg": POWELL_1, "b1.jpg": BLAIR_1})
    ingest_and_analyse(store, cfg, "F-4", folder)
    powell = identity_of(store, "F-4", sha(POWELL_1))["id"]
    blair = identity_of(store, "F-4", sha(BLAIR_1))["id"]
    with store.session() as session:
        with pytest.raises(HavenError, match="at least one face"):
            split_identity(session, "F-4", powell, [sha(POWELL_1)], model=MODEL, user="a")
        with pytest.raises(HavenError, match="no identity 999"):
            name_identity(session, "F-4", 999, "X", model=MODEL, user="a")
        with pytest.raises(HavenError, match="neither a face id"):
            move_faces(session, "F-4", powell, ["zz"], model=MODEL, user="a")
    with store.session() as session:
        moved = move_faces(session, "F-4", powell, [sha(BLAIR_1)], model=MODEL, user="a")
    assert moved.faces == 2
    assert identity_of(store, "F-4", sha(BLAIR_1))["id"] == powell
    with store.session() as session:
        detail = json.loads(session.scalars(select(FaceAction.detail)).one())
    assert detail["from"] == [blair] and detail["faces"][0]["sha256"] == sha(BLAIR_1)


def test_search_face_finds_the_same_person_in_another_case(store: Store, tmp_path: Path) -> None:
    cfg = config_for(store, tmp_path)
    ingest_and_analyse(store, cfg, "CASE-A", evidence(tmp_path / "a", {"p1.jpg": POWELL_1}))
    ingest_and_analyse(store, cfg, "CASE-B", evidence(tmp_path / "b", {"p2.jpg": POWELL_2, "b1.jpg": BLAIR_1}))
    model = load_face_model(FaceSettings())
    with store.session() as session:
        by_sha = search_face(session, "CASE-A", sha(POWELL_1)[:16], model)
        by_file = search_face(session, "CASE-B", str(tmp_path / "a" / "p1.jpg"), model)
    assert len(by_sha.query_faces) == 1
    assert [(m["case"], m["sha256"]) for m in by_sha.matches] == [("CASE-B", sha(POWELL_2))]
    assert by_sha.matches[0]["identity"]["id"] is not None
    # A file from disk is analysed on the fly: it finds itself in CASE-A and the other picture in CASE-B.
    assert [m["sha256"] for m in by_file.matches] == [sha(POWELL_1), sha(POWELL_2)]
    assert by_file.matches[0]["distance"] < 0.05 < by_file.matches[1]["distance"]
    with store.session() as session, pytest.raises(HavenError, match="not a picture of case"):
        search_face(session, "CASE-A", "nothing-like-this", model)
