"""`haven intel` commands of the route part (issue 7): `route`, `referral`, `agencies list|import`.

JSON layouts (route, referral): docs/user-guide.md, "Intelligence: routing and referrals".
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

agencies_app = typer.Typer(help="The agency directory: who receives leads for each country.", no_args_is_help=True)


def add_commands(intel: typer.Typer) -> None:
    """Register this part's commands on the `haven intel` group."""
    intel.command("route")(route)
    intel.command("referral")(referral)
    agencies_app.command("list")(agencies_list)
    agencies_app.command("import")(agencies_import)
    intel.add_typer(agencies_app, name="agencies")


def route(
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (layout: docs/user-guide.md).")] = False,
) -> None:
    """Route every target and lead of a case to a destination country, with reasons, confidence and the
    receiving unit from the agency directory."""
    from haven import cli
    from haven.intel import access
    from haven.intel.agencies import load_directory
    from haven.intel.routing import route_case, routing_json

    config, store = cli._open()
    directory = load_directory(config.home)
    with store.session() as session:
        case = access.intel_case(session, ref, config.user)
        document = routing_json(route_case(session, case), directory)
        access.record(
            session,
            reference=ref,
            user=config.user,
            action="route",
            detail={
                "targets": len(document["targets"]),
                "leads": len(document["leads"]),
                "countries": [c["country"] for c in document["countries"] if c["country"]],
            },
        )
    if as_json:
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    else:
        _print_route(cli.out, document)


def referral(
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    country: Annotated[str, typer.Option("--country", help="Destination country (ISO 3166-1 alpha-2).")],
    fmt: Annotated[str, typer.Option("--format", help="stix (STIX 2.1 bundle), json or html.")],
    out: Annotated[Path, typer.Option("--out", help="File to write (atomically).")],
    tlp: Annotated[
        str | None, typer.Option("--tlp", help="amber or red (default: the directory's tlp, else amber).")
    ] = None,
) -> None:
    """Write the referral package for one destination country: targets, identifiers with times and evidence
    pointers, content hashes and categories, the sender's contact. Never media."""
    from haven import cli
    from haven.intel.agencies import load_directory
    from haven.intel.referral import FORMATS, write_referral

    if fmt not in FORMATS:
        raise typer.BadParameter(f"choose from: {', '.join(FORMATS)}", param_hint="'--format'")
    if tlp is not None and tlp.lower() not in ("amber", "red"):
        raise typer.BadParameter("choose from: amber, red", param_hint="'--tlp'")
    config, store = cli._open()
    result = write_referral(
        store,
        ref,
        country=country,
        fmt=fmt,
        out=out,
        user=config.user,
        directory=load_directory(config.home),
        tlp=tlp,
    )
    cli.out.print(
        escape(
            f"Wrote {result.format} referral for {result.country} (TLP:{result.tlp.upper()}): {result.targets} "
            f"target(s), {result.identifiers} identifier(s), {result.contents} content(s) to {result.out} "
            f"(sha256 {result.sha256})"
        )
    )


def agencies_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the agency directory: the sender, each country's receiving unit, and the fallback."""
    from haven import cli
    from haven.intel import access
    from haven.intel.agencies import load_directory

    config, store = cli._open()
    directory = load_directory(config.home)
    with store.session() as session:
        access.record(
            session,
            reference=None,
            user=config.user,
            action="agencies.list",
            detail={"path": str(directory.path), "agencies": len(directory.agencies)},
        )
    document: dict[str, Any] = {
        "path": str(directory.path),
        "tlp": directory.tlp,
        "sender": directory.sender.as_dict() if directory.sender else None,
        "fallback": directory.fallback.as_dict(),
        "agencies": [directory.agencies[c].as_dict() for c in sorted(directory.agencies)],
    }
    if as_json:
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        return
    out = cli.out
    out.print(escape(f"Agency directory {directory.path} (referrals TLP:{directory.tlp.upper()})"))
    sender = directory.sender
    out.print(
        escape(f"Sender: {sender.agency} {sender.unit or ''} {sender.email or ''}" if sender else "Sender: not set")
    )
    table = Table("country", "unit", "contact", "channel", "email")
    for agency in document["agencies"]:
        table.add_row(*(escape(agency[k] or "") for k in ("country", "unit", "contact", "channel", "email")))
    fallback = directory.fallback
    table.add_row(
        "(other)", *(escape(v or "") for v in (fallback.unit, fallback.contact, fallback.channel, fallback.email))
    )
    out.print(table)


def agencies_import(
    file: Annotated[Path, typer.Argument(help="A TOML or CSV agency directory (layout: docs/user-guide.md).")],
) -> None:
    """Validate a directory file and install it (every bad row is refused with its line number)."""
    from haven import cli
    from haven.intel import access
    from haven.intel.agencies import import_directory

    if not file.is_file():
        raise typer.BadParameter(f"no such file: {file}", param_hint="'FILE'")
    config, store = cli._open()
    directory, path, sha256 = import_directory(file, config.home)
    with store.session() as session:
        access.record(
            session,
            reference=None,
            user=config.user,
            action="agencies.import",
            detail={
                "file": str(file.resolve()),
                "path": str(path),
                "sha256": sha256,
                "agencies": len(directory.agencies),
                "sender": directory.sender is not None,
            },
        )
    cli.out.print(escape(f"Imported {len(directory.agencies)} agencies into {path} (sha256 {sha256})"))


def _print_route(out: Any, document: dict[str, Any]) -> None:
    out.print(
        escape(
            f"Routing of {document['case']}: {len(document['targets'])} target(s), {len(document['leads'])} lead(s)."
        )
    )
    summary = Table("country", "targets", "leads", "unlinked leads", "receiving unit")
    for row in document["countries"]:
        agency = row["agency"]
        unit = "" if agency is None else agency["unit"] + (" (fallback)" if agency["fallback"] else "")
        summary.add_row(
            escape(f"{row['country']} {row['name']}" if row["country"] else "(no country)"),
            str(row["targets"]),
            str(row["leads"]),
            str(row["unlinked_leads"]),
            escape(unit),
        )
    out.print(summary)
    if document["targets"]:
        targets = Table("target", "country", "confidence", "reasons", "conflicts")
        for target in document["targets"]:
            d = target["destination"]
            reasons = "; ".join(f"{e['basis']} {e['country']} ({e['source']})" for e in d["evidence"][:4])
            conflicts = ", ".join(f"{c['country']} {c['support']}" for c in d["conflicts"])
            targets.add_row(
                escape(target["name"] or f"#{target['target']}"),
                d["country"] or "-",
                f"{d['confidence']:.2f}",
                escape(reasons),
                conflicts,
            )
        out.print(targets)
    leads = Table("lead", "country", "confidence", "basis", "target")
    for lead in document["leads"]:
        d = lead["destination"]
        leads.add_row(
            escape(f"{lead['type']} {lead['value']}"),
            d["country"] or "-",
            f"{d['confidence']:.2f}",
            ", ".join(sorted({e["basis"] for e in d["evidence"]})),
            str(lead["target"] or ""),
        )
    out.print(leads)
    if any(e["basis"] == "ip" for lead in document["leads"] for e in lead["destination"]["evidence"]):
        out.print(escape("Caveat: " + _ip_caveat()))


def _ip_caveat() -> str:
    from haven.intel.routing import IP_CAVEAT

    return IP_CAVEAT
