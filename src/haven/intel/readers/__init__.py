"""Readers: one module per kind of text-bearing content, each turning a content's bytes into ``Segment``s
and ``Record``s (``base``). ``reader_for`` picks one by content (the MIME libmagic gave at ingest, checked
against the bytes themselves), never by the file name alone: a name only says a content was meant as text,
so a binary file named ``.txt`` becomes "not text" rather than being skipped unseen."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from haven.intel.readers import documents, exif, html, jsondoc, mail, sqlite, table, text
from haven.intel.readers.base import Body, Item, ReadLimits
from haven.intel.readers.text import NotTextError, detect_encoding

TEXT_SUFFIXES = frozenset(
    {
        "txt", "log", "csv", "tsv", "json", "jsonl", "ndjson", "eml", "mbox", "mbx", "msg", "html", "htm", "xml",
        "chat", "xlsx", "docx", "pdf", "db", "sqlite", "sqlite3", "nws", "news", "md", "ini", "cfg", "conf",
    }
)  # fmt: skip
DOCUMENT_MIMES = frozenset(
    {
        "application/json",
        "application/x-ndjson",
        "application/mbox",
        "application/xml",
        "application/xhtml+xml",
        "application/pdf",
        "application/vnd.sqlite3",
        "application/x-sqlite3",
        table.XLSX_MIME,
        documents.DOCX_MIME,
    }
)
_IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"II*\x00", b"MM\x00*")
_ZIP = b"PK\x03\x04"


@dataclass(frozen=True)
class Reader:
    name: str
    read: Callable[[Body, ReadLimits], Iterator[Item]]


READERS = {
    "text": Reader(text.NAME, text.read),
    "csv": Reader(table.CSV, table.read_csv),
    "xlsx": Reader(table.XLSX, table.read_xlsx),
    "json": Reader(jsondoc.NAME, jsondoc.read),
    "html": Reader(html.NAME, html.read),
    "email": Reader(mail.NAME, mail.read_message),
    "mbox": Reader(mail.MBOX, mail.read_mbox),
    "news": Reader(mail.NEWS, mail.read_message),
    "pdf": Reader(documents.PDF, documents.read_pdf),
    "docx": Reader(documents.DOCX, documents.read_docx),
    "sqlite": Reader(sqlite.NAME, sqlite.read),
    "exif": Reader(exif.NAME, exif.read),
}


def suffix_of(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base else ""


def is_candidate(mime: str | None, kind: str, name: str) -> bool:
    """Worth reading for identifiers: text-bearing by its stored MIME, a picture with EXIF, or content libmagic
    could not name (UTF-16 without a byte-order mark is one) or named as text (the bytes decide)."""
    mime = mime or "application/octet-stream"
    if kind in ("video", "archive") and suffix_of(name) not in TEXT_SUFFIXES:
        return False
    if mime.startswith(("text/", "message/")) or mime in DOCUMENT_MIMES or mime in exif.MIMES:
        return True
    return mime == "application/octet-stream" or suffix_of(name) in TEXT_SUFFIXES


def reader_for(mime: str | None, head: bytes, name: str) -> Reader:
    """The reader for a content. Raises NotTextError when none can read it."""
    mime = mime or "application/octet-stream"
    if head.startswith(sqlite.MAGIC):
        return READERS["sqlite"]
    if head.startswith(b"%PDF-"):
        return READERS["pdf"]
    if head.startswith(_ZIP):
        if mime == table.XLSX_MIME or b"xl/" in head:
            return READERS["xlsx"]
        if mime == documents.DOCX_MIME or b"word/" in head:
            return READERS["docx"]
        raise NotTextError(f"not text: a zip archive ({mime})")
    if head.startswith(_IMAGE_SIGNATURES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return READERS["exif"]
    encoding = detect_encoding(head)  # NotTextError for binary content
    probe = head[encoding.bom :].decode(encoding.name, errors="replace").encode("utf-8", errors="replace")
    ascii_compatible = encoding.name in ("utf-8", "cp1252", "latin-1")
    if ascii_compatible and mail.looks_like_mbox(probe):
        return READERS["mbox"]
    if ascii_compatible and mail.looks_like_message(probe):
        return READERS["news" if mail.is_news(probe) else "email"]
    if mime in ("text/html", "application/xhtml+xml", "text/xml", "application/xml") or html.looks_like_markup(probe):
        return READERS["html"]
    if mime in ("application/json", "application/x-ndjson") or jsondoc.looks_like_json(probe):
        return READERS["json"]
    if _is_table(mime, probe, name):
        return READERS["csv"]
    return READERS["text"]


def _is_table(mime: str, probe: bytes, name: str) -> bool:
    if mime in ("text/csv", "text/tab-separated-values"):
        return True
    head_text = probe.decode("utf-8", errors="replace")
    return table.sniff_dialect(head_text) is not None and suffix_of(name) in ("csv", "tsv")


__all__ = ["READERS", "NotTextError", "Reader", "is_candidate", "reader_for"]
