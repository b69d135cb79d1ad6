"""Reading the files that define a custom category scheme or a mapping between schemes.

A scheme file is CSV (``code,name[,meaning]``, header optional) or JSON (a list of
``{"code", "name", "meaning"}`` objects, or ``{"title", "description", "categories": [...]}``). A
mapping file is CSV ``from_code,to_code[,note]`` (header optional); an empty ``to_code`` says
"unmapped", and the note can say why.
Every error names the file and the line or item, and nothing is half-created: the caller checks the
whole file before it writes anything.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from haven.category_codes import code_key
from haven.errors import HavenError

CODE_MAX = 20  # Category.code width
NAME_MAX = 120  # Category.name width
MAX_CATEGORIES = 1000  # a scheme is a short list a person chooses from; more is a wrong file
MAX_FILE_BYTES = 1 << 20
_SCHEME_COLUMNS = ("code", "name", "meaning")
_MAPPING_HEADERS = ({"from_code", "to_code"}, {"from", "to"})


class SchemeFileError(HavenError):
    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")


@dataclass(frozen=True)
class CategoryRow:
    code: str
    name: str
    meaning: str | None = None


@dataclass(frozen=True)
class ParsedScheme:
    categories: list[CategoryRow]
    title: str | None = None
    description: str | None = None


def read_categories(path: Path) -> ParsedScheme:
    text = _read_text(path)
    if text.lstrip().startswith(("[", "{")):
        parsed = _scheme_from_json(path, text)
    else:
        parsed = ParsedScheme(_categories_from_csv(path, text))
    if not parsed.categories:
        raise SchemeFileError(path, "no categories")
    if len(parsed.categories) > MAX_CATEGORIES:
        raise SchemeFileError(path, f"more than {MAX_CATEGORIES} categories")
    return parsed


@dataclass(frozen=True)
class MappingLine:
    where: str  # "line 3"
    from_code: str
    to_code: str | None  # None: explicitly unmapped
    note: str | None = None  # why


def read_mapping(path: Path) -> list[MappingLine]:
    """Every ``from_code,to_code[,note]`` line; an empty to_code says "unmapped" (the note can say why)."""
    lines: list[MappingLine] = []
    for number, cells in _csv_rows(path, _read_text(path)):
        if not lines and {cell.lower() for cell in cells[:2]} in _MAPPING_HEADERS:
            continue
        where = f"line {number}"
        if len(cells) > 3 and any(cells[3:]):
            raise SchemeFileError(path, f"{where}: expected from_code,to_code[,note], found {len(cells)} fields")
        from_code, to_code, note = (_cell(cells, at) for at in range(3))
        if not from_code:
            raise SchemeFileError(path, f"{where}: no from_code")
        lines.append(MappingLine(where, from_code, to_code or None, note or None))
    if not lines:
        raise SchemeFileError(path, "no from_code,to_code lines")
    return lines


def _categories_from_csv(path: Path, text: str) -> list[CategoryRow]:
    rows: list[CategoryRow] = []
    columns: dict[str, int] = {"code": 0, "name": 1, "meaning": 2}
    first: dict[str, str] = {}
    for index, (number, cells) in enumerate(_csv_rows(path, text)):
        lowered = [cell.lower() for cell in cells]
        if index == 0 and "code" in lowered and "name" in lowered:
            columns = {column: lowered.index(column) for column in _SCHEME_COLUMNS if column in lowered}
            continue

        code, name, meaning = (_cell(cells, columns.get(column)) for column in _SCHEME_COLUMNS)
        rows.append(_category(path, f"line {number}", code, name, meaning, first))
    return rows


def _cell(cells: list[str], at: int | None) -> str:
    return cells[at] if at is not None and at < len(cells) else ""


def _scheme_from_json(path: Path, text: str) -> ParsedScheme:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise SchemeFileError(path, f"not valid JSON: {error.msg} (line {error.lineno} column {error.colno})") from None
    title = description = None
    items: Any = document
    if isinstance(document, dict):
        items = document.get("categories")
        title, description = _optional_text(document.get("title")), _optional_text(document.get("description"))
    if not isinstance(items, list):
        raise SchemeFileError(path, 'expected a list of categories, or an object with a "categories" list')
    rows: list[CategoryRow] = []
    first: dict[str, str] = {}
    for number, item in enumerate(items, start=1):
        where = f"item {number}"
        if not isinstance(item, dict):
            raise SchemeFileError(path, f'{where}: expected an object with "code" and "name"')
        code, name = _optional_text(item.get("code")), _optional_text(item.get("name"))
        rows.append(_category(path, where, code or "", name or "", _optional_text(item.get("meaning")) or "", first))
    return ParsedScheme(rows, title, description)


def _category(path: Path, where: str, code: str, name: str, meaning: str, first: dict[str, str]) -> CategoryRow:
    """One checked category; ``first`` maps each code's key to where it was first given."""
    code, name, meaning = code.strip(), name.strip(), meaning.strip()
    if not code:
        raise SchemeFileError(path, f"{where}: no code")
    if len(code) > CODE_MAX:
        raise SchemeFileError(path, f"{where}: code {code[:CODE_MAX]!r}… is longer than {CODE_MAX} characters")
    if not name:
        raise SchemeFileError(path, f"{where}: no name for code {code!r}")
    if len(name) > NAME_MAX:
        raise SchemeFileError(path, f"{where}: the name of code {code!r} is longer than {NAME_MAX} characters")
    key = code_key(code)
    if key in first:
        raise SchemeFileError(path, f"{where}: code {code!r} repeats the code at {first[key]}")
    first[key] = where
    return CategoryRow(code, name, meaning or None)


def _optional_text(value: Any) -> str | None:
    """JSON codes may be numbers (VICS writes category 1 as 1): both spellings are the same code."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip() if isinstance(value, (str, int, float)) else None
    return text or None


def _csv_rows(path: Path, text: str) -> list[tuple[int, list[str]]]:
    """(line number, stripped cells) of every row that is not blank or a # comment."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    try:
        for cells in reader:
            stripped = [cell.strip() for cell in cells]
            if any(stripped) and not stripped[0].startswith("#"):
                rows.append((reader.line_num, stripped))
    except csv.Error as error:
        raise SchemeFileError(path, f"line {reader.line_num}: unreadable CSV: {error}") from None
    return rows


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SchemeFileError(path, f"{size:,} bytes: too large for a scheme or mapping file")
        data = path.read_bytes()
    except OSError as error:
        raise SchemeFileError(path, f"cannot read: {error.strerror or error}") from None
    if not data.strip():
        raise SchemeFileError(path, "the file is empty")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SchemeFileError(path, f"not UTF-8 text (byte {error.start})") from None
