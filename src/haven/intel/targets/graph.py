"""The link graph of a case's targets (networkx), exported as GraphML.

Nodes (``kind``): ``target`` (label, locked), ``identifier`` (type, value, normalized, country),
``record`` (the evidence a co-occurrence came from: content id, record key, path) and ``case`` (another
case a target also appears in). Edges (``kind``): ``member`` (target - identifier, with the member's
reason), ``occurs`` (identifier - record it co-occurred in), ``fuzzy`` (identifier - identifier, splink's
match probability as ``score``) and ``lead`` (target - other case, with its reasons and score).
Node ids are stable across runs: ``target:<id>``, ``identifier:<type>:<normalized>``,
``record:<content id>:<record>``, ``case:<reference>``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import networkx as nx

from haven.atomic import atomic_text


def identifier_node(identifier: dict[str, Any]) -> str:
    return f"identifier:{identifier['type']}:{identifier['normalized']}"


def build_graph(reference: str, targets: list[dict[str, Any]]) -> nx.Graph:
    """The graph of ``targets`` (the ``listing.list_targets`` shape) of case ``reference``."""
    graph = nx.Graph(case=reference)
    for target in targets:
        node = f"target:{target['id']}"
        label = target["name"] or f"Target {target['id']}"
        graph.add_node(node, kind="target", label=label, locked=bool(target["locked"]),
                       identifiers=len(target["identifiers"]), notes=target["notes"] or "")  # fmt: skip
        by_value: dict[str, str] = {}
        for identifier in target["identifiers"]:
            inode = identifier_node(identifier)
            by_value.setdefault(identifier["normalized"], inode)
            graph.add_node(
                inode,
                kind="identifier",
                label=identifier["value"],
                type=identifier["type"],
                value=identifier["value"],
                normalized=identifier["normalized"],
                country=identifier["country"] or "",
            )
            graph.add_edge(node, inode, kind="member", reason=identifier["reason"], score=1.0)
        for reason in target["reasons"]:
            ends = [by_value.get(value) for value in reason["between"]]
            if None in ends:
                continue
            a, b = ends
            evidence = reason["evidence"]
            if reason["reason"] == "co-occurrence":
                rnode = f"record:{evidence['content_id']}:{evidence['record']}"
                graph.add_node(rnode, kind="record", label=evidence["record"], record=evidence["record"],
                               content_id=int(evidence["content_id"]), path=evidence.get("path") or "")  # fmt: skip
                for end in (a, b):
                    graph.add_edge(end, rnode, kind="occurs", score=1.0)
            elif a != b:
                graph.add_edge(a, b, kind="fuzzy", score=float(reason["score"]), evidence=json.dumps(evidence))
        for lead in target["cases"]:
            cnode = f"case:{lead['reference']}"
            graph.add_node(cnode, kind="case", label=lead["reference"])
            graph.add_edge(node, cnode, kind="lead", reasons=",".join(lead["reasons"]), score=float(lead["score"]),
                           shared=",".join(lead["shared"]))  # fmt: skip
    _clean_text(graph)
    return graph


def xml_safe(text: str) -> str:
    """Characters XML 1.0 cannot hold (controls, lone surrogates) as visible ⟨U+XXXX⟩ markers."""
    return _XML_INVALID.sub(lambda m: f"⟨U+{ord(m.group()):04X}⟩", text)


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean_text(graph: nx.Graph) -> None:
    """Evidence text can hold anything; GraphML must stay well-formed."""
    for _, data in graph.nodes(data=True):
        for key, value in data.items():
            if isinstance(value, str):
                data[key] = xml_safe(value)
    for _, _, data in graph.edges(data=True):
        for key, value in data.items():
            if isinstance(value, str):
                data[key] = xml_safe(value)


def write_graphml(graph: nx.Graph, path: Path) -> str:
    """Write the graph as GraphML (atomically); returns the file's SHA-256."""
    with atomic_text(path, errors="xmlcharrefreplace") as out:
        for line in nx.generate_graphml(graph, prettyprint=True):
            out.write(line + "\n")
    return out.hexdigest()
