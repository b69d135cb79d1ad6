"""`haven scheme ...`: category schemes (presets and custom) and the mappings between them. Thin, as cli.py."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

scheme_app = typer.Typer(
    help="Category schemes (VIC US, VIC Canada, CAID UK, custom) and the mappings between them.", no_args_is_help=True
)

out = Console(soft_wrap=True)
JSON_OPTION = typer.Option("--json", help="Print JSON.")


def _open() -> tuple[Any, Any]:
    from haven.config import load_config
    from haven.store import open_store

    config = load_config()
    config.home.mkdir(parents=True, exist_ok=True)
    return config, open_store(config.database_url)


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


@scheme_app.command("list")
def scheme_list(as_json: Annotated[bool, JSON_OPTION] = False) -> None:
    """Every category scheme: presets and custom ones."""
    from haven.schemes import list_schemes

    _, store = _open()
    with store.session() as session:
        schemes = list_schemes(session)
    if as_json:
        _print_json(schemes)
        return
    table = Table("name", "title", "codes", "kind", "created")
    for s in schemes:
        kind = "preset" if s["builtin"] else "custom"
        table.add_row(s["name"], s["title"], str(s["codes"]), kind, f"{s['created_at'][:10]} by {s['created_by']}")
    out.print(table)


@scheme_app.command("show")
def scheme_show(
    name: Annotated[str, typer.Argument(help="Scheme name, e.g. vic-us.")],
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """A scheme's codes in review order (number keys 1..9 follow it) and the schemes it maps to."""
    from haven.schemes import describe_scheme

    _, store = _open()
    with store.session() as session:
        described = describe_scheme(session, name)
    if as_json:
        _print_json(described)
        return
    table = Table("key", "code", "name", "meaning", title=f"{described['name']}: {described['title']}")
    for index, category in enumerate(described["categories"], start=1):
        key = str(index) if index <= 9 else ""
        table.add_row(key, category["code"], category["name"], category["meaning"] or "")
    out.print(table)
    for label, pairs in (("maps to", described["maps_to"]), ("mapped from", described["maps_from"])):
        if pairs:
            out.print(f"{label}: " + ", ".join(f"{other} ({n} codes)" for other, n in sorted(pairs.items())))


@scheme_app.command("create")
def scheme_create(
    name: Annotated[str, typer.Argument(help="New scheme name: lower-case letters, digits, '.', '_', '-'.")],
    file: Annotated[
        Path, typer.Option("--from", help="CSV (code,name[,meaning]) or JSON file.", exists=True, dir_okay=False)
    ],
    title: Annotated[str | None, typer.Option("--title", help="A title (default: the file's, or the name).")] = None,
) -> None:
    """Create a custom category scheme from a file of codes; its order is the review order."""
    from haven.schemes import categories, create_scheme_from_file

    config, store = _open()
    with store.session() as session:
        scheme = create_scheme_from_file(session, name, file, user=config.user, title=title)
        codes = len(categories(session, name))
    out.print(f"Created category scheme [bold]{name}[/] ({scheme.title}): {codes} codes.")


@scheme_app.command("map")
def scheme_map(
    from_scheme: Annotated[str, typer.Argument(metavar="FROM", help="Scheme the codes come from.")],
    to_scheme: Annotated[str, typer.Argument(metavar="TO", help="Scheme they map into.")],
    file: Annotated[
        Path,
        typer.Option("--from-file", help="CSV of from_code,to_code lines (empty to_code: unmapped).", exists=True),
    ],
) -> None:
    """Replace the whole mapping FROM -> TO by the file's; codes the file leaves out become unmapped."""
    from haven.schemes import set_mapping_from_file

    config, store = _open()
    with store.session() as session:
        change = set_mapping_from_file(session, from_scheme, to_scheme, file, user=config.user)
    out.print(
        f"Mapping {from_scheme} -> {to_scheme} replaced: {change.mapped} codes mapped, {change.unmapped} unmapped "
        f"(was {len(change.before)} mapped)."
    )


@scheme_app.command("mapping")
def scheme_mapping(
    from_scheme: Annotated[str, typer.Argument(metavar="FROM", help="Scheme the codes come from.")],
    to_scheme: Annotated[str, typer.Argument(metavar="TO", help="Scheme they map into.")],
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """The current mapping FROM -> TO: every FROM code and its TO code, or 'unmapped'."""
    from haven.schemes import mapping

    _, store = _open()
    with store.session() as session:
        rows = mapping(session, from_scheme, to_scheme)
    if as_json:
        _print_json([asdict(row) for row in rows])
        return
    table = Table(from_scheme, to_scheme, "why", title=f"{from_scheme} -> {to_scheme}")
    for row in rows:
        target = f"{row.to_code} {row.to_name}" if row.to_code else "unmapped (no decision: a reviewer categorizes)"
        table.add_row(f"{row.from_code} {row.from_name}", target, row.note or "")
    out.print(table)
