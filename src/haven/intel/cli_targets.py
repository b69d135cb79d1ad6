"""`haven intel` commands of the targets part (issue 7)."""

from __future__ import annotations

import typer


def add_commands(intel: typer.Typer) -> None:
    """Register this part's commands on the `haven intel` group."""
