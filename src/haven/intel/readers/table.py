"""Customer lists and other tables: CSV (delimiter sniffed) and XLSX. The header row names the fields; each
row is a record (``row:N``, ``SHEET:row:N``) and each non-empty cell a segment with the column's hint.
Lines are the file's for CSV; for XLSX the row number, running on across sheets (so every place is distinct)."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator, Sequence

from haven.intel.readers.base import Body, Item, ReaderError, ReadLimits, Record, Segment, hint_for
from haven.intel.readers.text import decoded_blocks, detect_encoding

CSV = "csv"
XLSX = "xlsx"
DELIMITERS = ",;\t|"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _lines(blocks: Iterator[str]) -> Iterator[str]:
    """Decoded text blocks as lines (newline kept) for the csv module."""
    partial = ""
    for block in blocks:
        lines = (partial + block).split("\n")
        partial = lines.pop()
        for line in lines:
            yield line + "\n"
    if partial:
        yield partial


def sniff_dialect(head_text: str) -> type[csv.Dialect] | csv.Dialect | None:
    """The delimiter of a table whose first lines have the same number (>= 2) of fields; None otherwise."""
    lines = [line for line in head_text.splitlines()[:20] if line.strip()]
    if len(lines) >= 2 and not head_text.endswith("\n"):
        lines = lines[:-1]  # the head may cut the last line
    if not lines:
        return None
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS)
    except csv.Error:
        return None
    widths = {len(row) for row in csv.reader(lines, dialect)}
    return dialect if len(widths) == 1 and widths.pop() >= 2 else None


def read_csv(body: Body, limits: ReadLimits) -> Iterator[Item]:
    encoding = detect_encoding(body.head)
    head_text = body.head[encoding.bom :].decode(encoding.name, errors="replace")
    sniffed = sniff_dialect(head_text)
    delimiter = sniffed.delimiter if sniffed is not None else ","
    csv.field_size_limit(limits.field_chars)
    lines = _lines(decoded_blocks(body, encoding))
    # Only the delimiter is taken from the sniffer: its quoting guesses on a few lines are unreliable.
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    delimiter_width = len(delimiter)
    header: list[str] | None = None
    seen = 0
    try:
        for row in reader:
            line = seen + 1
            seen = reader.line_num
            if header is None:
                if any(cell.strip() for cell in row):
                    header = _header(row)
                    hints = [hint_for(name) for name in header]
                continue
            yield from _row(row, f"row:{line}", line, header, hints, delimiter_width)
    except csv.Error as exc:
        raise ReaderError(f"malformed CSV at line {reader.line_num}: {exc}") from exc


def _header(row: Sequence[object]) -> list[str]:
    names: list[str] = []
    for index, cell in enumerate(row):
        name = str(cell).strip() if cell is not None else ""
        name = name or f"column {index + 1}"
        names.append(name if name not in names else f"{name} ({index + 1})")
    return names


def _row(
    row: Sequence[object], record: str, line: int, header: list[str], hints: list, delimiter_width: int
) -> Iterator[Item]:
    fields: dict[str, str] = {}
    offset = 0
    for index, cell in enumerate(row):
        value = "" if cell is None else str(cell)
        if index >= len(header):
            header.append(f"column {index + 1}")
            hints.append(hint_for(header[-1]))
        if value.strip():
            name = header[index]
            fields[name] = value
            yield Segment(value, line, offset, field=name, record=record, hint=hints[index])
        offset += len(value) + delimiter_width
    if fields:
        yield Record(record, fields)


def read_xlsx(body: Body, limits: ReadLimits) -> Iterator[Item]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    data = body.whole()
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as exc:
        raise ReaderError(f"malformed XLSX: {exc}") from exc
    rows_before = 0  # lines run on across sheets (the record keeps the sheet's own row number)
    try:
        for sheet in workbook.worksheets:
            header: list[str] | None = None
            hints: list = []
            number = 0
            try:
                for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                    if header is None:
                        if any(cell not in (None, "") for cell in row):
                            header = _header(row)
                            hints = [hint_for(name) for name in header]
                        continue
                    cells = ["" if cell is None else _cell_text(cell) for cell in row]
                    yield from _row(cells, f"{sheet.title}:row:{number}", rows_before + number, header, hints, 1)
            except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as exc:
                raise ReaderError(f"malformed XLSX sheet '{sheet.title}': {exc}") from exc
            rows_before += number
    finally:
        workbook.close()


def _cell_text(cell: object) -> str:
    if isinstance(cell, float) and cell.is_integer() and abs(cell) < 1e16:
        return str(int(cell))  # a phone number typed into a number cell
    return str(cell)
