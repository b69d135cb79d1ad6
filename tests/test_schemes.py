"""Category schemes as data: presets, custom schemes, explicit mappings, and their use on import and matching."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from hashset_builders import fake_hash, vics_media, write_plain, write_text, write_vics
from haven.audit import GLOBAL_CHAIN, verify_chain
from haven.cases import create_case
from haven.errors import HavenError
from haven.hashsets import HashSetImportError, import_hashset
from haven.matching.run import match_case
from haven.schemes import (
    CategoryMapper,
    categories,
    create_scheme_from_file,
    describe_scheme,
    list_schemes,
    map_category,
    mapping,
    set_mapping_from_file,
)
from haven.store import Store
from haven.store.models import AuditEvent, CategoryMapping, Content, Decision, HashEntry, HashSet

USER = "tester"


def content(case_id: int, name: str) -> Content:
    data = name.encode()
    return Content(
        case_id=case_id,
        sha256=hashlib.sha256(data).hexdigest(),
        md5=hashlib.md5(data).hexdigest(),
        sha1=hashlib.sha1(data).hexdigest(),
        size=len(data),
        kind="image",
    )


def make_case(store: Store, reference: str, scheme: str, names: list[str]) -> dict[str, int]:
    with store.session() as session:
        case, _ = create_case(session, reference, user=USER, scheme=scheme)
        contents = {name: content(case.id, f"{reference}:{name}") for name in names}
        session.add_all(contents.values())
        session.flush()
        return {name: c.id for name, c in contents.items()}


def md5_of(store: Store, content_id: int) -> str:
    with store.session() as session:
        return session.get_one(Content, content_id).md5


def current_categories(store: Store) -> dict[int, str]:
    with store.session() as session:
        rows = session.execute(select(Decision.content_id, Decision.category).order_by(Decision.id))
        return {content_id: category for content_id, category in rows}


# ---------------------------------------------------------------- presets


def test_presets_are_there_after_migration_in_review_order(store: Store) -> None:
    with store.session() as session:
        schemes = {s["name"]: s for s in list_schemes(session)}
        orders = {name: [c.code for c in categories(session, name)] for name in schemes}
        described = describe_scheme(session, "caid-uk")
    assert {name: (s["builtin"], s["codes"]) for name, s in schemes.items()} == {
        "caid-uk": (True, 5),
        "vic-ca": (True, 6),
        "vic-us": (True, 6),
    }
    # Number keys 1..9 follow this order: assignable codes first, "uncategorized" last.
    assert orders == {
        "vic-us": ["1", "2", "3", "4", "5", "0"],
        "vic-ca": ["1", "2", "3", "4", "5", "0"],
        "caid-uk": ["A", "B", "C", "N", "U"],
    }
    assert [c["position"] for c in described["categories"]] == [1, 2, 3, 4, 5]
    assert described["maps_to"] == {"vic-us": 3, "vic-ca": 3}


def test_preset_mappings_are_explicit_and_leave_what_needs_a_reviewer_unmapped(store: Store) -> None:
    with store.session() as session:
        us_to_uk = {m.from_code: m.to_code for m in mapping(session, "vic-us", "caid-uk")}
        uk_to_ca = {m.from_code: m.to_code for m in mapping(session, "caid-uk", "vic-ca")}
        us_to_ca = {m.from_code: m.to_code for m in mapping(session, "vic-us", "vic-ca")}
        cam_note = next(m.note for m in mapping(session, "vic-us", "caid-uk") if m.from_code == "1")
    assert us_to_ca == {code: code for code in "123450"}
    assert us_to_uk == {"1": None, "2": None, "3": None, "4": "N", "5": "N", "0": "U"}
    assert uk_to_ca == {"A": "1", "B": "1", "C": None, "N": None, "U": "0"}
    assert cam_note is not None and "UNMAPPED" in cam_note  # the row says why, for `haven scheme mapping`


@pytest.mark.parametrize(
    ("code", "source", "target", "expected"),
    [
        ("1", "vic-us", "vic-ca", "1"),
        ("B", "caid-uk", "vic-us", "1"),
        ("b", "caid-uk", "vic-us", "1"),  # spelling folded to the scheme's own
        ("C", "caid-uk", "vic-us", None),  # explicit "unmapped" row
        ("1", "vic-us", "caid-uk", None),  # CAM is A, B or C only by looking
        ("5", "vic-ca", "caid-uk", "N"),
        ("01", "vic-us", "vic-us", "1"),  # same scheme: the code, canonical
        ("9", "vic-us", "vic-us", None),  # not a code of the scheme
        ("1", None, "vic-us", "1"),  # no declared scheme: taken as the case's own code ...
        ("A", None, "vic-us", None),  # ... only when it is one
        ("1", "custom", "vic-us", None),  # VICS /CUSTOM/ names no scheme: never mapped
        ("Z", "caid-uk", "vic-us", None),  # not a code of the source scheme
    ],
)
def test_map_category(store: Store, code: str, source: str | None, target: str, expected: str | None) -> None:
    with store.session() as session:
        assert map_category(session, code, source, target) == expected


# ---------------------------------------------------------------- custom schemes


def test_custom_scheme_from_csv_and_json(store: Store, tmp_path: Path) -> None:
    csv_file = write_text(
        tmp_path / "agency.csv",
        ["code,name,meaning", "# our triage codes", "10,Priority,Look first", "", "20,Routine,", '30,"Other, misc",x'],
    )
    json_file = tmp_path / "codes.json"
    json_file.write_text(
        json.dumps(
            {
                "title": "Numeric test scheme",
                "categories": [{"code": 7, "name": "Seven"}, {"code": "8", "name": "Eight", "meaning": "m"}],
            }
        )
    )
    with store.session() as session:
        create_scheme_from_file(session, "agency-x", csv_file, user=USER, title="Agency X")
        create_scheme_from_file(session, "numbers", json_file, user=USER)
    with store.session() as session:
        agency = describe_scheme(session, "agency-x")
        numbers = describe_scheme(session, "numbers")
        case, created = create_case(session, "OP-X", user=USER, scheme="agency-x")  # a custom scheme for a case
        assert created and case.scheme == "agency-x"
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.chain == GLOBAL_CHAIN)))
        assert verify_chain(session, GLOBAL_CHAIN)[1] is None
    assert (agency["title"], agency["builtin"]) == ("Agency X", False)
    assert [(c["code"], c["name"], c["meaning"], c["position"]) for c in agency["categories"]] == [
        ("10", "Priority", "Look first", 1),
        ("20", "Routine", None, 2),
        ("30", "Other, misc", "x", 3),
    ]
    assert numbers["title"] == "Numeric test scheme"
    assert [c["code"] for c in numbers["categories"]] == ["7", "8"]
    assert actions.count("scheme.create") == 2


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("ok", "", "the file is empty"),
        ("ok", "code,name\n1,One\n01,Also one\n", "line 3: code '01' repeats the code at line 2"),
        ("ok", "code,name\n1,One\n2,\n", "line 3: no name for code '2'"),
        ("ok", "code,name\n" + "x" * 21 + ",Long\n", "line 2: code"),
        ("ok", '[{"code": 1, "name": "One"}, 5]', "item 2: expected an object"),
        ("ok", '{"categories": [', "not valid JSON"),
        ("ok", '{"title": "t"}', 'an object with a "categories" list'),
        ("ok", "code,name\n", "no categories"),
        ("custom", "1,One\n", "'custom' is reserved"),
        ("Bad Name", "1,One\n", "scheme name 'Bad Name' must be"),
        ("vic-us", "1,One\n", "category scheme 'vic-us' already exists"),
    ],
)
def test_bad_scheme_files_are_refused_with_where(
    store: Store, tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / "scheme.txt"
    path.write_text(text)
    with pytest.raises(HavenError, match=None) as raised, store.session() as session:
        create_scheme_from_file(session, name, path, user=USER)
    assert message in str(raised.value)
    with store.session() as session:
        assert {s["name"] for s in list_schemes(session)} == {"vic-us", "vic-ca", "caid-uk"}  # nothing half-made


# ---------------------------------------------------------------- mapping files


def test_mapping_file_replaces_the_whole_mapping(store: Store, tmp_path: Path) -> None:
    write_text(tmp_path / "agency.csv", ["1,Seen before", "2,Needs review", "3,Nothing"])
    first = write_text(
        tmp_path / "map1.csv", ["from_code,to_code,note", "1,01,by policy", "2,,a reviewer decides", "3,5"]
    )
    second = write_text(tmp_path / "map2.csv", ["3,4"])
    with store.session() as session:
        create_scheme_from_file(session, "agency", tmp_path / "agency.csv", user=USER)
        change = set_mapping_from_file(session, "agency", "vic-us", first, user=USER)
    assert (change.mapped, change.unmapped, change.after) == (2, 1, {"1": "1", "2": None, "3": "5"})
    with store.session() as session:
        rows = {m.from_code: (m.to_code, m.note) for m in mapping(session, "agency", "vic-us")}
        mapper = CategoryMapper(session)
        assert [mapper.map(code, "agency", "vic-us") for code in ("1", "2", "3")] == ["1", None, "5"]
    assert rows["1"] == ("1", "by policy") and rows["2"] == (None, "a reviewer decides")
    assert rows["3"][0] == "5" and rows["3"][1] is not None and "tester" in rows["3"][1]

    with store.session() as session:
        change = set_mapping_from_file(session, "agency", "vic-us", second, user=USER)
        assert change.before == {"1": "1", "2": None, "3": "5"}
        assert map_category(session, "1", "agency", "vic-us") is None  # left out of the new file: unmapped
        assert map_category(session, "3", "agency", "vic-us") == "4"
        logged = session.scalars(select(AuditEvent.action).where(AuditEvent.action == "scheme.mapping.set")).all()
    assert len(logged) == 2


@pytest.mark.parametrize(
    ("source", "target", "lines", "message"),
    [
        ("caid-uk", "vic-us", ["A,1", "Q,1"], "line 2: 'Q' is not a code of scheme caid-uk"),
        ("caid-uk", "vic-us", ["A,1", "B,7"], "line 2: '7' is not a code of scheme vic-us"),
        ("caid-uk", "vic-us", ["A,1", "a,1"], "line 2: code 'A' is already mapped at line 1"),
        ("caid-uk", "vic-us", ["A,1,why,extra"], "line 1: expected from_code,to_code[,note]"),
        ("caid-uk", "caid-uk", ["A,A"], "a mapping needs two different schemes"),
        ("caid-uk", "nope", ["A,1"], "unknown category scheme 'nope'"),
    ],
)
def test_bad_mapping_files_change_nothing(
    store: Store, tmp_path: Path, source: str, target: str, lines: list[str], message: str
) -> None:
    path = write_text(tmp_path / "map.csv", lines)
    with store.session() as session:
        before = session.execute(
            select(CategoryMapping.from_scheme, CategoryMapping.from_code, CategoryMapping.to_code)
        ).all()
    with pytest.raises(HavenError) as raised, store.session() as session:
        set_mapping_from_file(session, source, target, path, user=USER)
    assert message in str(raised.value)
    with store.session() as session:
        after = session.execute(
            select(CategoryMapping.from_scheme, CategoryMapping.from_code, CategoryMapping.to_code)
        ).all()
    assert set(map(tuple, after)) == set(map(tuple, before))


# ---------------------------------------------------------------- import


def stored_categories(store: Store, set_name: str) -> dict[str, str | None]:
    with store.session() as session:
        rows = session.execute(select(HashEntry.md5, HashEntry.category).join(HashSet).where(HashSet.name == set_name))
        return {md5: category for md5, category in rows}


def test_scheme_option_skips_categories_outside_it_with_line_numbers(store: Store, tmp_path: Path) -> None:
    h = [fake_hash("md5", i) for i in range(6)]
    path = write_text(
        tmp_path / "list.txt",
        [
            "md5,category",
            "# exported by hand",
            f"{h[0]},1",
            "",
            f"{h[1]},X",
            f"{h[2]},01",
            f"{h[3]}",
            f"{h[4]},A",
            h[5],
        ],
    )
    result = import_hashset(store, path, user=USER, scheme="vic-us")
    assert (result.imported, result.skipped) == (4, 2)
    assert result.skipped_reasons == [
        "line 5: category 'X' is not in scheme vic-us",
        "line 8: category 'A' is not in scheme vic-us",
    ]
    assert stored_categories(store, "list") == {h[0]: "1", h[2]: "1", h[3]: None, h[5]: None}  # "01" is code 1
    with store.session() as session:
        assert session.scalar(select(HashSet.scheme).where(HashSet.name == "list")) == "vic-us"


def test_line_numbers_for_hma_rows_and_a_hash_listed_twice(store: Store, tmp_path: Path) -> None:
    h = [fake_hash("md5", i) for i in range(3)]
    hma = write_text(
        tmp_path / "hma.csv",
        ["signal_type,signal_str,collab,category,tags", f"md5,{h[0]},x,a,", f"md5,{h[1]},x,Z,", f"md5,{h[2]},x,U,"],
    )
    twice = write_plain(tmp_path / "twice.txt", [(h[0], "B"), (h[0], "Q"), (h[1], "c")])  # same hash, lines 1 and 2
    result = import_hashset(store, hma, user=USER, scheme="caid-uk")
    assert result.skipped_reasons == ["line 3: category 'Z' is not in scheme caid-uk"]
    assert import_hashset(store, twice, user=USER, scheme="caid-uk").skipped_reasons == [
        "line 2: category 'Q' is not in scheme caid-uk"
    ]
    assert stored_categories(store, "hma") == {h[0]: "A", h[2]: "U"}


def test_vics_categories_outside_the_declared_scheme_are_skipped_by_record(store: Store, tmp_path: Path) -> None:
    media = [
        vics_media(fake_hash("md5", 1), media_id=1, category=1),
        vics_media(fake_hash("md5", 2), media_id=2, category="1"),  # "1" and 1 are one code
        vics_media(fake_hash("md5", 3), media_id=3, category=9),
        vics_media(fake_hash("md5", 4), media_id=4, category=None),
        vics_media(fake_hash("md5", 5), media_id=5, category="B"),
    ]
    path = write_vics(tmp_path / "us.json", media, segment="US")
    result = import_hashset(store, path, user=USER)
    assert result.skipped_reasons == [
        "record 3: category '9' is not in scheme vic-us",
        "record 5: category 'B' is not in scheme vic-us",
    ]
    assert sorted(stored_categories(store, "us").values(), key=str) == ["1", "1", None]


def test_a_file_declaring_one_scheme_and_an_option_saying_another_is_refused(store: Store, tmp_path: Path) -> None:
    path = write_vics(tmp_path / "uk.json", [vics_media(fake_hash("md5", 1), category="A")], segment="UK")
    with pytest.raises(HashSetImportError, match="declares category scheme caid-uk, but --scheme says vic-us"):
        import_hashset(store, path, user=USER, scheme="vic-us")
    with pytest.raises(HashSetImportError, match="unknown category scheme 'nope'"):
        import_hashset(store, path, user=USER, scheme="nope")
    with store.session() as session:
        assert session.scalar(select(HashSet.id)) is None
    assert import_hashset(store, path, user=USER, scheme="caid-uk").imported == 1  # agreeing is fine


def test_vics_custom_segment_needs_a_scheme_to_be_applied(store: Store, tmp_path: Path) -> None:
    media = [vics_media(fake_hash("md5", 1), category=7), vics_media(fake_hash("md5", 2), media_id=2, category=99)]
    unnamed = write_vics(tmp_path / "unnamed.json", media, segment="CUSTOM")
    result = import_hashset(store, unnamed, user=USER)
    assert (result.imported, result.skipped) == (2, 0)  # kept as written ...
    assert any("custom category scheme" in warning for warning in result.warnings)  # ... and said so
    assert stored_categories(store, "unnamed") == {fake_hash("md5", 1): "7", fake_hash("md5", 2): "99"}

    write_text(tmp_path / "partner.csv", ["7,Partner seven", "8,Partner eight"])
    with store.session() as session:
        create_scheme_from_file(session, "partner", tmp_path / "partner.csv", user=USER)
    named = write_vics(
        tmp_path / "named.json", [*media[:1], vics_media(fake_hash("md5", 3), category=99)], segment="CUSTOM"
    )
    result = import_hashset(store, named, user=USER, scheme="partner")
    assert result.skipped_reasons == ["record 2: category '99' is not in scheme partner"]
    with store.session() as session:
        schemes = dict(session.execute(select(HashSet.name, HashSet.scheme)).all())
    assert schemes == {"unnamed": "custom", "named": "partner"}
    with pytest.raises(HashSetImportError, match="'custom' names no scheme"):
        import_hashset(store, write_plain(tmp_path / "p.txt", [fake_hash("md5", 9)]), user=USER, scheme="custom")


# ---------------------------------------------------------------- matching


def test_caid_set_in_a_vic_us_case_maps_by_the_table_and_reports_the_rest(store: Store, tmp_path: Path) -> None:
    ids = make_case(store, "OP-US", "vic-us", ["a", "b", "b2", "c", "n", "u", "mine"])
    codes = {"a": "A", "b": "B", "b2": "B", "c": "C", "n": "N", "u": "U", "mine": "C"}
    path = write_plain(tmp_path / "uk-list.txt", [(md5_of(store, ids[k]), code) for k, code in codes.items()])
    import_hashset(store, path, user=USER, scheme="caid-uk")
    with store.session() as session:
        session.add(Decision(content_id=ids["mine"], category="2", source="user", decided_by="alice"))

    summary = match_case(store, "OP-US", user=USER)

    decided = current_categories(store)
    assert {k: decided.get(ids[k]) for k in codes} == {
        "a": "1",
        "b": "1",
        "b2": "1",
        "c": None,
        "n": None,
        "u": "0",
        "mine": "2",  # a person's decision stands, and is not counted as unmapped
    }
    assert summary.decisions_added == 4
    assert [str(u) for u in summary.unmapped] == [
        "1 pre-categorizations from set uk-list were not applied: no mapping from caid-uk code C to vic-us",
        "1 pre-categorizations from set uk-list were not applied: no mapping from caid-uk code N to vic-us",
    ]
    with store.session() as session:
        detail = json.loads(session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "match")).one())
    assert detail["decisions_unmapped"][0] == {
        "set": "uk-list",
        "from_scheme": "caid-uk",
        "code": "C",
        "to_scheme": "vic-us",
        "contents": 1,
    }
    again = match_case(store, "OP-US", user=USER)  # re-running adds nothing and says the same
    assert again.decisions_added == 0 and again.unmapped == summary.unmapped


def test_vics_uk_file_matched_into_a_vic_canada_case(store: Store, tmp_path: Path) -> None:
    ids = make_case(store, "OP-CA", "vic-ca", ["a", "c", "u", "other"])
    media = [
        vics_media(md5_of(store, ids["a"]), media_id=1, category="A"),
        vics_media(md5_of(store, ids["c"]), media_id=2, category="C"),
        vics_media(md5_of(store, ids["u"]), media_id=3, category="U"),
    ]
    import_hashset(store, write_vics(tmp_path / "caid.json", media, segment="UK", collection="Media"), user=USER)

    summary = match_case(store, "OP-CA", user=USER)

    decided = current_categories(store)
    assert (decided.get(ids["a"]), decided.get(ids["c"]), decided.get(ids["u"])) == ("1", None, "0")
    assert [(u.set_name, u.from_scheme, u.code, u.to_scheme, u.contents) for u in summary.unmapped] == [
        ("caid", "caid-uk", "C", "vic-ca", 1)
    ]
    with store.session() as session:
        statuses = {cid: session.get_one(Content, cid).status for cid in ids.values()}
    assert statuses[ids["c"]] == "known"  # unmapped, yet still flagged as known for review


def test_a_set_without_a_scheme_applies_only_codes_of_the_case_scheme(store: Store, tmp_path: Path) -> None:
    ids = make_case(store, "OP-UK", "caid-uk", ["one", "a", "lower"])
    path = write_plain(
        tmp_path / "plain.txt",
        [(md5_of(store, ids["one"]), "1"), (md5_of(store, ids["a"]), "A"), (md5_of(store, ids["lower"]), "b")],
    )
    assert import_hashset(store, path, user=USER).imported == 3  # no scheme declared: nothing checked at import

    summary = match_case(store, "OP-UK", user=USER)

    decided = current_categories(store)
    assert (decided.get(ids["one"]), decided.get(ids["a"]), decided.get(ids["lower"])) == (None, "A", "B")
    assert [str(u) for u in summary.unmapped] == [
        "1 pre-categorizations from set plain were not applied: set declares no scheme and code 1 is not in caid-uk"
    ]
