"""The latency bench's synthetic case generator, small: what it writes is what the review app expects.

bench/web_latency.py builds 100,000 items with bench/synthetic_case.py; here 500 on each back end,
checked against the review services' own rules and rendered by the real app (no timing assertions).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from haven import accounts
from haven.config import Config
from haven.review.grid import GridFilters, grid_page
from haven.store import Store
from haven.store.current_category import refresh_case_categories
from haven.store.models import Content, Decision, DecisionBatch, NearGroupMember, Occurrence, Thumbnail

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from synthetic_case import SyntheticCaseSummary, build_synthetic_case
from web_fixtures import BASE_URL, login_csrf

REF = "SMOKE-500"
PASSWORD = "smoke-test-password-1"


@pytest.fixture
def built(store: Store) -> SyntheticCaseSummary:
    return build_synthetic_case(store, REF, items=500, seed=3)


@pytest.fixture
def client(store: Store, built: SyntheticCaseSummary, tmp_path: Path) -> Iterator[TestClient]:
    from haven.web.app import create_app

    with store.session() as session:
        accounts.create_user(session, "smoke", PASSWORD, role="investigator", by="test")
        accounts.add_member(session, REF, "smoke", role="investigator", by="test")
    config = Config(home=tmp_path, database_url=store.engine.url.render_as_string(hide_password=False), user="test")
    with TestClient(create_app(config, store), base_url=BASE_URL, follow_redirects=False) as client:
        done = client.post("/login", data={"username": "smoke", "password": PASSWORD, "csrf_token": login_csrf(client)})
        assert done.status_code == 303
        yield client


def test_generator_writes_the_shape_of_an_ingested_case(store: Store, built: SyntheticCaseSummary) -> None:
    assert built.items == 500 and sum(built.by_status.values()) == 500
    assert built.stacks > 0 and built.decisions > 0
    with store.session() as session:
        case_contents = select(Content.id).where(Content.case_id == built.case_id)
        assert session.scalar(select(func.count()).select_from(case_contents.subquery())) == 500
        occurrences = session.scalar(select(func.count(Occurrence.id)).where(Occurrence.content_id.in_(case_contents)))
        assert occurrences == built.occurrences >= 500
        thumbnails = session.scalar(select(func.count()).where(Thumbnail.content_id.in_(case_contents)))
        assert thumbnails == built.thumbnails > 0
        members = session.scalar(select(func.count(NearGroupMember.id)))
        assert members == built.stacked_items >= 2 * built.stacks
        # Every decision belongs to a review action, as the review grid records them.
        assert session.scalar(select(func.count(Decision.id)).where(Decision.batch_id.is_(None))) == 0
        assert (session.scalar(select(func.count(DecisionBatch.id))) or 0) > 0
        stored = dict(
            session.execute(select(Content.id, Content.current_category).where(Content.case_id == built.case_id)).all()
        )
        # The current category kept on each row is what the review service derives from the history.
        refresh_case_categories(session, built.case_id)
        session.expire_all()
        derived = dict(
            session.execute(select(Content.id, Content.current_category).where(Content.case_id == built.case_id)).all()
        )
    assert stored == derived
    assert sum(1 for v in stored.values() if v is not None) == built.decisions


def test_the_grid_renders_the_synthetic_case(store: Store, built: SyntheticCaseSummary, client: TestClient) -> None:
    with store.session() as session:
        first = grid_page(session, built.case_id, GridFilters())
        second = grid_page(session, built.case_id, GridFilters(), cursor=first.next_cursor)
    assert first.tiles and first.next_cursor is not None

    page = client.get(f"/cases/{REF}/review")
    assert page.status_code == 200
    for tile in first.tiles:
        assert tile.sha256 in page.text
    deeper = client.get(f"/cases/{REF}/review/page", params={"cursor": first.next_cursor})
    assert deeper.status_code == 200
    assert all(tile.sha256 in deeper.text for tile in second.tiles)
    assert not any(tile.sha256 in deeper.text for tile in first.tiles)

    thumbnail = client.get(f"/cases/{REF}/items/{built.sample_sha256[0]}/thumbnail")
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/jpeg"

    stats = client.get(f"/cases/{REF}/stats.json")
    assert stats.status_code == 200
    assert {k: v for k, v in stats.json()["by_status"].items() if v} == built.by_status
