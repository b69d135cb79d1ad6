"""Readers of the extraction stage (issue 7): encodings, dispatch by content, hints from column names, the
windows of a single long line (bounded memory, every identifier once), and a 20 MB one-line file through the
stage with a small window on both back ends."""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import HavenEnv
from haven.cli import app
from haven.config import load_config
from haven.intel.extract import extract_case
from haven.intel.readers import READERS, NotTextError, reader_for
from haven.intel.readers.base import ReaderError, ReadLimits, Segment, hint_for
from haven.intel.readers.body import BytesBody
from haven.intel.readers.mail import message_items
from haven.intel.readers.text import detect_encoding, lines_of
from haven.store import open_store
from intel_extract_builders import CSV_TEXT, EML, HTML, MBOX, NEWS, docx_bytes, pdf_bytes, xlsx_bytes

runner = CliRunner()


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("tel +44 20 7946 0958\n".encode("utf-16-le"), "utf-16-le"),
        ("tel +44 20 7946 0958\n".encode("utf-16-be"), "utf-16-be"),
        ("\ufeffbom".encode("utf-16-le"), "utf-16-le"),
        ("\ufeffbom".encode(), "utf-8"),
        ("déjà vu".encode(), "utf-8"),
        ("déjà vu".encode("latin-1"), "cp1252"),
        ("quote \u201cit\u201d".encode("cp1252"), "cp1252"),
        (b"caf\xe9 \x81", "latin-1"),  # a byte cp1252 leaves undefined
    ],
)
def test_encoding_is_found_from_the_bytes(data: bytes, encoding: str) -> None:
    assert detect_encoding(data).name == encoding


def test_binary_is_not_text() -> None:
    with pytest.raises(NotTextError, match="not text"):
        detect_encoding(bytes(range(256)) * 4)
    with pytest.raises(NotTextError, match="control bytes"):
        detect_encoding(b"\x01\x02\x03\x04\x05\x06 abc" * 50)


@pytest.mark.parametrize(
    ("mime", "head", "name", "reader"),
    [
        ("text/csv", CSV_TEXT.encode(), "list.txt", "csv"),
        ("text/plain", CSV_TEXT.encode(), "list.csv", "csv"),
        ("text/plain", b"[2024-02-01 10:00:00 UTC] sam: hi\n[2024-02-01 10:01:00 UTC] sam: bye\n", "a.json", "text"),
        ("text/plain", b"<alice> hello\n<bob> hi there\n", "irc.log", "text"),
        ("application/json", b'[{"a": 1}]', "x.bin", "json"),
        ("text/plain", b'{"a": 1}\n{"b": 2}\n', "x.jsonl", "json"),
        ("message/rfc822", EML, "x.eml", "email"),
        ("text/plain", MBOX, "box", "mbox"),
        ("message/news", NEWS, "article.txt", "news"),
        ("text/html", HTML, "page.txt", "html"),
        ("text/plain", b'<root xmlns="urn:x"><a>b</a></root>', "x.xml", "html"),
        ("application/pdf", pdf_bytes("x"), "x.pdf", "pdf"),
        ("application/octet-stream", xlsx_bytes()[:65536], "renamed.dat", "xlsx"),
        ("application/octet-stream", docx_bytes()[:65536], "renamed.dat", "docx"),
        ("image/jpeg", b"\xff\xd8\xff\xe0rest", "photo.txt", "exif"),
        ("text/plain", b"SQLite format 3\x00rest", "chat.txt", "sqlite"),
    ],
)
def test_reader_is_chosen_by_content(mime: str, head: bytes, name: str, reader: str) -> None:
    assert reader_for(mime, head, name) is READERS[reader]


def test_a_zip_that_is_no_office_document_is_not_text() -> None:
    with pytest.raises(NotTextError, match="zip"):
        reader_for("application/zip", b"PK\x03\x04 something/else.bin", "list.csv")


@pytest.mark.parametrize(
    ("field", "platform"),
    [
        ("telegram", "telegram"),
        ("Kik Username", "kik"),
        ("users.skype_name", "skype"),
        ("signal_user", "signal"),
        ("signal", None),  # a signal strength column, as likely as a messenger
        ("session_id", "session"),
        ("session", None),
        ("username", None),
        ("telegram_joined_at", None),
    ],
)
def test_column_names_become_hints(field: str, platform: str | None) -> None:
    hint = hint_for(field)
    assert (hint.field, hint.platform) == (field, platform)


LIMITS = ReadLimits(window_chars=4096, overlap_chars=256, segment_chars=1024)


def test_a_long_line_is_read_in_bounded_overlapping_windows() -> None:
    step = LIMITS.window_chars - LIMITS.overlap_chars
    text = ("lorem ipsum " * 20_000)[:200_000] + "\nshort second line\n"
    segments = list(lines_of(iter([text[i : i + 7000] for i in range(0, len(text), 7000)]), LIMITS))
    assert max(len(s.text) for s in segments) <= LIMITS.window_chars
    windows = [s for s in segments if s.line == 1]
    assert [s.char_offset for s in windows] == list(range(0, 200_000 - LIMITS.overlap_chars, step))
    owned = [(s.char_offset + s.own[0], s.char_offset + s.own[1]) for s in windows if s.own]
    assert owned[0][0] == 0 and owned[-1][1] == 200_001  # the last window ends with the newline
    assert all(a[1] == b[0] for a, b in itertools.pairwise(owned))  # every offset owned exactly once
    assert next(s for s in segments if s.line == 2).text == "short second line\n"


def test_text_that_stops_decoding_is_an_error_after_what_it_gave() -> None:
    data = b"reach x.decode@example.com\n" + b"plain ascii text\n" * 5000 + bytes(range(128, 256)) * 400
    body = BytesBody(data, "text/plain", "notes.txt")
    given: list[Segment] = []
    with pytest.raises(ReaderError, match=r"undecodable text: .* are not utf-8"):
        given.extend(READERS["text"].read(body, LIMITS))  # type: ignore[arg-type]
    assert given and given[0].text.startswith("reach x.decode@example.com")


def segments_of(data: bytes, mime: str, name: str) -> list[tuple[str, int, str | None, str | None]]:
    reader = reader_for(mime, data[:65536], name)
    items = reader.read(BytesBody(data, mime, name), ReadLimits())
    return [(item.text, item.line, item.field, item.record) for item in items if isinstance(item, Segment)]


def test_json_in_utf16_is_streamed_as_utf8() -> None:
    data = json.dumps({"a": {"email": "j@example.com", "list": ["k@example.com"]}}).encode("utf-16")
    assert segments_of(data, "application/octet-stream", "x.json") == [
        ("j@example.com", 0, "email", "object:2"),
        ("k@example.com", 0, "list", "object:2"),
    ]


def test_xlsx_rows_run_on_across_sheets() -> None:
    from openpyxl import Workbook

    book = Workbook()
    for index, title in enumerate(("One", "Two")):
        sheet = book.active if index == 0 else book.create_sheet(title)
        sheet.title = title
        sheet.append(["email"])
        sheet.append(["x@example.com"])
    out = io.BytesIO()
    book.save(out)
    assert segments_of(out.getvalue(), "application/octet-stream", "b.xlsx") == [
        ("x@example.com", 2, "email", "One:row:2"),
        ("x@example.com", 4, "email", "Two:row:2"),
    ]


def test_semicolon_csv_with_a_byte_order_mark() -> None:
    data = "name;mail\nAda;ada@example.com\n".encode("utf-8-sig")
    assert segments_of(data, "text/csv", "x.csv") == [
        ("Ada", 2, "name", "row:2"),
        ("ada@example.com", 2, "mail", "row:2"),
    ]


def test_message_headers_keep_their_lines_and_times() -> None:
    raw = (
        b"Received: from a.example.net ([198.51.100.1])\n\tby b.example.org; Mon, 1 Jan 2024 23:00:00 -0500\n"
        b"X-Trace: news.example.net 1078329623 198.51.100.2\nFrom: x@example.com\n\nbody\n"
    )
    items = [item for item in message_items(raw, 10, "headers", LIMITS) if isinstance(item, Segment)]
    by_field = {item.field: item for item in items}
    received, trace = by_field["Received"], by_field["X-Trace"]
    assert received.line == 10 and str(received.observed_at) == "2024-01-02 04:00:00+00:00"
    assert trace.line == 12 and str(trace.observed_at) == "2004-03-03 16:00:23+00:00"
    assert by_field["From"].line == 13 and by_field["From"].record == "headers"
    assert by_field["body"].line == 15 and by_field["body"].text == "body\n"


def test_bytes_body_spools_a_private_copy(tmp_path: Path) -> None:
    body = BytesBody(b"SQLite format 3\x00", "application/vnd.sqlite3", "x.db", str(tmp_path / "scratch"))
    with body.spool() as path:
        assert Path(path).read_bytes() == b"SQLite format 3\x00" and str(tmp_path) in path
    assert not Path(path).exists()


def test_a_20_mb_single_line_file_through_the_stage(haven_env: HavenEnv, tmp_path: Path) -> None:
    """A small window (64 Ki characters, 1 Ki overlap) over a 20 MB line: identifiers planted across window
    edges, owned-zone edges and window starts are each found once, at their offset in the line."""
    window, overlap = 65_536, 1_024
    step = window - overlap
    size = 20 * 1024 * 1024
    line = bytearray(b"lorem ipsum dolor sit amet " * (size // 27 + 1))[:size]
    planted: dict[str, int] = {}
    for k, at in enumerate([step * 3 - 9, step * 7 + overlap // 2 - 12, step * 11 - 3, step * 200 + 5, size - 40]):
        email = f"long{k}.line@example.com".encode()
        line[at - 1 : at + len(email) + 1] = b" " + email + b" "
        planted[email.decode()] = at
    evidence = tmp_path / "ev"
    evidence.mkdir()
    (evidence / "dump.txt").write_bytes(bytes(line))
    assert runner.invoke(app, ["-q", "case", "create", "LONG-1"]).exit_code == 0
    assert runner.invoke(app, ["-q", "ingest", "LONG-1", str(evidence), "--workers", "1"]).exit_code == 0
    store = open_store(haven_env.url)
    try:
        limits = ReadLimits(window_chars=window, overlap_chars=overlap, segment_chars=16_384)
        summary = extract_case(store, load_config(), "LONG-1", workers=1, limits=limits, show_progress=False)
    finally:
        store.dispose()
    assert (summary.scanned, summary.errors, summary.occurrences, summary.bytes_read) == (1, [], len(planted), size)
    result = runner.invoke(app, ["-q", "intel", "identifiers", "LONG-1", "--json"])
    found = {row["normalized"]: row["occurrences"] for row in json.loads(result.stdout)}
    assert {name: [(o["line"], o["char_offset"]) for o in occ] for name, occ in found.items()} == {
        name: [(1, at)] for name, at in planted.items()
    }
