"""`haven intel` commands of the extract part (issue 7): `extract REF`, `identifiers REF [--json] [--type T]`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from haven.intel.types import IDENTIFIER_TYPES


def add_commands(intel: typer.Typer) -> None:
    """Register this part's commands on the `haven intel` group."""
    intel.command("extract")(extract)
    intel.command("identifiers")(identifiers)


def extract(
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Worker processes (default: all cores).")
    ] = None,
) -> None:
    """Read every text-bearing content of the case (text, chat logs, HTML, JSON, CSV/XLSX, e-mail, news, PDF,
    DOCX, SQLite, EXIF owner fields) for identifiers. Re-runnable: what is done is skipped."""
    from haven import cli
    from haven.intel.extract import extract_case

    config, store = cli._open()
    summary = extract_case(store, config, ref, workers=workers, show_progress=cli._state["progress"])
    cli.out.print(
        f"Identifiers in [bold]{escape(ref)}[/]: {summary.scanned:,} of {summary.contents:,} text-bearing contents "
        f"read ({summary.already_done:,} already done), {summary.occurrences:,} occurrences in "
        f"{summary.with_identifiers:,} contents, {summary.bytes_read / 1e6:,.1f} MB at "
        f"{summary.megabytes_per_second:,.1f} MB/s, {len(summary.errors):,} errors."
    )
    for path, error in summary.errors[:20]:
        cli.out.print(f"  error: {escape(path)}: {escape(error)}")
    if len(summary.errors) > 20:
        cli.out.print(f"  ... and {len(summary.errors) - 20:,} more (haven intel identifiers shows what was found)")


def identifiers(
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print JSON: a list of {type, value, normalized, country, occurrences: [{sha256, path, line, ...}]}.",
        ),
    ] = False,
    identifier_type: Annotated[
        str | None, typer.Option("--type", help=f"Only this type: {', '.join(IDENTIFIER_TYPES)}.")
    ] = None,
) -> None:
    """The case's identifiers and where each occurs (members of the case only)."""
    from haven import cli
    from haven.intel import access
    from haven.intel.identifiers import case_identifiers, check_type

    if identifier_type is not None and identifier_type not in IDENTIFIER_TYPES:
        raise typer.BadParameter(f"one of: {', '.join(IDENTIFIER_TYPES)}", param_hint="'--type'")
    config, store = cli._open()
    with store.session() as session:
        case = access.intel_case(session, ref, config.user)
        listed = 0
        rows = case_identifiers(session, case.id, check_type(identifier_type))
        if as_json:
            sys.stdout.write("[")
            for row in rows:
                sys.stdout.write(("," if listed else "") + "\n" + _indented(row))
                listed += 1
            sys.stdout.write("\n]\n" if listed else "]\n")
        else:
            listed = _print_table(cli.out, ref, rows)
        access.record(
            session,
            reference=ref,
            user=config.user,
            action="identifiers",
            detail={"type": identifier_type, "identifiers": listed, "format": "json" if as_json else "table"},
        )


def _indented(row: dict) -> str:
    import json

    return "\n".join("  " + line for line in json.dumps(row, indent=2, ensure_ascii=False).splitlines())


def _print_table(out: object, ref: str, rows: object) -> int:
    table = Table("type", "value", "country", "occurrences", "first place")
    listed = 0
    for row in rows:  # type: ignore[attr-defined]
        first = row["occurrences"][0] if row["occurrences"] else None
        place = f"{first['path']}:{first['line']}" if first else ""
        table.add_row(
            row["type"], escape(row["value"]), row["country"] or "", f"{len(row['occurrences']):,}", escape(place)
        )
        listed += 1
    out.print(f"Identifiers in [bold]{escape(ref)}[/]: {listed:,}")  # type: ignore[attr-defined]
    if listed:
        out.print(table)  # type: ignore[attr-defined]
    return listed
