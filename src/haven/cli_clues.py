"""`haven clues REF [--json] [--item PICTURE] [--radius METRES]`: camera, place and time clues of a case.

Registered on the main app by ``add_clues_commands`` (haven.cli). JSON layout: docs/user-guide.md.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from haven.clues.places import DEFAULT_RADIUS_M


def add_clues_commands(app: typer.Typer) -> None:
    app.command("clues")(clues)


def clues(
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (layout: docs/user-guide.md).")] = False,
    item: Annotated[
        str | None,
        typer.Option("--item", help="One picture (SHA-256, 8+ hex digits, or evidence path): its camera elsewhere."),
    ] = None,
    radius: Annotated[
        float, typer.Option("--radius", min=1.0, help="Metres within which GPS points form one place.")
    ] = DEFAULT_RADIUS_M,
) -> None:
    """Cameras (by body serial, by make/model + lens), GPS places and the EXIF timeline; the same camera in
    other cases is a lead."""
    from haven import cli
    from haven.clues.report import case_clues, same_camera

    _config, store = cli._open()
    with store.session() as session:
        result = same_camera(session, ref, item) if item else case_clues(session, ref, radius)
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    elif item:
        _print_same_camera(cli.out, result)
    else:
        _print_case(cli.out, result)


def _cases(cases: list[dict[str, Any]]) -> str:
    return ", ".join(f"{c['case']} ({c['contents']})" for c in cases)


def _print_same_camera(out: Any, found: dict[str, Any]) -> None:
    if found["camera"] is None and found["serial"] is None:
        out.print(f"{found['sha256'][:16]}: no camera recorded in its EXIF.")
        return
    out.print(
        escape(
            f"{found['sha256'][:16]}: {found['camera'] or ''} serial {found['serial'] or '-'} "
            f"lens {found['lens'] or '-'} taken {found['taken'] or '-'}"
        )
    )
    out.print(f"Same camera body (strong lead): {escape(_cases(found['same_serial'])) or 'no other case'}")
    out.print(f"Same make/model + lens (weak): {escape(_cases(found['same_model_lens'])) or 'no other case'}")


def _print_case(out: Any, found: dict[str, Any]) -> None:
    s = found["summary"]
    out.print(
        f"Clues in [bold]{escape(found['case'])}[/]: {s['pictures']:,} pictures; {s['with_camera']:,} with a camera, "
        f"{s['with_gps']:,} with GPS, {s['with_date']:,} with a date taken."
    )
    table = Table("serial", "camera", "lenses", "pictures", "first", "last", "other cases (same body)")
    for g in found["cameras"]["by_serial"]:
        table.add_row(
            *(
                escape(str(v))
                for v in (
                    g["serial"],
                    g["camera"],
                    ", ".join(g["lenses"]),
                    g["contents"],
                    g["first_taken"] or "",
                    g["last_taken"] or "",
                    _cases(g["other_cases"]),
                )
            )
        )
    out.print(table)
    table = Table("camera", "lens", "serials", "pictures", "other cases (same kind)")
    for g in found["cameras"]["by_model_lens"]:
        table.add_row(
            *(
                escape(str(v))
                for v in (
                    g["camera"],
                    g["lens"] or "",
                    len(g["serials"]),
                    g["contents"],
                    _cases(g["other_cases"]),
                )
            )
        )
    out.print(table)
    places = found["places"]
    table = Table(
        "place",
        "centre (lat, lon)",
        f"extent m (radius {places['radius_m']:g})",
        "pictures",
        "first",
        "last",
        "cameras",
    )
    for c in places["clusters"]:
        table.add_row(
            *(
                escape(str(v))
                for v in (
                    c["place"],
                    f"{c['centre'][0]:.5f}, {c['centre'][1]:.5f}",
                    c["extent_m"],
                    c["contents"],
                    c["first_taken"] or "",
                    c["last_taken"] or "",
                    ", ".join(c["cameras"]),
                )
            )
        )
    out.print(table)
    table = Table("day", "camera", "serial", "pictures", "first", "last")
    for d in found["timeline"]:
        table.add_row(
            *(
                escape(str(v))
                for v in (
                    d["day"],
                    d["camera"],
                    d["serial"] or "",
                    d["contents"],
                    d["first_taken"][11:],
                    d["last_taken"][11:],
                )
            )
        )
    out.print(table)
