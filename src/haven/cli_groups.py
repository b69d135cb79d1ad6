"""Command groups shared by the CLI modules."""

from __future__ import annotations

from typing import Any

from typer.core import TyperGroup


class DefaultListGroup(TyperGroup):
    """A group whose bare form lists: `haven faces REF` = `haven faces list REF`, while `haven faces name ...`
    (any sub-command name) acts. Used by `haven faces` and `haven intel targets`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # typer's vendored click Context
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["list", *args]
        return super().parse_args(ctx, args)
