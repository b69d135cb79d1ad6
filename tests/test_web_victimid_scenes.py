"""The same-scene page on both store backends, on the real scenes stage: benign UKBench object photos
(views 4-7 are one tin box) among ImageNet distractors, ranked by score; a region; other cases named
only to their members; a picture not yet analysed."""

from __future__ import annotations

import hashlib
import re
from itertools import pairwise
from pathlib import Path

from sqlalchemy import select

from haven.pipeline import ingest
from haven.scenes.stage import analyse_scenes
from haven.store import Store
from haven.store.models import Case, Content
from scenes_builders import distractors, ukbench
from web_fixtures import WebCase, build_web_case

HTML = {"accept": "text/html"}
RANKED = re.compile(r'<tr data-sha256="([0-9a-f]{64})">\s*<td class="num">(\d+)</td>\s*<td class="num">([\d.]+)</td>')


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def add_pictures(web: WebCase, ref: str, folder: Path, pictures: dict[str, bytes]) -> None:
    folder.mkdir(parents=True)
    for name, data in pictures.items():
        (folder / name).write_bytes(data)
    ingest(web.store, web.config, ref, [folder], label=folder.name.upper(), workers=1, show_progress=False)


def scene_page(web: WebCase, client, ref: str, sha256: str, query: str = "") -> str:
    response = client.get(f"/cases/{ref}/items/{sha256}/same-scene{query}", headers=HTML)
    assert response.status_code == 200, response.text[:500]
    return response.text


def test_same_scene_ranks_the_other_views_and_keeps_other_cases_to_their_members(store: Store, tmp_path: Path) -> None:
    web = build_web_case(store, tmp_path / "home", images=2)
    tin4, tin5, puzzle = ukbench(4), ukbench(5), ukbench(0)
    pictures = {"tin4.jpg": tin4, "tin5.jpg": tin5, "puzzle0.jpg": puzzle}
    pictures |= {f"d{i}.jpg": data for i, data in enumerate(distractors(4))}
    add_pictures(web, web.case_ref, tmp_path / "ex2", pictures)
    add_pictures(web, web.other_case_ref, tmp_path / "ex3", {"tin6.jpg": ukbench(6)})
    analyse_scenes(store, web.config, web.case_ref, workers=1, show_progress=False)
    analyse_scenes(store, web.config, web.other_case_ref, workers=1, show_progress=False)
    client = web.login("reviewer")

    # The item page leads here; the other view of the tin box comes first, with its score.
    item = client.get(f"/cases/{web.case_ref}/items/{sha(tin4)}", headers=HTML).text
    assert f'href="/cases/{web.case_ref}/items/{sha(tin4)}/same-scene"' in item
    page = scene_page(web, client, web.case_ref, sha(tin4))
    ranked = RANKED.findall(page)
    assert ranked and ranked[0][0] == sha(tin5) and ranked[0][1] == "1" and float(ranked[0][2]) > 0
    assert sha(puzzle) not in {s for s, _, _ in ranked}
    assert all(float(a[2]) >= float(b[2]) for a, b in pairwise(ranked))
    assert f'src="/cases/{web.case_ref}/items/{sha(tin5)}/thumbnail"' in page
    whole = int(re.search(r"(\d+) features in the query", page).group(1))

    # A region: only the query's features inside it count.
    region = scene_page(web, client, web.case_ref, sha(tin4), "?x=0&y=0&w=320&h=240")
    inside = int(re.search(r"(\d+) features in the query, inside the region 0,0,320,240", region).group(1))
    assert 0 < inside < whole
    assert client.get(f"/cases/{web.case_ref}/items/{sha(tin4)}/same-scene?x=0&y=0&w=0&h=5").status_code == 400
    assert client.get(f"/cases/{web.case_ref}/items/{sha(tin4)}/same-scene?x=1&y=2").status_code == 400

    # Every case: the tin box in the other case is counted for a non-member, named for a member.
    everywhere = scene_page(web, client, web.case_ref, sha(tin4), "?all=1")
    assert sha(ukbench(6)) not in everywhere and web.other_case_ref not in everywhere
    assert "1 more in cases you are not a member of" in everywhere
    outsider = web.login("outsider")  # a member of the other case only
    assert outsider.get(f"/cases/{web.case_ref}/items/{sha(tin4)}/same-scene", headers=HTML).status_code == 404

    # A picture ingested after the scenes stage ran: the page says what to run.
    add_pictures(web, web.case_ref, tmp_path / "ex4", {"late.jpg": ukbench(7)})
    late = scene_page(web, client, web.case_ref, sha(ukbench(7)))
    assert 'id="scene-error"' in late and f"haven analyze {web.case_ref} --scenes" in late
    # Only contents of this case are ever searched from (never a path on the server).
    with store.session() as session:
        other_sha = session.scalar(
            select(Content.sha256).join(Case, Case.id == Content.case_id).where(Case.reference == web.other_case_ref)
        )
    assert client.get(f"/cases/{web.case_ref}/items/{other_sha}/same-scene").status_code == 404
