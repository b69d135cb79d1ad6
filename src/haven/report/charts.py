"""Inline SVG bar charts: no scripts, no external files, readable by screen readers.

Every bar carries its label and number as text (not only as length or colour), and the chart has a
title and description for assistive technology. Labels may come from evidence or hash sets, so all
text goes through ``Markup.format``, which escapes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup

LABEL_W = 200
BAR_W = 320
VALUE_W = 90
ROW_H = 28
BAR_H = 18
MAX_LABEL = 30
DEFAULT_COLOR = "#4a6785"


def bar_chart(
    chart_id: str,
    title: str,
    rows: Sequence[tuple[str, int]],
    colors: Mapping[str, str] | None = None,
) -> Markup:
    """A horizontal bar chart of (label, count) rows, in the order given."""
    if not rows or not any(n for _, n in rows):
        return Markup('<p class="empty">{}: nothing to show.</p>').format(title)
    top = max(n for _, n in rows)
    height = ROW_H * len(rows) + 8
    width = LABEL_W + BAR_W + VALUE_W
    desc = ", ".join(f"{label}: {n:,}" for label, n in rows)
    parts = [
        Markup(
            '<svg id="{id}" class="chart" role="img" aria-labelledby="{id}-t {id}-d" width="{w}" height="{h}" '
            'viewBox="0 0 {w} {h}">'
            '<title id="{id}-t">{title}</title><desc id="{id}-d">{desc}</desc>'
        ).format(id=chart_id, w=width, h=height, title=title, desc=desc)
    ]
    for i, (label, n) in enumerate(rows):
        y = 4 + i * ROW_H
        length = round(BAR_W * n / top) if n else 0
        shown = label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"
        color = (colors or {}).get(label, DEFAULT_COLOR)
        parts.append(
            Markup(
                "<g><title>{label}: {n}</title>"
                '<text x="{lx}" y="{ty}" text-anchor="end" class="label">{shown}</text>'
                '<rect x="{bx}" y="{by}" width="{bw}" height="{bh}" fill="{color}"></rect>'
                '<text x="{vx}" y="{ty}" class="value">{n}</text></g>'
            ).format(
                label=label,
                n=f"{n:,}",
                shown=shown,
                lx=LABEL_W - 8,
                ty=y + BAR_H - 4,
                bx=LABEL_W,
                by=y,
                bw=max(length, 1 if n else 0),
                bh=BAR_H,
                color=color,
                vx=LABEL_W + length + 6,
            )
        )
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)
