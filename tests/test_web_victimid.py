"""Victim-identification pages on both store backends: identities (name, merge, split through the web,
recorded and audited by the faces service), cameras with cross-case leads, places as text; membership,
CSRF, and pictures only ever as the stored blurred thumbnails."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from backends import BACKENDS, backend_store
from browser_support import is_greyscale
from haven import accounts, audit
from haven.cases import case_chain
from haven.pipeline import ingest
from haven.store.models import AuditEvent, Face, FaceAction, FaceIdentity
from media_builders import ExifFacts, jpeg_bytes
from victimid_fixtures import faces_of, plant_identities
from web_fixtures import WebCase, build_web_case, evidence_folder

HTML = {"accept": "text/html"}
IMG_SRC = re.compile(r'<img[^>]*\ssrc="([^"]+)"')
ROW_IDS = re.compile(r'<tr data-identity="(\d+)"')


@pytest.fixture(scope="module", params=BACKENDS)
def web(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebCase]:
    home = tmp_path_factory.mktemp("web-victimid")
    with backend_store(request, home) as store:
        web = build_web_case(store, home / "home", images=4)
        # The same test camera (serial SN-000123, same GPS) in the other case: a strong cross-case lead.
        other_evidence = evidence_folder(home / "other", images=2)
        ingest(store, web.config, web.other_case_ref, [other_evidence], label="OTHER-1", workers=1, show_progress=False)
        yield web


def identity_url(web: WebCase, identity: int) -> str:
    return f"/cases/{web.case_ref}/identities/one?identity={identity}"


def names(web: WebCase) -> dict[int, str | None]:
    with web.store.session() as session:
        return {i: name for i, name in session.execute(select(FaceIdentity.id, FaceIdentity.name))}


def audit_actions(web: WebCase) -> list[tuple[str, str, dict]]:
    with web.store.session() as session:
        rows = session.execute(
            select(AuditEvent.action, AuditEvent.user, AuditEvent.detail)
            .where(AuditEvent.chain == case_chain(web.case_ref))
            .order_by(AuditEvent.seq)
        ).all()
        assert audit.verify_chain(session, case_chain(web.case_ref))[1] is None
    return [(action, user, json.loads(detail)) for action, user, detail in rows]


# ---------------------------------------------------------------- who may see and change


def test_non_members_get_404_on_every_page_and_action(web: WebCase) -> None:
    (identity,) = plant_identities(web, [2])
    outsider = web.login("outsider")
    sha = web.sha256s[0]
    for url in [
        f"/cases/{web.case_ref}/identities",
        identity_url(web, identity),
        f"/cases/{web.case_ref}/cameras",
        f"/cases/{web.case_ref}/places",
        f"/cases/{web.case_ref}/items/{sha}/same-scene",
    ]:
        assert outsider.get(url, headers=HTML).status_code == 404, url
    headers = web.csrf_headers(outsider)
    refused = outsider.post(
        f"/cases/{web.case_ref}/identities/name", data={"identity": identity, "name": "X"}, headers=headers
    )
    assert refused.status_code == 404
    assert names(web)[identity] is None


def test_changes_without_the_csrf_token_are_refused_and_change_nothing(web: WebCase) -> None:
    keep, other = plant_identities(web, [2, 1])
    client = web.login("reviewer")
    base = f"/cases/{web.case_ref}/identities"
    attempts = [
        ("name", {"identity": keep, "name": "Forged"}),
        ("merge", {"keep": keep, "other": other}),
        ("split", {"identity": keep, "face": faces_of(web, keep)[:1]}),
    ]
    for action, body in attempts:
        assert client.post(f"{base}/{action}", data=body).status_code == 403, action
        assert client.post(f"{base}/{action}", data=body, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert names(web)[keep] is None and other in names(web)
    assert len(faces_of(web, keep)) == 2


# ---------------------------------------------------------------- name, merge, split through the web


def test_a_reviewer_names_merges_and_splits_and_each_is_recorded(web: WebCase) -> None:
    keep, other = plant_identities(web, [3, 2])
    kept_faces, other_faces = faces_of(web, keep), faces_of(web, other)
    client = web.login("reviewer")
    headers = web.csrf_headers(client)
    base = f"/cases/{web.case_ref}/identities"
    user = web.users["reviewer"]

    named = client.post(f"{base}/name", data={"identity": keep, "name": "Child A"}, headers=headers)
    assert named.status_code == 303 and named.headers["location"].endswith(f"identity={keep}&done=named")
    page = client.get(named.headers["location"], headers=HTML)
    assert "Child A" in page.text and "Identity named." in page.text

    merged = client.post(f"{base}/merge", data={"keep": keep, "other": other}, headers=headers)
    assert merged.status_code == 303
    assert other not in names(web)
    assert sorted(faces_of(web, keep)) == sorted(kept_faces + other_faces)

    split_off = other_faces  # the analyst decides the merged-in faces were someone else after all
    split = client.post(f"{base}/split", data={"identity": keep, "face": split_off}, headers=headers)
    assert split.status_code == 303
    new_identity = int(re.search(r"identity=(\d+)", split.headers["location"]).group(1))
    assert new_identity != keep  # (SQLite may hand the merged identity's id out again)
    assert sorted(faces_of(web, new_identity)) == sorted(split_off)
    assert sorted(faces_of(web, keep)) == sorted(kept_faces)

    with web.store.session() as session:
        actions = session.execute(
            select(FaceAction.action, FaceAction.user).where(FaceAction.identity_id.in_([keep, new_identity]))
        ).all()
        locked = session.scalars(select(FaceIdentity.locked).where(FaceIdentity.id.in_([keep, new_identity])))
        assert all(locked)
    assert sorted(actions) == [("merge", user), ("name", user), ("split", user)]
    logged = [(a, u, d) for a, u, d in audit_actions(web) if d.get("identity") == keep]
    assert [(a, u) for a, u, _ in logged] == [("faces.name", user), ("faces.merge", user), ("faces.split", user)]
    assert logged[0][2]["name"] == "Child A" and logged[1][2]["merged"] == other
    assert {f["face"] for f in logged[2][2]["faces"]} == set(split_off)


def test_refused_actions_are_400_and_leave_everything_as_it_was(web: WebCase) -> None:
    (mine,) = plant_identities(web, [2])
    (theirs,) = plant_identities(web, [1], ref=web.other_case_ref)
    client = web.login("reviewer")
    headers = web.csrf_headers(client)
    base = f"/cases/{web.case_ref}/identities"
    # Another case's identity cannot be reached through this case.
    assert client.post(f"{base}/name", data={"identity": theirs, "name": "X"}, headers=headers).status_code == 400
    assert client.post(f"{base}/merge", data={"keep": mine, "other": theirs}, headers=headers).status_code == 400
    assert client.get(identity_url(web, theirs), headers=HTML).status_code == 404
    assert client.post(f"{base}/merge", data={"keep": mine, "other": mine}, headers=headers).status_code == 400
    every_face = faces_of(web, mine)
    assert client.post(f"{base}/split", data={"identity": mine, "face": every_face}, headers=headers).status_code == 400
    blank = client.post(f"{base}/name", data={"identity": mine, "name": "   "}, headers=headers)
    assert blank.status_code == 400
    none_ticked = client.post(f"{base}/split", data={"identity": mine}, headers=headers | HTML)
    assert none_ticked.status_code == 400 and "at least one face" in none_ticked.text
    huge = "9" * 30  # beyond any integer column: still just "no such identity"
    assert client.post(f"{base}/name", data={"identity": huge, "name": "X"}, headers=headers).status_code == 400
    assert client.get(f"{base}/one?identity=2147483647", headers=HTML).status_code == 404
    assert client.get(f"{base}/one?identity=2147483648", headers=HTML).status_code == 400
    assert names(web)[theirs] is None and names(web)[mine] is None
    assert faces_of(web, mine) == every_face and faces_of(web, theirs)


# ---------------------------------------------------------------- what the pages list


def test_identities_are_listed_largest_first_a_page_at_a_time(web: WebCase) -> None:
    with web.store.session() as session:
        # This test counts every identity of the case: start from none.
        session.execute(delete(Face).where(Face.identity_id.is_not(None)))
        session.execute(delete(FaceIdentity))
    big, small = plant_identities(web, [5, 1])
    middle = plant_identities(web, [2] * 34)
    client = web.login("reviewer")
    first = client.get(f"/cases/{web.case_ref}/identities", headers=HTML)
    assert first.status_code == 200
    assert 'id="identity-total">36<' in first.text
    rows = [int(i) for i in ROW_IDS.findall(first.text)]
    assert len(rows) == 30 and rows[:2] == [big, middle[0]] and small not in rows
    assert re.search(rf'<tr data-identity="{big}">.*?data-faces="5"', first.text, re.S)
    next_url = re.search(r'href="([^"]+)" id="identities-next"', first.text).group(1).replace("&amp;", "&")
    second = client.get(next_url, headers=HTML)
    rest = [int(i) for i in ROW_IDS.findall(second.text)]
    assert rest[-1] == small and not set(rows) & set(rest)
    assert sorted(rows + rest) == sorted([big, small, *middle])
    assert 'id="identities-next"' not in second.text
    assert client.get(f"/cases/{web.case_ref}/identities?cursor=nonsense").status_code == 400


def test_pictures_are_only_the_stored_blurred_thumbnails(web: WebCase) -> None:
    (identity,) = plant_identities(web, [3])
    client = web.login("reviewer")
    sha = web.sha256s[0]
    pages = [
        f"/cases/{web.case_ref}/identities",
        identity_url(web, identity),
        f"/cases/{web.case_ref}/cameras",
        f"/cases/{web.case_ref}/places",
        f"/cases/{web.case_ref}/items/{sha}/same-scene",
    ]
    sources: set[str] = set()
    for url in pages:
        text = client.get(url, headers=HTML).text
        found = IMG_SRC.findall(text)
        assert found, f"{url} shows no picture"
        assert all(src.endswith("/thumbnail") for src in found), url
        assert text.count("<img") == text.count('class="thumb media-protected"'), url
        assert "<script>" not in text and " style=" not in text and "<style" not in text, url
        assert "/reveal" not in text, url
        sources.update(found)
    for src in sorted(sources)[:4]:
        response = client.get(src)
        assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
        assert response.headers["cache-control"] == "no-store"
        assert is_greyscale(response.content)


def test_cameras_name_other_cases_only_to_their_members(web: WebCase) -> None:
    url = f"/cases/{web.case_ref}/cameras"
    reviewer = web.login("reviewer").get(url, headers=HTML).text
    assert 'data-serial="SN-000123" class="lead-row"' in reviewer
    assert web.other_case_ref not in reviewer
    assert "1 other case you are not a member of" in reviewer
    with web.store.session() as session:
        accounts.add_member(session, web.other_case_ref, web.users["investigator"], role="reviewer", by="tester")
    investigator = web.login("investigator").get(url, headers=HTML).text
    assert f'same camera in case <a href="/cases/{web.other_case_ref}">{web.other_case_ref}</a> (1)' in investigator
    assert "Haven Test Camera Co. HTC-1" in investigator


def test_places_are_a_plain_text_table_without_any_map_server(web: WebCase) -> None:
    client = web.login("reviewer")
    text = client.get(f"/cases/{web.case_ref}/places", headers=HTML).text
    row = re.search(r'<tr data-place="1">(.*?)</tr>', text, re.S).group(1)
    lat = re.search(r"data-lat>([-\d.]+)<", row).group(1)
    lon = re.search(r"data-lon>([-\d.]+)<", row).group(1)
    assert (lat, lon) == ("51.510000", "-0.130000")  # the test camera's 51°30'36" N, 0°7'48" W
    assert "2021-03-04T05:06:07" in row and "Haven Test Camera Co. HTC-1" in row
    assert ">2<" in row  # the two located pictures of this case (the other case's are not counted here)
    assert "http://" not in text and "https://" not in text and "tile" not in text.lower()
    assert client.get(f"/cases/{web.case_ref}/places?radius=5").status_code == 400
    assert client.get(f"/cases/{web.case_ref}/places?radius=1000", headers=HTML).status_code == 200


def test_seen_in_other_cases_names_only_cases_of_the_user(web: WebCase) -> None:
    (mine,) = plant_identities(web, [1])
    plant_identities(web, [1], ref=web.other_case_ref)  # an identical embedding: the same face
    with web.store.session() as session:
        # Make the two faces exactly alike, whatever the ids (the planted vectors depend on them).
        faces = session.scalars(select(Face).order_by(Face.id.desc()).limit(2)).all()
        faces[0].embedding = faces[1].embedding
    page = web.login("reviewer").get(identity_url(web, mine) + "&elsewhere=1", headers=HTML).text
    listed = re.search(r'<ul class="vid-elsewhere" id="identity-elsewhere">(.*?)</ul>', page, re.S).group(1)
    assert web.other_case_ref not in listed and "other case you are not a member of" in listed
    with web.store.session() as session:
        accounts.add_member(session, web.other_case_ref, web.users["admin"], role="reviewer", by="tester")
    page = web.login("admin").get(identity_url(web, mine) + "&elsewhere=1", headers=HTML).text
    listed = re.search(r'<ul class="vid-elsewhere" id="identity-elsewhere">(.*?)</ul>', page, re.S).group(1)
    assert f'case <a href="/cases/{web.other_case_ref}/identities">{web.other_case_ref}</a>' in listed


def test_an_identity_page_without_an_identity_goes_back_to_the_list(web: WebCase) -> None:
    client = web.login("reviewer")
    response = client.get(f"/cases/{web.case_ref}/identities/one")
    assert response.status_code == 303 and response.headers["location"] == f"/cases/{web.case_ref}/identities"
    assert client.get(f"/cases/{web.case_ref}/identities/one?identity=abc").status_code == 400
    assert client.get(f"/cases/{web.case_ref}/identities/one?identity=999999").status_code == 404
    assert client.get(f"/cases/{web.case_ref}/places?page=99999999999").status_code == 400


def test_cameras_and_places_follow_new_evidence(web: WebCase, tmp_path: Path) -> None:
    client = web.login("reviewer")
    before = client.get(f"/cases/{web.case_ref}/cameras", headers=HTML).text  # computed, then kept
    client.get(f"/cases/{web.case_ref}/places", headers=HTML)
    assert "SN-NEW-9" not in before
    folder = tmp_path / "late"
    folder.mkdir()
    facts = ExifFacts(body_serial="SN-NEW-9", gps_lat=(48.0, 51.0, 0.0), gps_lon=(2.0, 21.0, 0.0), gps_lon_ref="E")
    (folder / "late.jpg").write_bytes(jpeg_bytes(320, 240, seed=77, exif=facts))
    ingest(web.store, web.config, web.case_ref, [folder], label="LATE", workers=1, show_progress=False)
    assert 'data-serial="SN-NEW-9"' in client.get(f"/cases/{web.case_ref}/cameras", headers=HTML).text
    places = client.get(f"/cases/{web.case_ref}/places", headers=HTML).text
    assert "48.850000" in places and "2.350000" in places
