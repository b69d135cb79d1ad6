"""`haven intel ...`: the intelligence command group (issue 7).

Each part registers its own commands from its own module, so the parts stay independent:
extraction (`extract`, `identifiers`), sightings (`sightings import`), targets (`targets`), routing and
referrals (`route`, `referral`), deconfliction (`deconflict`, `register export|import`).
"""

from __future__ import annotations

import typer

intel_app = typer.Typer(
    help="Intelligence: identifiers in seized material, sightings, targets, routing, deconfliction, referrals.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    from haven.intel import cli_deconflict, cli_extract, cli_route, cli_sightings, cli_targets

    for part in (cli_extract, cli_sightings, cli_targets, cli_route, cli_deconflict):
        part.add_commands(intel_app)
    app.add_typer(intel_app, name="intel")
