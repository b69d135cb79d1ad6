"""Streaming writer for report.json (schema: docs/report-schema.md).

The document is written piece by piece, one list element per line, so a 400,000-item case never
exists as one object in memory; external scripts still read it as ordinary JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from haven.atomic import atomic_text


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def write_json(path: Path, header: Mapping[str, Any], lists: Mapping[str, Iterable[Mapping[str, Any]]]) -> str:
    """Write ``header`` keys, then each list streamed element by element; returns the file's SHA-256."""
    # backslashreplace: a lone surrogate (undecodable byte in a name) becomes a valid \udcXX JSON escape.
    with atomic_text(path, errors="backslashreplace") as out:
        out.write("{\n")
        first = True
        for key, value in header.items():
            out.write(("" if first else ",\n") + f"{_dumps(key)}: {_dumps(value)}")
            first = False
        for key, elements in lists.items():
            out.write(("" if first else ",\n") + f"{_dumps(key)}: [")
            first = False
            sep = "\n"
            for element in elements:
                out.write(sep + _dumps(element))
                sep = ",\n"
            out.write("\n]" if sep != "\n" else "]")
        out.write("\n}\n")
    return out.hexdigest()
