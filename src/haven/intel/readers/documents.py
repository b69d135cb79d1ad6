"""PDF and DOCX text: pypdf page by page (``page N`` is the field; lines run on through the pages), python-docx
paragraph by paragraph (the paragraph number is the line; table cells follow), and the document's author
fields (owner clues, like a picture's EXIF Artist)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

from haven.intel.readers.base import Body, Item, ReaderError, ReadLimits, Record, Segment, text_segments

PDF = "pdf"
DOCX = "docx"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def read_pdf(body: Body, limits: ReadLimits) -> Iterator[Item]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(body.whole()))
        if reader.is_encrypted:
            raise ReaderError("encrypted PDF: its text cannot be read without the password")
        owner = {
            key.lstrip("/"): str(value)
            for key, value in (reader.metadata or {}).items()
            if key in ("/Author", "/Creator", "/Producer") and value
        }
        if owner:
            for field, value in owner.items():
                yield Segment(value, 0, 0, field=f"pdf:{field}", record="metadata")
            yield Record("metadata", owner)
        line = 1  # lines run on across pages: every place in the document's text is distinct
        for number, page in enumerate(reader.pages, start=1):
            text = page.extract_text() or ""
            if text and not text.endswith("\n"):
                text += "\n"
            yield from text_segments(text, line=line, limits=limits, field=f"page {number}")
            line += text.count("\n")
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ReaderError(f"malformed PDF: {exc}") from exc


def read_docx(body: Body, limits: ReadLimits) -> Iterator[Item]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(body.whole()))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ReaderError(f"malformed DOCX: {exc}") from exc
    properties = document.core_properties
    owner = {
        name: value
        for name, value in (("author", properties.author), ("last_modified_by", properties.last_modified_by))
        if value
    }
    if owner:
        for field, value in owner.items():
            yield Segment(value, 0, 0, field=f"docx:{field}", record="metadata")
        yield Record("metadata", owner)
    number = 0
    for paragraph in document.paragraphs:
        number += 1
        if paragraph.text.strip():
            yield Segment(paragraph.text, number, 0, field="paragraph")
    for table in document.tables:
        for row in table.rows:
            number += 1
            cells = " | ".join(cell.text for cell in row.cells)
            if cells.strip(" |"):
                yield Segment(cells, number, 0, field="table")
