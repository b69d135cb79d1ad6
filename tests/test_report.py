"""The case report: report.json contract, report.html content and safety, batching on large cases.

All data is synthetic: hashes of made-up strings and tiny generated grey JPEGs.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import event, insert, select

from haven.report import CaseNotFound, ReportPaths, write_report
from haven.report.json_report import write_json
from haven.store import Store, open_store
from haven.store.current_category import refresh_case_categories
from haven.store.models import Case, Content, Decision, HashEntry, HashSet, Match, Occurrence, Source, Thumbnail

HOSTILE = "EXHIBIT-1:/photos/<script>alert(1)</script>.jpg"
NESTED = "EXHIBIT-2:/backup.zip!/inner.7z!/deep/x.jpg"
ORPHAN = "EXHIBIT-2:/backup.zip!/../../etc/passwd"
T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    # tests/conftest.py's parametrized `store` (SQLite and PostgreSQL) replaces this once it exists.
    s = open_store(f"sqlite:///{tmp_path}/h.db")
    yield s
    s.dispose()


def tiny_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (8, 8), 128).save(buffer, "JPEG")
    return buffer.getvalue()


def _hashes(name: str) -> dict[str, str]:
    data = name.encode()
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "md5": hashlib.md5(data).hexdigest(),
        "sha1": hashlib.sha1(data).hexdigest(),
    }


def _digest(path: str) -> str:
    return hashlib.sha1(path.encode()).hexdigest()


def build_case(store: Store) -> dict[str, str]:
    """One content of every status and kind; returns name -> sha256."""
    with store.session() as s:
        case = Case(reference="OP-HARBOUR-7", title="Test & <case>", scheme="vic-us", created_by="alice", created_at=T0)
        s.add(case)
        s.flush()
        folder = Source(case_id=case.id, label="EXHIBIT-1", kind="folder", location="/ev/1", registered_by="alice")
        archive = Source(
            case_id=case.id,
            label="EXHIBIT-2",
            kind="file",
            location="/ev/2.zip",
            size=1234,
            sha256="ab" * 32,
            registered_by="bob",
            status="complete",
        )
        s.add_all([folder, archive])
        sets = {
            name: HashSet(name=name, kind=kind, format="plain", file_sha256=name[0] * 64, imported_by="t")
            for name, kind in (("Known-MD5", "known"), ("Known-PDQ", "known"), ("NSRL", "known-good"))
        }
        s.add_all(sets.values())
        s.flush()

        specs: dict[str, dict[str, Any]] = {
            "u1": {
                "kind": "image",
                "status": "unknown",
                "width": 640,
                "height": 480,
                "mime": "image/jpeg",
                "pdq": "0f" * 32,
                "pdq_quality": 90,
                "exif_make": "Acme",
                "exif_model": "Cam 3000",
                "exif_serial": "SN123",
                "exif_datetime": "2025:07:01 10:11:12",
                "gps_lat": 51.5,
                "gps_lon": -0.125,
            },
            "u2": {"kind": "image", "status": "unknown", "mime": "image/png"},
            "nk": {"kind": "image", "status": "near-known"},
            "kn": {"kind": "image", "status": "known"},
            "kg": {"kind": "other", "status": "known-good"},
            "err": {"kind": "image", "status": "error", "error": "truncated image"},
            "vid": {"kind": "video", "status": "unknown", "duration": 12.5, "codec": "h264"},
            "arc": {"kind": "archive", "status": "unknown", "encrypted": "zip: encrypted entries"},
            "doc": {"kind": "document", "status": "known-good"},
        }
        contents = {
            name: Content(case_id=case.id, size=1000 + i, **_hashes(name), **spec)
            for i, (name, spec) in enumerate(specs.items())
        }
        s.add_all(contents.values())
        s.flush()

        occurrences = [
            (folder, "u1", HOSTILE, None),
            (archive, "u1", NESTED, None),
            (folder, "u2", "EXHIBIT-1:/photos/nothumb.png", None),
            (folder, "nk", "EXHIBIT-1:/photos/edited.jpg", None),
            (folder, "kn", "EXHIBIT-1:/photos/known.jpg", None),
            (folder, "kg", "EXHIBIT-1:/Windows/notepad.exe", None),
            (folder, "err", "EXHIBIT-1:/photos/broken.jpg", None),
            (archive, "err", "EXHIBIT-2:/backup.zip!/broken-copy.jpg", None),
            (folder, "vid", "EXHIBIT-1:/videos/clip.mp4", None),
            (folder, "arc", "EXHIBIT-1:/locked.zip", None),
            (folder, "doc", "EXHIBIT-1:/docs/readme.pdf", "metadata unreadable"),
            (archive, None, ORPHAN, "unsafe entry name"),
        ]
        for source, name, path, error in occurrences:
            s.add(
                Occurrence(
                    source_id=source.id,
                    content_id=contents[name].id if name else None,
                    path=path,
                    path_digest=_digest(path),
                    top_level=_digest(path.split("!")[0]),
                    error=error,
                )
            )

        thumb = tiny_jpeg()
        s.add_all([Thumbnail(content_id=contents[n].id, jpeg=thumb) for n in ("u1", "nk")])

        def match(name: str, set_name: str, method: str, distance: int, category: str | None) -> None:
            entry = HashEntry(set_id=sets[set_name].id, category=category, **{"md5": _hashes(name)["md5"]})
            s.add(entry)
            s.flush()
            s.add(
                Match(
                    content_id=contents[name].id,
                    entry_id=entry.id,
                    set_id=sets[set_name].id,
                    method=method,
                    distance=distance,
                )
            )

        match("nk", "Known-PDQ", "pdq", 12, "1")
        match("kn", "Known-MD5", "md5", 0, "1")
        match("kg", "NSRL", "sha1", 0, None)
        match("doc", "NSRL", "sha1", 0, None)

        def decide(name: str, category: str, at: datetime) -> None:
            s.add(
                Decision(
                    content_id=contents[name].id,
                    category=category,
                    source="user",
                    decided_by="alice",
                    decided_at=at,
                )
            )

        decide("nk", "1", T0)
        # Latest by time wins, not insertion order: "2" was decided later although inserted first.
        decide("kn", "2", T0 + timedelta(hours=2))
        decide("kn", "1", T0 + timedelta(hours=1))
        return {name: c.sha256 for name, c in contents.items()}


def add_other_case(store: Store) -> None:
    """Rows of a second case sharing the store: none of them may show up in OP-HARBOUR-7's report."""
    with store.session() as s:
        other = Case(reference="OTHER", scheme="vic-us", created_by="eve")
        s.add(other)
        s.flush()
        src = Source(case_id=other.id, label="X", kind="folder", location="/x", registered_by="eve")
        content = Content(
            case_id=other.id, size=1, kind="image", status="known", error="bad", encrypted="pw", **_hashes("u1")
        )
        s.add_all([src, content])
        s.flush()
        for path, cid in (("X:/a.jpg", content.id), ("X:/gone", None)):
            s.add(Occurrence(source_id=src.id, content_id=cid, path=path, path_digest=_digest(path), top_level="t"))
        s.add(Occurrence(source_id=src.id, path="X:/bad", path_digest=_digest("X:/bad"), top_level="t", error="x"))
        s.add(Decision(content_id=content.id, category="5", source="user", decided_by="eve", decided_at=T0))


@pytest.fixture
def report(store: Store, tmp_path: Path) -> tuple[ReportPaths, dict[str, Any], str, dict[str, str]]:
    shas = build_case(store)
    add_other_case(store)
    paths = write_report(store, "OP-HARBOUR-7", tmp_path / "out", pdq_threshold=31)
    doc = json.loads(paths.json_path.read_text(encoding="utf-8"))
    return paths, doc, paths.html_path.read_text(encoding="utf-8"), shas


def test_json_header_keys_and_counts(report: Any) -> None:
    paths, doc, _, _ = report
    for key in ("case", "generated_at", "haven_version", "sources", "totals", "known", "unknown_images"):
        assert key in doc
    for key in ("errors", "encrypted", "items"):
        assert isinstance(doc[key], list)
    assert doc["case"] == {
        "reference": "OP-HARBOUR-7",
        "title": "Test & <case>",
        "scheme": "vic-us",
        "created_at": "2026-01-02T03:04:05+00:00",
        "created_by": "alice",
    }
    generated = datetime.fromisoformat(doc["generated_at"])
    assert generated.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - generated) < timedelta(minutes=5)
    assert doc["haven_version"]

    assert [src["label"] for src in doc["sources"]] == ["EXHIBIT-1", "EXHIBIT-2"]
    ex2 = doc["sources"][1]
    assert {k: ex2[k] for k in ("kind", "location", "size", "sha256", "registered_by", "status", "files")} == {
        "kind": "file",
        "location": "/ev/2.zip",
        "size": 1234,
        "sha256": "ab" * 32,
        "registered_by": "bob",
        "status": "complete",
        "files": 3,
    }
    assert doc["sources"][0]["files"] == 9
    assert datetime.fromisoformat(ex2["registered_at"]).utcoffset() == timedelta(0)

    assert doc["totals"] == {
        "files": 12,
        "unique": 9,
        "images": 5,
        "videos": 1,
        "archives": 1,
        "other": 2,
        "documents": 1,
        "errors": 2,  # one content error + one occurrence error with no content
        "encrypted": 1,
    }
    assert doc["known"] == {"exact": 1, "perceptual": 1, "known_good": 2, "by_category": {"1": 1, "2": 1}}
    assert doc["unknown_images"] == 2
    assert doc["by_status"] == {"known": 1, "near-known": 1, "known-good": 2, "unknown": 4, "error": 1}
    assert doc["pdq_threshold"] == 31

    assert paths.summary["totals"] == doc["totals"]
    assert paths.summary["case"]["reference"] == "OP-HARBOUR-7"
    assert paths.summary["headline"] == (
        "12 files, 9 unique: 1 known (exact), 1 near-known, 2 system files (known-good), "
        "2 NEW images to review, 2 errors, 1 encrypted"
    )
    assert paths.summary["json_sha256"] == hashlib.sha256(paths.json_path.read_bytes()).hexdigest()
    assert paths.summary["html_sha256"] == hashlib.sha256(paths.html_path.read_bytes()).hexdigest()


def test_errors_and_encrypted_lists(report: Any) -> None:
    _, doc, _, shas = report
    assert doc["errors"] == [
        {"path": "EXHIBIT-1:/docs/readme.pdf", "error": "metadata unreadable", "sha256": shas["doc"]},
        {"path": "EXHIBIT-1:/photos/broken.jpg", "error": "truncated image", "sha256": shas["err"]},
        {"path": ORPHAN, "error": "unsafe entry name", "sha256": None},
        {"path": "EXHIBIT-2:/backup.zip!/broken-copy.jpg", "error": "truncated image", "sha256": shas["err"]},
    ]
    assert doc["encrypted"] == [
        {"path": "EXHIBIT-1:/locked.zip", "reason": "zip: encrypted entries", "sha256": shas["arc"]}
    ]


def test_items_fields_and_order(report: Any) -> None:
    _, doc, _, shas = report
    by_sha = {item["sha256"]: item for item in doc["items"]}
    assert len(doc["items"]) == len(by_sha) == 9
    order = [next(n for n, sha in shas.items() if sha == item["sha256"]) for item in doc["items"]]
    assert order[:3] == ["u1", "u2", "nk"]  # unknown images, then near-known
    assert set(order[3:]) == {"kn", "kg", "err", "vid", "arc", "doc"}

    u1 = by_sha[shas["u1"]]
    assert u1 == {
        **_hashes("u1"),
        "kind": "image",
        "width": 640,
        "height": 480,
        "pdq": "0f" * 32,
        "pdq_quality": 90,
        "paths": sorted([HOSTILE, NESTED]),
        "status": "unknown",
        "category": None,
        "matches": [],
        "size": 1000,
        "mime": "image/jpeg",
        "duration": None,
        "codec": None,
        "exif": {
            "make": "Acme",
            "model": "Cam 3000",
            "serial": "SN123",
            "datetime_original": "2025:07:01 10:11:12",
            "gps_lat": 51.5,
            "gps_lon": -0.125,
        },
        "encrypted": None,
        "error": None,
    }
    nk = by_sha[shas["nk"]]
    assert nk["status"] == "near-known" and nk["category"] == "1"
    assert nk["matches"] == [{"set": "Known-PDQ", "method": "pdq", "distance": 12, "entry_category": "1"}]
    assert by_sha[shas["kn"]]["category"] == "2"  # latest decision by time
    assert by_sha[shas["u2"]]["exif"] == {}
    assert by_sha[shas["err"]]["error"] == "truncated image"
    assert by_sha[shas["arc"]]["encrypted"] == "zip: encrypted entries"
    assert by_sha[shas["kg"]]["matches"][0]["set"] == "NSRL"
    assert by_sha[shas["kg"]]["status"] == "known-good"


class _Resources(HTMLParser):
    """Every URL-bearing attribute, and every tag name, in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "data", "action", "poster", "xlink:href"):
                self.urls.append((tag, name, value or ""))


def test_html_summary_charts_and_sections(report: Any) -> None:
    _, _, html, _ = report
    text = " ".join(html.split())
    assert "<strong>12</strong> files, <strong>9</strong> unique:" in text
    for fragment in (
        "<strong>1</strong> known (exact)",
        "<strong>1</strong> near-known",
        "<strong>2</strong> system files (known-good)",
        '<strong class="new">2</strong> NEW images to review',
        "<strong>2</strong> errors",
        "<strong>1</strong> encrypted",
        "within PDQ distance 31",
        "Errors (4 places)",
        "Encrypted (1 place)",
        "EXHIBIT-2:/backup.zip!/inner.7z!/deep/x.jpg",
        "Acme Cam 3000 (serial SN123)",
        "51.500000, -0.125000",
        "640 × 480",
        "Known-PDQ: distance 12 (pdq)",
        "<dt>Category</dt><dd>1 — CAM</dd>",
        "1 — CAM",  # category chart label carries the scheme's name
        "Test &amp; &lt;case&gt;",
    ):
        assert fragment in text, fragment
    assert text.count('<svg id="chart-') == 3
    assert '<title id="chart-status-t">Unique items by status</title>' in text
    assert "Unknown (new): 4" in text  # chart description gives numbers as text
    assert "Also not in any hash set" in text and "1 archive, 1 video." in text
    assert text.index('id="new"') < text.index('id="near"')


def test_html_is_safe_and_self_contained(report: Any) -> None:
    _, _, html, _ = report
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.jpg" in html
    assert "<script" not in html.lower()
    assert "http://" not in html and "https://" not in html
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    parser = _Resources()
    parser.feed(html)
    assert "script" not in parser.tags and "link" not in parser.tags and "iframe" not in parser.tags
    images = [value for tag, _, value in parser.urls if tag == "img"]
    assert len(images) == 2  # u1 (unknown) and nk (near-known): the only stored thumbnails
    assert all(src.startswith("data:image/jpeg;base64,") for src in images)
    assert all(value.startswith("#") for tag, _, value in parser.urls if tag == "a")
    assert "filter: grayscale(1) blur(4px)" in html
    assert ":hover" not in html  # nothing reveals a picture


def test_html_placeholder_for_missing_thumbnail(report: Any) -> None:
    _, _, html, _ = report
    new = html[html.index('id="new"') : html.index('id="near"')]
    cards = new.split('<div class="card">')[1:]
    nothumb = next(c for c in cards if "nothumb.png" in c)
    assert "No preview available" in nothumb and "<img" not in nothumb
    with_thumb = next(c for c in cards if "x.jpg" in c)
    assert "<img" in with_thumb


def test_thumbnail_cap_and_non_jpeg_refused(store: Store, tmp_path: Path) -> None:
    shas = build_case(store)
    with store.session() as s:
        u2 = s.scalar(select(Content).where(Content.sha256 == shas["u2"]))
        assert u2 is not None
        s.add(Thumbnail(content_id=u2.id, jpeg=b"\x89PNG\r\n\x1a\nnot a jpeg"))
    html = write_report(store, "OP-HARBOUR-7", tmp_path / "o", max_thumbnails=1).html_path.read_text()
    new = html[html.index('id="new"') : html.index('id="near"')]
    assert new.count("<img") == 1
    assert "Showing the first 1 of 2 new images" in new and "the other 1 are listed in report.json" in new
    html = write_report(store, "OP-HARBOUR-7", tmp_path / "p").html_path.read_text()
    new = html[html.index('id="new"') : html.index('id="near"')]
    assert new.count("<img") == 1 and new.count("No preview available") == 1  # the PNG is not embedded
    assert "data:image/png" not in html


def test_invisible_characters_in_names_are_shown(store: Store, tmp_path: Path) -> None:
    build_case(store)
    with store.session() as s:
        occ = s.scalar(select(Occurrence).where(Occurrence.path == "EXHIBIT-1:/photos/nothumb.png"))
        assert occ is not None
        occ.path = "EXHIBIT-1:/photos/evil\u202egpj.exe"
    paths = write_report(store, "OP-HARBOUR-7", tmp_path / "o")
    html = paths.html_path.read_text(encoding="utf-8")
    assert "evil⟨U+202E⟩gpj.exe" in html and "\u202e" not in html
    doc = json.loads(paths.json_path.read_text(encoding="utf-8"))
    assert "EXHIBIT-1:/photos/evil\u202egpj.exe" in doc["items"][1]["paths"]  # JSON keeps the exact name


def test_failed_write_leaves_no_report(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_case(store)

    def broken(*args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        yield {"sha256": "x"}
        raise RuntimeError("database went away")

    monkeypatch.setattr("haven.report.iter_items", broken)
    with pytest.raises(RuntimeError):
        write_report(store, "OP-HARBOUR-7", tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []  # neither a truncated report.json nor a .partial file


def test_json_writer_survives_undecodable_names(tmp_path: Path) -> None:
    name = b"E:/caf\xe9.jpg".decode("utf-8", "surrogateescape")  # a lone surrogate, from a non-UTF-8 name
    sha = write_json(tmp_path / "r.json", {"a": 1}, {"items": iter([{"path": name}]), "empty": iter([])})
    doc = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert doc == {"a": 1, "items": [{"path": name}], "empty": []}
    assert sha == hashlib.sha256((tmp_path / "r.json").read_bytes()).hexdigest()


def test_unknown_case(store: Store, tmp_path: Path) -> None:
    with pytest.raises(CaseNotFound):
        write_report(store, "NOPE", tmp_path / "o")
    assert not (tmp_path / "o" / "report.json").exists()


def test_empty_case(store: Store, tmp_path: Path) -> None:
    with store.session() as s:
        s.add(Case(reference="EMPTY", scheme="vic-us", created_by="t"))
    paths = write_report(store, "EMPTY", tmp_path)
    doc = json.loads(paths.json_path.read_text())
    assert doc["items"] == doc["errors"] == doc["encrypted"] == doc["sources"] == []
    assert set(doc["totals"].values()) == {0}
    assert doc["known"] == {"exact": 0, "perceptual": 0, "known_good": 0, "by_category": {}}
    html = paths.html_path.read_text()
    assert "No new images." in html and "No errors." in html
    assert not list(tmp_path.glob("*.partial"))


def test_large_case_is_batched(store: Store, tmp_path: Path) -> None:
    n = 5_000
    with store.session() as s:
        case = Case(reference="BIG", scheme="vic-us", created_by="t")
        s.add(case)
        s.flush()
        source = Source(case_id=case.id, label="E", kind="folder", location="/big", registered_by="t")
        hash_set = HashSet(name="K", kind="known", format="plain", file_sha256="k" * 64, imported_by="t")
        s.add_all([source, hash_set])
        s.flush()
        statuses = ("known", "unknown", "near-known", "known-good", "unknown")
        s.execute(
            insert(Content),
            [
                {
                    "case_id": case.id,
                    **_hashes(f"c{i}"),
                    "size": i,
                    "kind": "image" if i % 3 else "other",
                    "status": statuses[i % 5],
                }
                for i in range(n)
            ],
        )
        ids = list(s.scalars(select(Content.id).where(Content.case_id == case.id).order_by(Content.id)))
        s.execute(
            insert(Occurrence),
            [
                {"source_id": source.id, "content_id": cid, "path": p, "path_digest": _digest(p), "top_level": "t"}
                for i, cid in enumerate(ids)
                for p in (f"E:/d/{i}.jpg", f"E:/d/copy/{i}.jpg")
            ],
        )
        s.execute(insert(HashEntry), [{"set_id": hash_set.id, "md5": f"{i:032x}"} for i in range(0, n, 5)])
        entries = list(s.scalars(select(HashEntry.id).where(HashEntry.set_id == hash_set.id).order_by(HashEntry.id)))
        s.execute(
            insert(Match),
            [
                {"content_id": ids[i * 5], "entry_id": e, "set_id": hash_set.id, "method": "md5", "distance": 0}
                for i, e in enumerate(entries)
            ],
        )
        s.execute(
            insert(Decision),
            [{"content_id": ids[i], "category": "1", "source": "user", "decided_by": "t"} for i in range(0, n, 5)],
        )
        refresh_case_categories(s, case.id)  # a bulk Core insert keeps the current category itself

    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(store.engine, "before_cursor_execute", count)
    started = time.monotonic()
    try:
        paths = write_report(store, "BIG", tmp_path, max_thumbnails=100)
    finally:
        event.remove(store.engine, "before_cursor_execute", count)
    elapsed = time.monotonic() - started

    doc = json.loads(paths.json_path.read_text())
    items = doc["items"]
    assert len(items) == n and len({i["sha256"] for i in items}) == n
    assert all(len(i["paths"]) == 2 for i in items)
    assert doc["totals"]["files"] == 2 * n and doc["totals"]["unique"] == n
    assert doc["known"]["exact"] == n // 5 and doc["known"]["by_category"] == {"1": n // 5}
    assert sum(1 for i in items if i["matches"]) == n // 5
    # Unknown images first, then near-known, then the rest.
    rank = [
        0 if (i["status"], i["kind"]) == ("unknown", "image") else 1 if i["status"] == "near-known" else 2
        for i in items
    ]
    assert rank == sorted(rank)
    assert rank.count(0) == doc["unknown_images"] > 0
    # A few queries per batch of 500 contents, never one per item.
    assert len(statements) < 150, len(statements)
    assert elapsed < 30
