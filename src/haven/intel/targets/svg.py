"""The targets picture: an inline SVG of a case's largest targets, their identifiers and leads.

Each target is drawn as its own small force layout (networkx ``spring_layout``, fixed seed, the target
pinned in the middle so its identifiers ring around it), and the drawings are packed in rows, largest
first, so no target's edges cross another's. Identifiers are coloured by type and labelled with their
value (a legend names the colours); fuzzy links are dashed, leads into other cases dotted. No scripts, no
external resources: the same markup goes into the case report and the web app. Every text comes from
evidence, so all of it is escaped, and control/bidi characters are shown as ⟨U+XXXX⟩.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import networkx as nx

from haven.intel.targets.graph import xml_safe

MAX_TARGETS = 24
MAX_IDENTIFIERS = 12  # per target; the rest are counted in its label
MAX_LABEL = 30
PAGE_WIDTH = 1000
GAP = 16
CHAR_W = 6.4  # at 11 px
SEED = 11
TYPE_COLORS = {
    "email": "#2f5d9e",
    "handle": "#6b4c9a",
    "ipv4": "#b86e00",
    "ipv6": "#b86e00",
    "phone": "#2e7d4f",
    "url": "#8a4f00",
    "domain": "#4a6785",
    "wallet": "#a33a3a",
    "payment": "#7a6a00",
}
TARGET_COLOR = "#1d232b"
CASE_COLOR = "#55606e"


def shown(text: str, limit: int = MAX_LABEL) -> str:
    """Visible (no hidden controls or bidi overrides), XML-safe, shortened."""
    text = "".join(
        f"⟨U+{ord(ch):04X}⟩" if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") else ch for ch in text
    )
    text = xml_safe(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class _Drawing:
    width: float
    height: float
    parts: list[str]


def targets_svg(targets: list[dict[str, Any]], *, svg_id: str = "intel-targets", title: str = "Targets") -> str:
    """The picture of ``targets`` (``listing.list_targets`` shape, largest first) as one ``<svg>`` element."""
    drawn = targets[:MAX_TARGETS]
    desc = f"{len(targets)} target(s)" + (f"; the {len(drawn)} largest drawn" if len(targets) > len(drawn) else "")
    drawings = [_draw_target(t) for t in drawn]
    legend, legend_h = _legend(targets)
    x = y = 0.0
    row_h = 0.0
    placed: list[str] = []
    for drawing in drawings:
        if x > 0 and x + drawing.width > PAGE_WIDTH:
            x, y, row_h = 0.0, y + row_h + GAP, 0.0
        placed.append(f'<g transform="translate({x:.1f},{y + legend_h:.1f})">{"".join(drawing.parts)}</g>')
        x += drawing.width + GAP
        row_h = max(row_h, drawing.height)
    height = legend_h + y + row_h + 8
    if not drawings:
        placed.append(f'<text x="8" y="{legend_h + 16:.0f}" class="empty">No targets.</text>')
        height = legend_h + 28
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" id={quoteattr(svg_id)} class="targets" role="img" '
        f'aria-labelledby="{escape(svg_id)}-t {escape(svg_id)}-d" width="{PAGE_WIDTH}" height="{height:.0f}" '
        f'viewBox="0 0 {PAGE_WIDTH} {height:.0f}" font-family="system-ui, sans-serif" font-size="11">'
        f'<title id="{escape(svg_id)}-t">{escape(shown(title, 200))}</title>'
        f'<desc id="{escape(svg_id)}-d">{escape(desc)}</desc>' + legend + "".join(placed) + "</svg>"
    )


def _legend(targets: list[dict[str, Any]]) -> tuple[str, float]:
    types = sorted({i["type"] for t in targets for i in t["identifiers"]})
    parts: list[str] = []
    x = 4.0
    for kind in types:
        color = TYPE_COLORS.get(kind, "#4a6785")
        parts.append(f'<circle cx="{x + 5:.1f}" cy="10" r="5" fill="{color}"/>')
        parts.append(f'<text x="{x + 14:.1f}" y="14">{escape(kind)}</text>')
        x += 24 + CHAR_W * len(kind)
    parts.append(f'<line x1="{x:.1f}" y1="10" x2="{x + 24:.1f}" y2="10" stroke="#777" stroke-dasharray="5,3"/>')
    parts.append(f'<text x="{x + 30:.1f}" y="14">fuzzy match</text>')
    x += 30 + CHAR_W * 12
    parts.append(f'<line x1="{x:.1f}" y1="10" x2="{x + 24:.1f}" y2="10" stroke="{CASE_COLOR}" stroke-dasharray="1,3"/>')
    parts.append(f'<text x="{x + 30:.1f}" y="14">also in another case</text>')
    return '<g class="legend">' + "".join(parts) + "</g>", 28.0


def _draw_target(target: dict[str, Any]) -> _Drawing:
    identifiers = _sample(target["identifiers"], MAX_IDENTIFIERS)
    hidden = len(target["identifiers"]) - len(identifiers)
    center = "t"
    graph = nx.Graph()
    graph.add_node(center)
    index = {i["normalized"]: f"i{k}" for k, i in enumerate(identifiers)}
    for node in index.values():
        graph.add_edge(center, node)
    fuzzy = []
    for reason in target["reasons"]:
        a, b = (index.get(v) for v in reason["between"])
        if reason["reason"] == "fuzzy" and a and b and a != b:
            graph.add_edge(a, b)
            fuzzy.append((a, b, reason["score"]))
    cases = [f"c{k}" for k in range(len(target["cases"]))]
    for node in cases:
        graph.add_edge(center, node)
    count = graph.number_of_nodes()
    radius = min(150.0, 40.0 + 9.0 * count)
    pos = nx.spring_layout(graph, pos={center: (0.0, 0.0)}, fixed=[center], seed=SEED, k=1.0, iterations=80)
    if count > 1:  # scale the ring to the radius (spring_layout's scale is ignored with fixed nodes)
        far = max((x * x + y * y) ** 0.5 for n, (x, y) in pos.items() if n != center) or 1.0
        pos = {n: (x * radius / far, y * radius / far) for n, (x, y) in pos.items()}

    labels: list[tuple[str, float, float, str, str]] = []  # node, x, y, text, anchor
    for identifier in identifiers:
        node = index[identifier["normalized"]]
        x, y = pos[node]
        labels.append((node, x, y, shown(identifier["value"]), "start" if x >= 0 else "end"))
    for node, lead in zip(cases, target["cases"], strict=True):
        x, y = pos[node]
        labels.append((node, x, y, shown(f"case {lead['reference']}"), "start" if x >= 0 else "end"))
    name = target["name"] or f"Target {target['id']}"
    caption = shown(name, 40) + (f" (+{hidden} more)" if hidden else "")
    lefts = [x - (CHAR_W * len(t) + 10 if a == "end" else 0) for _, x, _, t, a in labels] + [-CHAR_W * len(caption) / 2]
    rights = [x + (CHAR_W * len(t) + 10 if a == "start" else 0) for _, x, _, t, a in labels] + [
        CHAR_W * len(caption) / 2
    ]
    tops = [y for _, (_, y) in pos.items()] + [-20.0]
    bottoms = [y for _, (_, y) in pos.items()] + [30.0]
    left, top = min(lefts) - 8, min(tops) - 14
    width, height = max(rights) + 8 - left, max(bottoms) + 14 - top

    def at(node: str) -> tuple[float, float]:
        x, y = pos[node]
        return x - left, y - top

    cx, cy = at(center)
    parts = [f'<g class="target"><title>{escape(_tooltip(target))}</title>']
    for node in index.values():
        x, y = at(node)
        parts.append(f'<line x1="{cx:.1f}" y1="{cy:.1f}" x2="{x:.1f}" y2="{y:.1f}" stroke="#b8c1cc"/>')
    for a, b, score in fuzzy:
        (x1, y1), (x2, y2) = at(a), at(b)
        parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#777" stroke-dasharray="5,3">'
            f"<title>fuzzy match {score:.2f}</title></line>"
        )
    for node in cases:
        x, y = at(node)
        parts.append(
            f'<line x1="{cx:.1f}" y1="{cy:.1f}" x2="{x:.1f}" y2="{y:.1f}" '
            f'stroke="{CASE_COLOR}" stroke-dasharray="1,3"/>'
        )
        parts.append(f'<rect x="{x - 5:.1f}" y="{y - 5:.1f}" width="10" height="10" fill="{CASE_COLOR}"/>')
    for identifier in identifiers:
        x, y = at(index[identifier["normalized"]])
        color = TYPE_COLORS.get(identifier["type"], "#4a6785")
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{color}"><title>'
            f"{escape(identifier['type'])}: {escape(shown(identifier['value'], 200))}</title></circle>"
        )
    for node, _x, _y, text, anchor in labels:
        x, y = at(node)
        dx = 9 if anchor == "start" else -9
        parts.append(f'<text x="{x + dx:.1f}" y="{y + 4:.1f}" text-anchor="{anchor}">{escape(text)}</text>')
    parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="11" fill="{TARGET_COLOR}"/>')
    parts.append(
        f'<text x="{cx:.1f}" y="{cy + 25:.1f}" text-anchor="middle" font-weight="600">{escape(caption)}</text></g>'
    )
    return _Drawing(width, height, parts)


def _sample(identifiers: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """At most ``limit`` identifiers, taken in turn from each type: 14 URLs do not hide the one wallet."""
    by_type: dict[str, list[dict[str, Any]]] = {}
    for identifier in identifiers:
        by_type.setdefault(identifier["type"], []).append(identifier)
    chosen: list[dict[str, Any]] = []
    for turn in range(max((len(group) for group in by_type.values()), default=0)):
        for group in by_type.values():
            if turn < len(group) and len(chosen) < limit:
                chosen.append(group[turn])
    return chosen


def _tooltip(target: dict[str, Any]) -> str:
    name = shown(target["name"] or f"Target {target['id']}", 200)
    leads = ", ".join(shown(c["reference"], 60) for c in target["cases"])
    text = f"{name}: {len(target['identifiers'])} identifier(s)" + (f"; also in {leads}" if leads else "")
    return text + (" (kept as an analyst left it)" if target["locked"] else "")
