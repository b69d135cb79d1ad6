"""report.html: one self-contained page an investigator can open in any browser.

Viewer wellbeing and safety rules enforced here:
- the only pictures are stored thumbnails (already blurred and greyscale), embedded as JPEG data URIs,
  and the page blurs them again with CSS; there is no way to reveal them in the static report;
- a Content-Security-Policy forbids scripts and every non-data resource, so even a hostile name that
  slipped past escaping could not load or run anything;
- all evidence text is escaped by Jinja2 autoescape, and invisible/bidi control characters in names
  are shown as visible ⟨U+XXXX⟩ markers so a name cannot disguise itself.
"""

from __future__ import annotations

import base64
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from sqlalchemy.orm import Session

from haven.atomic import atomic_text
from haven.matching.grouping import groups_for_case
from haven.report.charts import bar_chart
from haven.report.data import Summary, iter_items, iter_problems

MAX_THUMBNAILS = 2_000  # unknown images embedded; ~5 KB each keeps the page openable
MAX_NEAR_KNOWN = 500
MAX_TABLE_ROWS = 1_000  # per errors/encrypted table; the full lists are in report.json
MAX_PATHS = 3  # occurrence paths shown under one thumbnail

STATUS_COLORS = {
    "Known (exact)": "#a33a3a",
    "Near-known": "#b86e00",
    "Known-good (system files)": "#6f7f6f",
    "Unknown (new)": "#2f5d9e",
    "Error": "#6b4c9a",
}
JPEG_MAGIC = b"\xff\xd8\xff"


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("haven.report", "templates"),
        autoescape=select_autoescape(("html",), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = lambda n: f"{n:,}" if isinstance(n, int) else "—"
    env.filters["size"] = human_size
    env.filters["visible"] = visible
    return env


def visible(text: str | None) -> str:
    """Show control, format (bidi overrides, zero-width) and unassigned characters as ⟨U+XXXX⟩."""
    if text is None:
        return ""
    return "".join(
        f"⟨U+{ord(ch):04X}⟩" if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") else ch for ch in text
    )


def human_size(n: int | None) -> str:
    if n is None:
        return "—"
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{n:,} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def thumbnail_uri(jpeg: bytes | None) -> str | None:
    """A data URI for a stored thumbnail; anything that is not a JPEG is refused (shown as a placeholder)."""
    if not jpeg or not jpeg.startswith(JPEG_MAGIC):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def _cards(items: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        item["thumb_uri"] = thumbnail_uri(item.pop("thumbnail", None))
        item["more_paths"] = max(0, len(item["paths"]) - MAX_PATHS)
        item["paths"] = item["paths"][:MAX_PATHS]
        yield item


def _charts(summary: Summary) -> list[Any]:
    st, t = summary.by_status, summary.totals
    status_rows = [
        ("Known (exact)", st.get("known", 0)),
        ("Near-known", st.get("near-known", 0)),
        ("Known-good (system files)", st.get("known-good", 0)),
        ("Unknown (new)", st.get("unknown", 0)),
        ("Error", st.get("error", 0)),
    ]
    type_rows = [
        ("Images", t["images"]),
        ("Videos", t["videos"]),
        ("Archives", t["archives"]),
        ("Documents", t["documents"]),
        ("Other", t["other"] - t["documents"]),
    ]
    names = {c["code"]: c["name"] for c in summary.categories}
    category_rows = [
        (f"{code} — {names[code]}" if code in names else code, n) for code, n in summary.known["by_category"].items()
    ]
    return [
        bar_chart("chart-status", "Unique items by status", status_rows, STATUS_COLORS),
        bar_chart("chart-type", "Unique items by type", type_rows),
        bar_chart("chart-category", "Unique items by category", category_rows),
    ]


def _count_of(n: int, kind: str) -> str:
    noun = "other file" if kind == "other" else kind
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _capped(rows: Iterator[dict[str, Any]], cap: int) -> tuple[list[dict[str, Any]], int]:
    """The first ``cap`` rows and the total count (the rest are counted, not kept)."""
    kept: list[dict[str, Any]] = []
    total = 0
    for row in rows:
        if total < cap:
            kept.append(row)
        total += 1
    return kept, total


def write_html(
    path: Path,
    session: Session,
    summary: Summary,
    *,
    generated_at: str,
    version: str,
    pdq_threshold: int,
    max_thumbnails: int = MAX_THUMBNAILS,
    intel: Any = None,
) -> str:
    """Render report.html (streamed to disk) and return its SHA-256.

    ``intel``: the Intelligence section (``haven.intel.targets.report_section.IntelSection``); None: omitted.
    """
    errors, error_count = _capped(iter_problems(session, summary.case_id, "errors"), MAX_TABLE_ROWS)
    encrypted, encrypted_count = _capped(iter_problems(session, summary.case_id, "encrypted"), MAX_TABLE_ROWS)
    near_known_total = summary.by_status.get("near-known", 0)
    stacks = groups_for_case(session, summary.case_id)
    stack_of = {
        m["sha256"]: {"id": g.id, "size": len(g.members), "representative": m["sha256"] == g.representative}
        for g in stacks
        for m in g.members
    }
    context = {
        "stack_of": stack_of,
        "stack_count": len(stacks),
        "stack_saving": sum(len(g.members) - 1 for g in stacks),
        "s": summary,
        "generated_at": generated_at,
        "version": version,
        "pdq_threshold": pdq_threshold,
        "charts": _charts(summary),
        "other_unknown": [_count_of(n, kind) for kind, n in summary.unknown_by_kind.items() if kind != "image" and n],
        "category_names": {c["code"]: c["name"] for c in summary.categories},
        "errors": errors,
        "error_count": error_count,
        "encrypted": encrypted,
        "encrypted_count": encrypted_count,
        "max_rows": MAX_TABLE_ROWS,
        "unknown_shown": min(summary.unknown_images, max_thumbnails),
        "unknown_items": _cards(
            iter_items(session, summary.case_id, segments=["unknown-images"], limit=max_thumbnails, thumbnails=True)
        ),
        "near_known_total": near_known_total,
        "near_known_shown": min(near_known_total, MAX_NEAR_KNOWN),
        "near_known_items": _cards(
            iter_items(session, summary.case_id, segments=["near-known"], limit=MAX_NEAR_KNOWN, thumbnails=True)
        ),
        "max_paths": MAX_PATHS,
        "intel": intel,
        # The targets picture is built by haven.intel.targets.svg, which escapes every text it holds.
        "intel_svg": Markup(intel.svg) if intel is not None and intel.svg else None,
    }
    with atomic_text(path, errors="xmlcharrefreplace") as out:
        for chunk in _env().get_template("report.html").generate(**context):
            out.write(chunk)
    return out.hexdigest()
