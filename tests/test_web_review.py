"""The review pages through HTTP (FastAPI TestClient, real store on SQLite and PostgreSQL): the grid's
order, filters and pages; decisions, propagation and undo; counts; reveal (audited, no-store, greyscale
per preference); video never autoplays and starts muted; the dashboard, item and audit pages."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from backends import BACKENDS, backend_store
from haven import accounts
from haven.accounts import UserPrefs
from haven.cases import case_chain
from haven.store import Store
from haven.store.models import AuditEvent, Content, Decision
from haven.web.app import create_app
from test_review_case import CASE, OTHER, ReviewCase, build_review_case
from web_fixtures import BASE_URL, PASSWORD, MutableClock, login, session_csrf

USERS = {"rita": "reviewer", "ines": "investigator", "ada": "admin"}
OUTSIDER = "olga"
HTML = {"accept": "text/html"}
JSON = {"accept": "application/json"}
TILE_SHA = re.compile(r'class="tile[^"]*"[^>]*data-sha256="([0-9a-f]{64})"')


@dataclass
class ReviewWeb:
    case: ReviewCase
    app: FastAPI

    def login(self, name: str) -> TestClient:
        client = TestClient(self.app, base_url=BASE_URL, follow_redirects=False)
        assert login(client, name, PASSWORD).status_code == 303
        return client

    def sha(self, name: str) -> str:
        return self.case.sha[name]

    def name_of(self, sha: str) -> str:
        return next(n for n, s in self.case.sha.items() if s == sha)

    def audit_actions(self) -> list[tuple[str, str, dict[str, object]]]:
        with self.case.store.session() as session:
            events = session.scalars(
                select(AuditEvent).where(AuditEvent.chain == case_chain(CASE)).order_by(AuditEvent.seq)
            ).all()
            return [(e.user, e.action, json.loads(e.detail)) for e in events]


def build_review_web(store: Store, root: Path) -> ReviewWeb:
    case = build_review_case(store, root)
    with store.session() as session:
        for name, role in USERS.items():
            accounts.create_user(session, name, PASSWORD, role=role, by="t")
            accounts.add_member(session, CASE, name, role=role, by="t")
        accounts.create_user(session, OUTSIDER, PASSWORD, role="admin", by="t")
        accounts.add_member(session, OTHER, OUTSIDER, role="admin", by="t")
    return ReviewWeb(case, create_app(case.config, store, clock=MutableClock()))


@pytest.fixture(scope="module", params=BACKENDS)
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReviewWeb]:
    """One world per backend for the tests that only read (and reveal: that only adds audit records)."""
    root = tmp_path_factory.mktemp("review-web")
    with backend_store(request, root) as store:
        yield build_review_web(store, root / "case")


@pytest.fixture
def web(store: Store, tmp_path: Path) -> ReviewWeb:
    """A world of its own, for tests that decide."""
    return build_review_web(store, tmp_path / "case")


def grid_names(site: ReviewWeb, client: TestClient, query: str = "") -> list[str]:
    page = client.get(f"/cases/{CASE}/review?{query}", headers=HTML)
    assert page.status_code == 200, page.text
    return [site.name_of(s) for s in TILE_SHA.findall(page.text)]


# ---------------------------------------------------------------- grid


def test_the_grid_shows_new_material_first_one_tile_per_stack_known_hidden(site: ReviewWeb) -> None:
    client = site.login("rita")
    shown = grid_names(site, client)
    assert shown[-2:] == ["near", "broken"]  # near-known after the unknown, errors last
    assert "known" not in shown and "stack-small" not in shown and "stack-q" not in shown
    assert "stack-big" in shown and "clip" in shown
    page = client.get(f"/cases/{CASE}/review", headers=HTML).text
    assert 'title="3 near-identical items' in page
    assert grid_names(site, client, "known=1")[-1] == "known"
    for key in "123456":  # the scheme's codes on the number keys, in the scheme's order
        assert f'data-key="{key}"' in page
    assert 'data-key="1" data-code="1"' in page and 'data-key="6" data-code="0"' in page


def test_known_material_shows_for_those_who_asked(site: ReviewWeb) -> None:
    with site.case.store.session() as session:
        ada = accounts.get_user(session, "ada")
        accounts.save_prefs(session, ada, UserPrefs(show_known=True), by="ada")
    try:
        assert "known" in grid_names(site, site.login("ada"))
        assert "known" not in grid_names(site, site.login("ada"), "known=0")
    finally:
        with site.case.store.session() as session:
            accounts.save_prefs(session, accounts.get_user(session, "ada"), UserPrefs(), by="ada")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("make=Haven+Test+Camera+Co.", {"gps"}),
        ("gps=yes", {"gps"}),
        ("q=nested", {"deep"}),
        ("kind=video", {"clip"}),
        ("status=near-known", {"near"}),
        ("status=error&status=near-known", {"near", "broken"}),
        ("kind=document", {"notes"}),
    ],
)
def test_filters_through_the_query_string(site: ReviewWeb, query: str, expected: set[str]) -> None:
    client = site.login("rita")
    assert set(grid_names(site, client, query)) == expected


@pytest.mark.parametrize("query", ["status=nope", "min_size=ten", "cursor=zz", "decided=maybe", "limit=x"])
def test_bad_filters_are_a_400(site: ReviewWeb, query: str) -> None:
    client = site.login("rita")
    assert client.get(f"/cases/{CASE}/review?{query}", headers=HTML).status_code == 400
    assert client.get(f"/cases/{CASE}/items.json?{query}", headers=JSON).status_code == 400


def test_htmx_pages_continue_where_the_last_one_ended(site: ReviewWeb) -> None:
    client = site.login("rita")
    everything = [i["sha256"] for i in client.get(f"/cases/{CASE}/items.json?known=1&limit=200").json()["items"]]
    first = client.get(f"/cases/{CASE}/review?known=1&limit=4", headers=HTML).text
    walked = TILE_SHA.findall(first)
    next_url = re.search(r'class="load-more" hx-get="([^"]+)"', first)
    while next_url is not None:
        page = client.get(next_url.group(1).replace("&amp;", "&"), headers={"hx-request": "true"})
        assert page.status_code == 200 and "<html" not in page.text  # a fragment, not a page
        walked += TILE_SHA.findall(page.text)
        next_url = re.search(r'class="load-more" hx-get="([^"]+)"', page.text)
    assert walked == everything and len(walked) == len(set(walked)) > 8


def test_items_json_pages_by_cursor(site: ReviewWeb) -> None:
    client = site.login("rita")
    first = client.get(f"/cases/{CASE}/items.json?limit=3").json()
    second = client.get(f"/cases/{CASE}/items.json?limit=3&cursor={first['next_cursor']}").json()
    assert len(first["items"]) == len(second["items"]) == 3
    assert not {i["sha256"] for i in first["items"]} & {i["sha256"] for i in second["items"]}
    stack = next(i for i in first["items"] + second["items"] if i["sha256"] == site.sha("stack-big"))
    assert stack["stack_size"] == 3


# ---------------------------------------------------------------- media


def test_thumbnails_are_the_stored_blurred_jpeg_and_never_cached(site: ReviewWeb) -> None:
    client = site.login("rita")
    response = client.get(f"/cases/{CASE}/items/{site.sha('plain')}/thumbnail")
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert response.headers["cache-control"] == "no-store"
    assert Image.open(io.BytesIO(response.content)).mode == "L"


def test_reveal_is_audited_uncached_and_greyscale_by_default(site: ReviewWeb) -> None:
    client = site.login("rita")
    before = len(site.audit_actions())
    response = client.get(f"/cases/{CASE}/items/{site.sha('gps')}/reveal")
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert response.headers["cache-control"] == "no-store"
    picture = Image.open(io.BytesIO(response.content))
    assert picture.mode == "L" and picture.size == (320, 240)
    assert not picture.getexif()  # the evidence's EXIF (GPS, serial) does not travel with the rendition
    actions = site.audit_actions()
    assert len(actions) == before + 1
    assert actions[-1][:2] == ("rita", "review.reveal") and actions[-1][2]["sha256"] == site.sha("gps")


def test_reveal_in_colour_for_those_who_chose_it(site: ReviewWeb) -> None:
    with site.case.store.session() as session:
        accounts.save_prefs(session, accounts.get_user(session, "ines"), UserPrefs(greyscale=False), by="ines")
    try:
        response = site.login("ines").get(f"/cases/{CASE}/items/{site.sha('deep')}/reveal")
        assert response.status_code == 200 and Image.open(io.BytesIO(response.content)).mode == "RGB"
    finally:
        with site.case.store.session() as session:
            accounts.save_prefs(session, accounts.get_user(session, "ines"), UserPrefs(), by="ines")


def test_video_is_streamed_by_range_and_one_view_is_one_record(site: ReviewWeb) -> None:
    client = site.login("rita")
    url = f"/cases/{CASE}/items/{site.sha('clip')}/reveal"
    before = len(site.audit_actions())
    whole = client.get(url)
    assert whole.status_code == 200 and whole.headers["content-type"].startswith("video/")
    assert whole.headers["cache-control"] == "no-store" and whole.headers["accept-ranges"] == "bytes"
    part = client.get(url, headers={"range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole.content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
    assert client.get(url, headers={"range": f"bytes={len(whole.content) + 5}-"}).status_code == 416
    assert len(site.audit_actions()) == before + 1  # the first request is the view; later ranges are the same view


def test_video_tags_never_autoplay_and_start_muted(site: ReviewWeb) -> None:
    client = site.login("rita")
    pages = [
        client.get(f"/cases/{CASE}/items/{site.sha('clip')}", headers=HTML).text,
        client.get(f"/cases/{CASE}/review", headers=HTML).text,
    ]
    for page in pages:
        tags = re.findall(r"<video[^>]*>", page)
        assert tags, "no video element"
        for tag in tags:
            assert "autoplay" not in tag and " muted" in tag and 'preload="none"' in tag and " src=" not in tag


def test_reveal_refuses_what_is_not_a_content_of_the_case(site: ReviewWeb) -> None:
    client = site.login("rita")
    for bad in ("..%2F..%2Fetc%2Fpasswd", "A" * 64, "0" * 64, "f" * 63):
        assert client.get(f"/cases/{CASE}/items/{bad}/reveal").status_code == 404
    assert client.get(f"/cases/{CASE}/items/{site.sha('notes')}/reveal").status_code == 422
    outsider = site.login(OUTSIDER)
    assert outsider.get(f"/cases/{CASE}/items/{site.sha('gps')}/reveal").status_code == 404
    # The same card is in the outsider's own case: their case, their access, their audit chain.
    assert outsider.get(f"/cases/{OTHER}/items/{site.sha('card')}/reveal").status_code == 200


# ---------------------------------------------------------------- decisions


def test_a_decision_propagates_updates_counts_and_undo_restores(web: ReviewWeb) -> None:
    client = web.login("rita")
    headers = {"X-CSRF-Token": session_csrf(client), "hx-request": "true"}
    stats = client.get(f"/cases/{CASE}/stats.json").json()
    response = client.post(
        f"/cases/{CASE}/decisions", data={"category": "2", "sha256": [web.sha("stack-big")]}, headers=headers
    )
    assert response.status_code == 200
    assert 'id="review-counts"' in response.text  # the counts element, for htmx to swap in
    event = json.loads(response.headers["hx-trigger"])["haven:decided"]
    assert event["decided"] == [web.sha("stack-big")] and event["propagated"] == 2
    after = client.get(f"/cases/{CASE}/stats.json").json()
    assert after["progress"]["decided"] == stats["progress"]["decided"] + 3
    assert {c["code"]: c["count"] for c in after["by_category"]}["2"] == 1 + 3
    with web.case.store.session() as session:
        rows = session.execute(
            select(Content.sha256, Decision.source, Decision.source_detail, Decision.decided_by)
            .join(Decision, Decision.content_id == Content.id)
            .where(Decision.decided_by == "rita")
        ).all()
    assert {(web.name_of(sha), source, detail) for sha, source, detail, _ in rows} == {
        ("stack-big", "user", None),
        ("stack-small", "propagated", web.sha("stack-big")),
        ("stack-q", "propagated", web.sha("stack-big")),
    }
    assert web.audit_actions()[-1][:2] == ("rita", "review.decide")

    undone = client.post(f"/cases/{CASE}/decisions/undo", headers=headers)
    assert undone.status_code == 200
    restored = json.loads(undone.headers["hx-trigger"])["haven:undone"]["restored"]
    assert restored == {web.sha(n): "0" for n in ("stack-big", "stack-small", "stack-q")}
    assert client.get(f"/cases/{CASE}/stats.json").json()["progress"] == stats["progress"]
    assert web.audit_actions()[-1][:2] == ("rita", "review.undo")
    nothing = client.post(f"/cases/{CASE}/decisions/undo", headers=headers)
    assert json.loads(nothing.headers["hx-trigger"])["haven:undone"]["message"] == "nothing to undo"


def test_many_at_once_as_json_and_the_grid_shows_the_result(web: ReviewWeb) -> None:
    client = web.login("ines")
    csrf = {"X-CSRF-Token": session_csrf(client)}
    shas = [web.sha("plain"), web.sha("gps"), web.sha("card")]
    response = client.post(f"/cases/{CASE}/decisions", data={"category": "5", "sha256": shas}, headers=csrf | JSON)
    assert response.status_code == 200 and sorted(response.json()["decided"]) == sorted(shas)
    decided = grid_names(web, client, "decided=yes")
    assert set(decided) == {"plain", "gps", "card"}
    assert set(grid_names(web, client, "category=5")) == {"plain", "gps", "card"}
    assert not {"plain", "gps", "card"} & set(grid_names(web, client, "decided=no"))


def test_decisions_are_checked(web: ReviewWeb) -> None:
    client = web.login("rita")
    csrf = {"X-CSRF-Token": session_csrf(client)}
    url = f"/cases/{CASE}/decisions"
    assert client.post(url, data={"category": "A", "sha256": [web.sha("plain")]}, headers=csrf).status_code == 400
    assert client.post(url, data={"category": "1", "sha256": ["../x"]}, headers=csrf).status_code == 400
    assert client.post(url, data={"category": "1", "sha256": ["0" * 64]}, headers=csrf).status_code == 404
    assert client.post(url, data={"category": "1", "sha256": [web.sha("plain")]}).status_code == 403  # no CSRF token
    outsider = web.login(OUTSIDER)
    refused = outsider.post(
        url, data={"category": "1", "sha256": [web.sha("plain")]}, headers={"X-CSRF-Token": session_csrf(outsider)}
    )
    assert refused.status_code == 404
    with web.case.store.session() as session:
        assert session.scalar(select(Decision.id).where(Decision.decided_by.in_(["rita", OUTSIDER]))) is None


def test_the_item_page_form_decides_and_comes_back(web: ReviewWeb) -> None:
    client = web.login("rita")
    item = f"/cases/{CASE}/items/{web.sha('stack-small')}"
    page = client.get(item, headers=HTML).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(
        f"/cases/{CASE}/decisions",
        data={"category": "3", "sha256": web.sha("stack-small"), "next": item, "csrf_token": token},
    )
    assert response.status_code == 303 and response.headers["location"] == item
    page = client.get(item, headers=HTML).text
    assert "Current: <b>3</b>" in page
    escape = client.post(
        f"/cases/{CASE}/decisions/undo", data={"next": "https://elsewhere.example/", "csrf_token": token}
    )
    assert escape.status_code == 303 and escape.headers["location"] == f"/cases/{CASE}/review"


# ---------------------------------------------------------------- pages


def test_the_dashboard_shows_counts_sources_errors_and_people(site: ReviewWeb) -> None:
    page = site.login("rita").get(f"/cases/{CASE}", headers=HTML)
    assert page.status_code == 200
    text = page.text
    assert 'id="chart-status"' in text and 'id="chart-category"' in text
    assert "PHONE" in text and "CARD" in text and "broken.jpg" in text
    assert re.search(r'<progress id="dashboard-progress" value="\d+" max="\d+">', text)
    assert "<script>" not in text and "style=" not in text  # CSP: no inline scripts or styles


def test_the_item_page_shows_hashes_paths_exif_matches_stack(site: ReviewWeb) -> None:
    client = site.login("rita")
    gps = client.get(f"/cases/{CASE}/items/{site.sha('gps')}", headers=HTML).text
    assert site.sha("gps") in gps and "PHONE:/DCIM/gps.jpg" in gps
    assert re.search(r'id="item-gps">51\.51\d*, -0\.13\d*<', gps)
    known = client.get(f"/cases/{CASE}/items/{site.sha('known')}", headers=HTML).text
    assert "known-md5" in known and "PHONE:/Downloads/known-copy.jpg" in known
    small = client.get(f"/cases/{CASE}/items/{site.sha('stack-small')}", headers=HTML).text
    assert 'id="item-stack"' in small and "representative" in small
    assert client.get(f"/cases/{CASE}/items/{'0' * 64}", headers=HTML).status_code == 404


def test_the_audit_page_is_for_investigators_and_pages_back(site: ReviewWeb) -> None:
    assert site.login("rita").get(f"/cases/{CASE}/audit", headers=HTML).status_code == 403
    client = site.login("ines")
    page = client.get(f"/cases/{CASE}/audit", headers=HTML)
    assert page.status_code == 200 and "case.create" in page.text
    seqs = [int(s) for s in re.findall(r'<td class="num">(\d+)</td>', page.text)]
    assert seqs == sorted(seqs, reverse=True)
    older = client.get(f"/cases/{CASE}/audit?before=2", headers=HTML).text
    assert re.findall(r'<td class="num">(\d+)</td>', older) == ["1"]
    assert client.get(f"/cases/{CASE}/audit?before=x", headers=HTML).status_code == 400
