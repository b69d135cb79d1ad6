"""`haven intel targets ...`: identifiers linked into targets (issue 7).

`haven intel targets REF [--json]` lists the case's targets. It links the case first when anything the
linking reads changed since the last run (new occurrences in the case, new records in any case: the
fingerprint in ``target_run``), so the list is never stale; `haven intel targets link REF` re-runs it on
demand (e.g. with another `--threshold`). `name`, `note`, `merge` and `split` are the analyst's actions
(they lock the targets they touch, so re-runs keep them); `graph` writes GraphML and, with `--svg`, the
picture. Every command checks the user may see the case and is audited (``intel.targets.*``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from haven.cli_groups import DefaultListGroup

targets_app = typer.Typer(
    cls=DefaultListGroup,
    help="Targets: identifiers linked by co-occurrence and fuzzy record matching. `haven intel targets REF [--json]`.",
    no_args_is_help=True,
)

Threshold = Annotated[
    float,
    typer.Option("--threshold", min=0.0, max=1.0, help="Least splink match probability for a fuzzy link or lead."),
]


def add_commands(intel: typer.Typer) -> None:
    """Register this part's commands on the `haven intel` group."""
    intel.add_typer(targets_app, name="targets")


def _cli() -> Any:
    from haven import cli  # the main module: its store opener, consoles and global options

    return cli


@targets_app.command("list")
def targets_list(
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print JSON: [{id, name, notes, locked, identifiers, reasons, cases}]."),
    ] = False,
) -> None:
    """The case's targets, largest first (linked first if the case changed since the last run)."""
    from haven.intel import access
    from haven.intel.targets.listing import list_targets
    from haven.intel.targets.service import ensure_linked

    cli = _cli()
    config, store = cli._open()
    with store.session() as session:
        case = access.intel_case(session, ref, config.user)
        linked = ensure_linked(session, case, config.user)
        targets = list_targets(session, case, config.user)
        access.record(session, reference=ref, user=config.user, action="targets.list", detail={"targets": len(targets)})
    if linked is not None:
        cli.err.print(f"Linked {ref}: {_linked_line(linked)}")
    if as_json:
        sys.stdout.write(json.dumps(targets, indent=2, ensure_ascii=False) + "\n")
        return
    cli.out.print(f"{len(targets):,} target(s) in [bold]{escape(ref)}[/].")
    table = Table("target", "name", "identifiers", "also in", "notes")
    for target in targets:
        values = [f"{i['type']}:{i['value']}" for i in target["identifiers"]]
        table.add_row(
            str(target["id"]) + (" (locked)" if target["locked"] else ""),
            escape(target["name"] or ""),
            escape(", ".join(values[:6]) + (f" (+{len(values) - 6})" if len(values) > 6 else "")),
            escape(", ".join(f"{c['reference']} ({c['score']:.2f})" for c in target["cases"])),
            escape(target["notes"] or ""),
        )
    cli.out.print(table)


@targets_app.command("link")
def targets_link(
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    threshold: Threshold = 0.9,
) -> None:
    """Link the case's identifiers into targets again (analysts' locked targets are kept)."""
    from haven.intel import access
    from haven.intel.targets.service import link_case

    cli = _cli()
    config, store = cli._open()
    with store.session() as session:
        case = access.intel_case(session, ref, config.user)
        summary = link_case(session, case, config.user, threshold=threshold)
    cli.out.print(f"Linked [bold]{escape(ref)}[/]: {_linked_line(summary)}")


def _linked_line(summary: Any) -> str:
    return (
        f"{summary.targets:,} targets ({summary.locked_targets:,} kept as analysts left them, joined by "
        f"{summary.joined_locked:,} identifiers) from {summary.identifiers:,} linkable identifiers; "
        f"{summary.hubs:,} hub identifiers and {summary.list_records:,} list-like records link nothing; "
        f"{summary.cooccurrence_links:,} co-occurrence and {summary.fuzzy_links:,} fuzzy links, "
        f"{summary.leads:,} leads into other cases (splink model: {summary.fuzzy_model}, {summary.records:,} records)."
    )


@targets_app.command("name")
def targets_name(
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    target: Annotated[int, typer.Argument(help="Target id.")],
    name: Annotated[str, typer.Argument(help="The name to give it.")],
) -> None:
    """Name a target (kept across re-runs)."""
    from haven.intel.targets.actions import name_target

    _act(ref, lambda session, case, user: name_target(session, case, target, name, user=user), "Named")


@targets_app.command("note")
def targets_note(
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    target: Annotated[int, typer.Argument(help="Target id.")],
    text: Annotated[str, typer.Argument(help="The notes (replace the previous ones; empty clears them).")],
) -> None:
    """Annotate a target (kept across re-runs; earlier notes stay in the audit log)."""
    from haven.intel.targets.actions import note_target

    _act(ref, lambda session, case, user: note_target(session, case, target, text, user=user), "Annotated")


@targets_app.command("merge")
def targets_merge(
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    keep: Annotated[int, typer.Argument(help="Target to keep.")],
    other: Annotated[int, typer.Argument(help="Target merged into it (then removed).")],
) -> None:
    """Merge two targets: the same person."""
    from haven.intel.targets.actions import merge_targets

    _act(ref, lambda session, case, user: merge_targets(session, case, keep, other, user=user), "Kept")


@targets_app.command("split")
def targets_split(
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    target: Annotated[int, typer.Argument(help="Target id.")],
    identifiers: Annotated[
        str, typer.Option("--identifiers", help="Identifier ids or values (normalized or as written), comma-separated.")
    ],
) -> None:
    """Split identifiers off a target into a new one: not the same person."""
    from haven.intel.targets.actions import split_target

    refs = identifiers.split(",")
    _act(ref, lambda session, case, user: split_target(session, case, target, refs, user=user), "Split off")


def _act(ref: str, action: Any, verb: str) -> None:
    from haven.intel import access

    cli = _cli()
    config, store = cli._open()
    with store.session() as session:
        case = access.intel_case(session, ref, config.user)
        result = action(session, case, config.user)
    cli.out.print(f"{verb} target {result.target_id} ({result.identifiers:,} identifiers).")


@targets_app.command("graph")
def targets_graph(
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    out: Annotated[Path, typer.Option("--out", help="GraphML file to write.", dir_okay=False)],
    svg: Annotated[Path | None, typer.Option("--svg", help="Also draw the picture into this SVG file.")] = None,
) -> None:
    """Export the link graph (targets, identifiers, evidence records, other cases) as GraphML."""
    from haven.atomic import atomic_text
    from haven.intel import access
    from haven.intel.targets.graph import build_graph, write_graphml
    from haven.intel.targets.listing import list_targets
    from haven.intel.targets.svg import targets_svg

    cli = _cli()
    config, store = cli._open()
    with store.session() as session:
        case = access.intel_case(session, ref, config.user)
        targets = list_targets(session, case, config.user)
        graph = build_graph(ref, targets)
        detail: dict[str, Any] = {"out": str(out.resolve()), "nodes": graph.number_of_nodes()}
        detail["graphml_sha256"] = write_graphml(graph, out)
        if svg is not None:
            with atomic_text(svg, errors="xmlcharrefreplace") as picture:
                picture.write('<?xml version="1.0" encoding="utf-8"?>\n')
                picture.write(targets_svg(targets, title=f"Targets in case {ref}") + "\n")
            detail.update(svg=str(svg.resolve()), svg_sha256=picture.hexdigest())
        access.record(session, reference=ref, user=config.user, action="targets.graph", detail=detail)
    cli.out.print(
        f"Wrote {escape(str(out))}: {graph.number_of_nodes():,} nodes, {graph.number_of_edges():,} edges"
        + (f"; picture {escape(str(svg))}." if svg is not None else ".")
    )
