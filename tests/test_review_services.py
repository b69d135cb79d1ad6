"""Review services on a real ingested case, on SQLite and PostgreSQL: the grid query (order, stacks,
filters, keyset pages), decisions with propagation and undo, the dashboard and the item view."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backends import BACKENDS
from haven.audit import verify_chain
from haven.cases import case_chain
from haven.errors import HavenError
from haven.review.categories import scheme_categories
from haven.review.dashboard import gather_dashboard, review_progress
from haven.review.decide import content_ids_for, decide, undo
from haven.review.grid import GridFilters, GridQueryError, grid_page
from haven.review.item import ItemNotFoundError, item_view
from haven.store import Store
from haven.store.current_category import refresh_case_categories
from haven.store.models import AuditEvent, Case, Content, Decision, Source
from test_review_case import CASE, ReviewCase, build_review_case, shared_review_case


@pytest.fixture(scope="module", params=BACKENDS)
def shared_case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReviewCase]:
    yield from shared_review_case(request, tmp_path_factory)


ALL_ROWS = 200


def shas(case: ReviewCase, filters: GridFilters, limit: int = ALL_ROWS) -> list[str]:
    with case.store.session() as session:
        return [t.sha256 for t in grid_page(session, case.case_id, filters, limit=limit).tiles]


def names(case: ReviewCase, filters: GridFilters) -> list[str]:
    by_sha = {sha: name for name, sha in case.sha.items()}
    return [by_sha[s] for s in shas(case, filters)]


def the_case(session: Session, case: ReviewCase) -> Case:
    return session.get_one(Case, case.case_id)


@pytest.fixture
def fresh_case(store: Store, tmp_path: Path) -> ReviewCase:
    """A case of its own for tests that change it."""
    return build_review_case(store, tmp_path / "case")


# ---------------------------------------------------------------- grid


def test_unknown_first_then_near_known_then_errors_one_tile_per_stack(shared_case: ReviewCase) -> None:
    shown = names(shared_case, GridFilters())
    statuses = [s for s in ("unknown", "near-known", "error")]
    with shared_case.store.session() as session:
        status = dict(session.execute(select(Content.sha256, Content.status)).all())
    ranks = [statuses.index(status[shared_case.sha[n]]) for n in shown]
    assert ranks == sorted(ranks)  # unknown, then near-known, then error
    assert shown[-2:] == ["near", "broken"]
    assert "known" not in shown  # known material is hidden unless asked
    stacked = [n for n in shown if n.startswith("stack")]
    assert stacked == ["stack-big"]  # the representative stands for its stack
    assert {"gps", "plain", "other-camera", "clip", "member", "deep", "card"} <= set(shown)
    assert not {"notes", "archive", "inner"} & set(shown)  # pictures and videos only by default


def test_a_stack_tile_carries_its_member_count(shared_case: ReviewCase) -> None:
    with shared_case.store.session() as session:
        tiles = grid_page(session, shared_case.case_id, GridFilters()).tiles
        unstacked = grid_page(session, shared_case.case_id, GridFilters(stacks=False)).tiles
    by_sha = {t.sha256: t for t in tiles}
    assert by_sha[shared_case.sha["stack-big"]].stack_size == 3
    assert by_sha[shared_case.sha["plain"]].stack_size == 1
    assert all(t.has_thumbnail for t in tiles if t.status != "error")
    assert {t.sha256 for t in unstacked} - {t.sha256 for t in tiles} == {
        shared_case.sha["stack-small"],
        shared_case.sha["stack-q"],
    }


def test_known_material_only_when_asked(shared_case: ReviewCase) -> None:
    shown = names(shared_case, GridFilters(show_known=True))
    assert shown[-1] == "known"
    assert names(shared_case, GridFilters(statuses=("known",))) == ["known"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (GridFilters(camera_make="Haven Test Camera Co."), {"gps"}),
        (GridFilters(camera_make="Other Maker", camera_model="OM-2"), {"other-camera"}),
        (GridFilters(has_gps=True), {"gps"}),
        (GridFilters(path_text="NESTED.7z"), {"deep"}),  # case-insensitive, through archive paths
        (GridFilters(path_text="%"), set()),  # LIKE wildcards are literal
        (GridFilters(kinds=("video",)), {"clip"}),
        (GridFilters(statuses=("near-known",)), {"near"}),
        (GridFilters(statuses=("error",)), {"broken"}),
        (GridFilters(kinds=("document",)), {"notes"}),
    ],
    ids=["make", "make+model", "gps", "path", "wildcard", "kind", "near-known", "error", "document-kind"],
)
def test_filters(shared_case: ReviewCase, filters: GridFilters, expected: set[str]) -> None:
    assert set(names(shared_case, filters)) == expected


def test_source_and_size_filters(shared_case: ReviewCase) -> None:
    with shared_case.store.session() as session:
        card = session.scalar(select(Source.id).where(Source.case_id == shared_case.case_id, Source.label == "CARD"))
        size = session.scalar(select(Content.size).where(Content.id == shared_case.ids["clip"]))
    assert names(shared_case, GridFilters(source_id=card)) == ["card"]
    assert names(shared_case, GridFilters(min_size=size, max_size=size)) == ["clip"]


def test_keyset_pages_walk_the_same_order_without_gaps(shared_case: ReviewCase) -> None:
    filters = GridFilters(show_known=True)
    everything = shas(shared_case, filters)
    walked: list[str] = []
    cursor = None
    with shared_case.store.session() as session:
        for _ in range(50):
            page = grid_page(session, shared_case.case_id, filters, cursor=cursor, limit=3)
            assert len(page.tiles) <= 3
            walked += [t.sha256 for t in page.tiles]
            cursor = page.next_cursor
            if cursor is None:
                break
    assert walked == everything
    assert len(everything) > 6


@pytest.mark.parametrize("cursor", ["x", "9.1", "1.", "1.2.3", "-1.5"])
def test_bad_cursors_and_filters_are_refused(shared_case: ReviewCase, cursor: str) -> None:
    with shared_case.store.session() as session, pytest.raises(GridQueryError):
        grid_page(session, shared_case.case_id, GridFilters(), cursor=cursor)
    with shared_case.store.session() as session, pytest.raises(GridQueryError):
        grid_page(session, shared_case.case_id, GridFilters(statuses=("nope",)))


def test_other_cases_never_show(shared_case: ReviewCase) -> None:
    with shared_case.store.session() as session:
        tiles = grid_page(session, shared_case.other_case_id, GridFilters()).tiles
    assert [t.sha256 for t in tiles] == [shared_case.sha["card"]]  # the same card, ingested into the other case
    with shared_case.store.session() as session:
        other_ids = set(session.scalars(select(Content.id).where(Content.case_id == shared_case.other_case_id)))
    assert {t.content_id for t in tiles} <= other_ids


# ---------------------------------------------------------------- decisions


def test_a_decision_on_a_stack_applies_to_all_its_members(fresh_case: ReviewCase) -> None:
    ids = fresh_case.ids
    with fresh_case.store.session() as session:
        result = decide(session, the_case(session, fresh_case), [ids["stack-big"]], "2", "alice")
    assert result.batch_id is not None and result.propagated == 2
    with fresh_case.store.session() as session:
        rows = {
            d.content_id: (d.category, d.source, d.source_detail, d.batch_id)
            for d in session.scalars(select(Decision).where(Decision.decided_by == "alice"))
        }
        current = dict(session.execute(select(Content.id, Content.current_category)).all())
        events = session.scalars(select(AuditEvent).where(AuditEvent.chain == case_chain(CASE))).all()
        assert verify_chain(session, case_chain(CASE))[1] is None
    big = fresh_case.sha["stack-big"]
    assert rows[ids["stack-big"]] == ("2", "user", None, result.batch_id)
    assert rows[ids["stack-small"]] == ("2", "propagated", big, result.batch_id)
    assert rows[ids["stack-q"]] == ("2", "propagated", big, result.batch_id)
    assert {current[ids[n]] for n in ("stack-big", "stack-small", "stack-q")} == {"2"}
    assert events[-1].action == "review.decide" and big in events[-1].detail


def test_decisions_are_validated(fresh_case: ReviewCase) -> None:
    with fresh_case.store.session() as session:
        case = the_case(session, fresh_case)
        with pytest.raises(HavenError, match="not a category of scheme vic-us"):
            decide(session, case, [fresh_case.ids["plain"]], "A", "alice")
        other_content = session.scalar(select(Content.id).where(Content.case_id == fresh_case.other_case_id))
        with pytest.raises(HavenError, match="not in case"):
            decide(session, case, [other_content], "1", "alice")
        with pytest.raises(HavenError, match="nothing selected"):
            decide(session, case, [], "1", "alice")
        assert session.scalar(select(func.count()).select_from(Decision).where(Decision.decided_by == "alice")) == 0


def test_a_repeated_decision_records_nothing_new(fresh_case: ReviewCase) -> None:
    with fresh_case.store.session() as session:
        case = the_case(session, fresh_case)
        decide(session, case, [fresh_case.ids["plain"]], "5", "alice")
        again = decide(session, case, [fresh_case.ids["plain"]], "5", "bob")
    assert again.batch_id is None and again.unchanged == 1


def test_undo_restores_previous_categories_step_by_step(fresh_case: ReviewCase) -> None:
    ids = fresh_case.ids
    stack = [ids["stack-big"], ids["stack-small"], ids["stack-q"]]

    def current() -> list[tuple[str | None, str | None]]:
        with fresh_case.store.session() as session:
            rows = dict(session.execute(select(Content.id, Content.current_category)).all())
            sources = dict(session.execute(select(Content.id, Content.category_source)).all())
        return [(rows[i], sources[i]) for i in stack]

    with fresh_case.store.session() as session:
        case = the_case(session, fresh_case)
        decide(session, case, [ids["stack-big"]], "1", "alice")
        decide(session, case, [ids["stack-big"]], "3", "alice")
        before = session.scalar(select(func.count()).select_from(Decision))
    assert current() == [("3", "user"), ("3", "propagated"), ("3", "propagated")]
    with fresh_case.store.session() as session:
        first = undo(session, the_case(session, fresh_case), "alice")
    assert first.restored == 3 and first.category == "3"
    assert current() == [("1", "user"), ("1", "propagated"), ("1", "propagated")]
    with fresh_case.store.session() as session:
        undo(session, the_case(session, fresh_case), "alice")
        after = session.scalar(select(func.count()).select_from(Decision))
        actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))][-2:]
    assert current() == [("0", "undo")] * 3  # back to "not yet reviewed", and not a person's decision
    assert after == before + 6  # history is kept: undo adds decisions, never removes them
    assert actions == ["review.undo", "review.undo"]
    with fresh_case.store.session() as session, pytest.raises(HavenError, match="nothing to undo"):
        undo(session, the_case(session, fresh_case), "alice")


def test_undo_is_per_person_and_leaves_later_changes_alone(fresh_case: ReviewCase) -> None:
    ids = fresh_case.ids
    with fresh_case.store.session() as session:
        case = the_case(session, fresh_case)
        decide(session, case, [ids["plain"], ids["gps"]], "1", "alice")
        decide(session, case, [ids["gps"]], "5", "bob")  # a colleague re-categorized one of them since
        with pytest.raises(HavenError, match="nothing to undo"):
            undo(session, case, "carol")
        result = undo(session, case, "alice")
        current = dict(session.execute(select(Content.id, Content.current_category)).all())
    assert (result.restored, result.kept) == (1, 1)
    assert current[ids["gps"]] == "5" and current[ids["plain"]] == "0"


def test_undo_brings_back_a_hash_set_category(fresh_case: ReviewCase) -> None:
    known = fresh_case.ids["known"]
    with fresh_case.store.session() as session:
        case = the_case(session, fresh_case)
        assert session.get_one(Content, known).current_category == "1"  # pre-categorized by the list
        decide(session, case, [known], "5", "alice")
        undo(session, case, "alice")
        restored = session.scalars(select(Decision).where(Decision.content_id == known).order_by(Decision.id)).all()
    assert (restored[-1].category, restored[-1].source, restored[-1].source_detail) == ("1", "hashset", "known-md5")


def test_refresh_case_categories_reads_the_latest_decision(fresh_case: ReviewCase) -> None:
    with fresh_case.store.session() as session:
        decide(session, the_case(session, fresh_case), [fresh_case.ids["plain"]], "4", "alice")
        session.execute(update(Content).values(current_category=None, category_source=None))
        refresh_case_categories(session, fresh_case.case_id)
        content = session.get_one(Content, fresh_case.ids["plain"])
        assert (content.current_category, content.category_source) == ("4", "user")


def test_content_ids_for_stays_in_the_case(shared_case: ReviewCase) -> None:
    card = shared_case.sha["card"]
    with shared_case.store.session() as session:
        found = content_ids_for(session, shared_case.case_id, [card, "0" * 64])
    assert found == {card: shared_case.ids["card"]}


def test_scheme_categories_follow_the_scheme_order(shared_case: ReviewCase) -> None:
    with shared_case.store.session() as session:
        vic = scheme_categories(session, "vic-us")
        uk = scheme_categories(session, "caid-uk")
    assert [(c.key, c.code) for c in vic][:2] == [("1", "1"), ("2", "2")]
    assert vic[-1].code == "0"  # "uncategorized" last
    assert [c.code for c in uk][:3] == ["A", "B", "C"]


# ---------------------------------------------------------------- dashboard and item


def test_dashboard_counts_and_progress_follow_decisions(fresh_case: ReviewCase) -> None:
    with fresh_case.store.session() as session:
        board = gather_dashboard(session, fresh_case.case_id, CASE, "vic-us")
    assert board.by_status["known"] == 1 and board.by_status["near-known"] == 1 and board.by_status["error"] == 1
    assert board.progress.decided == 0 and board.progress.total >= 9
    assert {s["label"] for s in board.sources} == {"PHONE", "CARD"}
    assert board.errors >= 1 and any("broken.jpg" in row["path"] for row in board.error_rows)
    by_code = {c.code: c.count for c in board.by_category}
    assert (by_code["1"], by_code["2"]) == (1, 1)  # the known and the near-known pictures, pre-categorized
    assert [c.code for c in board.by_category][:5] == ["1", "2", "3", "4", "5"]
    with fresh_case.store.session() as session:
        decide(session, the_case(session, fresh_case), [fresh_case.ids["stack-big"]], "2", "alice")
        progress = review_progress(session, fresh_case.case_id, "vic-us")
        board = gather_dashboard(session, fresh_case.case_id, CASE, "vic-us")
    assert progress.decided == 3 and progress.to_do == progress.total - 3
    assert {c.code: c.count for c in board.by_category}["2"] == 1 + 3
    alice = next(p for p in board.decisions_by_user if p["user"] == "alice")
    assert (alice["user_decisions"], alice["propagated"]) == (1, 2)
    assert board.recent_events[0]["action"] == "review.decide"


def test_item_view_shows_paths_exif_matches_stack_and_history(fresh_case: ReviewCase) -> None:
    with fresh_case.store.session() as session:
        known = item_view(session, fresh_case.case_id, fresh_case.sha["known"])
        gps = item_view(session, fresh_case.case_id, fresh_case.sha["gps"])
        decide(session, the_case(session, fresh_case), [fresh_case.ids["stack-big"]], "3", "alice")
        small = item_view(session, fresh_case.case_id, fresh_case.sha["stack-small"])
        deep = item_view(session, fresh_case.case_id, fresh_case.sha["deep"])
        with pytest.raises(ItemNotFoundError):
            item_view(session, fresh_case.other_case_id, fresh_case.sha["known"])
    assert [o["path"] for o in known.occurrences] == ["PHONE:/DCIM/known.jpg", "PHONE:/Downloads/known-copy.jpg"]
    assert known.matches[0]["set"] == "known-md5" and known.matches[0]["method"] == "md5"
    assert known.decisions[0]["source"] == "hashset"
    assert gps.exif["make"] == "Haven Test Camera Co." and gps.exif["gps_lat"] == pytest.approx(51.51, abs=0.01)
    assert small.stack is not None and small.stack.representative == fresh_case.sha["stack-big"]
    assert len(small.stack.members) == 3 and sum(m["self"] for m in small.stack.members) == 1
    assert small.decisions[0]["source"] == "propagated" and small.content["category"] == "3"
    assert deep.occurrences[0]["path"] == "PHONE:/backup.zip!/inner/nested.7z!/deep/deep.jpg"
