"""`haven intel sightings import|list|match`: observations from monitoring tools and tips (issue 7).

JSON layout of `list --json`: docs/user-guide.md ("Sightings").
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

sightings_app = typer.Typer(help="Sightings from monitoring tools and tips: CSV, JSON, STIX 2.1.", no_args_is_help=True)


def add_commands(intel: typer.Typer) -> None:
    """Register this part's commands on the `haven intel` group."""
    intel.add_typer(sightings_app, name="sightings")


def _settings(config: Any) -> Any:
    from haven.intel.sightings import MatchSettings

    return MatchSettings(threshold=config.pdq_threshold, min_quality=config.pdq_min_quality, index_dir=config.index_dir)


@sightings_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="CSV, JSON (or JSON Lines) or STIX 2.1 bundle.", dir_okay=False)],
    case: Annotated[str, typer.Option("--case", help="Case reference.")],
    source: Annotated[
        str | None, typer.Option("--source", help="Who reported these (rows and STIX objects naming none get it).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="auto, csv, json or stix.")] = "auto",
) -> None:
    """Import sightings into a case and match them against its contents, the known sets and its identifiers."""
    from haven import cli
    from haven.intel.sightings import import_sightings

    config, store = cli._open()
    summary = import_sightings(
        store, file, case_ref=case, user=config.user, source=source, fmt=fmt, settings=_settings(config)
    )
    out = cli.out
    if summary.already_imported:
        out.print(
            f"{escape(str(file))} was already imported into {escape(summary.case)} "
            f"({summary.sha256[:16]}): nothing added."
        )
    else:
        out.print(f"Imported {escape(str(file))} ({summary.format}) into {escape(summary.case)}.")
    out.print(f"rows: {summary.records:,}  sightings: {summary.sightings:,}  identifiers: {summary.identifiers:,}")
    out.print(
        f"hashes matched to case contents: {summary.sightings_matching_contents:,} sightings "
        f"({summary.contents_matched:,} contents)"
    )
    sets = f" ({escape(', '.join(summary.known_sets))})" if summary.known_sets else ""
    out.print(f"matched to known sets: {summary.sightings_matching_known:,} sightings{sets}")
    out.print(f"identifiers already in the case: {summary.identifiers_in_case:,}")
    out.print(f"skipped: {summary.skipped:,}")
    for reason in summary.skipped_reasons:
        out.print(f"  {escape(reason)}")
    if summary.skipped > len(summary.skipped_reasons):
        out.print(f"  ... and {summary.skipped - len(summary.skipped_reasons):,} more")


@sightings_app.command("list")
def list_command(
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (layout: docs/user-guide.md).")] = False,
) -> None:
    """The case's sightings with what each matched: case contents (category), known sets, case identifiers."""
    from haven import cli
    from haven.intel import access
    from haven.intel.sightings import list_sightings

    config, store = cli._open()
    with store.session() as session:
        case = access.intel_case(session, ref, config.user)
        result = list_sightings(session, case.id, case.reference)
        access.record(
            session,
            reference=case.reference,
            user=config.user,
            action="sightings.list",
            detail={"sightings": result["summary"]["sightings"], "json": as_json},
        )
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        _print(cli.out, result)


@sightings_app.command("match")
def match_command(ref: Annotated[str, typer.Argument(help="Case reference.")]) -> None:
    """Match the case's sightings again (after an ingest, a new hash set or an extraction)."""
    from haven import cli
    from haven.intel import access
    from haven.intel.sightings import match_sightings
    from haven.intel.sightings.listing import import_counts

    config, store = cli._open()
    with store.session() as session:
        case = access.intel_case(session, ref, config.user)
        match_sightings(session, case.id, _settings(config))
        counts = import_counts(session, case.id)
        access.record(session, reference=case.reference, user=config.user, action="sightings.match", detail=counts)
    cli.out.print(
        f"{escape(case.reference)}: {counts['sightings_matching_contents']:,} sightings match case contents "
        f"({counts['contents_matched']:,} contents), {counts['sightings_matching_known']:,} match known sets, "
        f"{counts['identifiers_in_case']:,} of {counts['identifiers']:,} identifiers are in the case."
    )


def _print(out: Any, result: dict[str, Any]) -> None:
    s = result["summary"]
    out.print(
        f"Sightings in [bold]{escape(result['case'])}[/]: {s['sightings']:,} from {s['imports']:,} imports; "
        f"{s['identifiers']:,} identifiers ({s['identifiers_in_case']:,} in the case); "
        f"{s['sightings_matching_contents']:,} match case contents, {s['sightings_matching_known']:,} known sets."
    )
    table = Table("observed (UTC)", "source", "network", "identifier", "in case", "file", "case contents", "known sets")
    for item in result["sightings"]:
        identifier = item["identifier"]
        file_hash = next(iter(item["hashes"].items()), None)
        table.add_row(
            *(
                escape(str(v))
                for v in (
                    item["observed_at"] or "-",
                    item["source"] or "",
                    item["network"] or "",
                    f"{identifier['type']}: {identifier['value']}" if identifier else "",
                    ("yes" if identifier["in_case"] else "no") if identifier else "",
                    item["file_name"] or (f"{file_hash[0]}:{file_hash[1][:16]}" if file_hash else ""),
                    "; ".join(
                        f"{c['sha256'][:12]} {c['category'] or c['status']} ({c['method']} {c['distance']})"
                        + (f" in {', '.join(c['sets'])}" if c["sets"] else "")
                        for c in item["contents"]
                    ),
                    "; ".join(
                        f"{k['set']} cat {k['category'] or '-'} ({k['method']} {k['distance']})" for k in item["known"]
                    ),
                )
            )
        )
    out.print(table)
