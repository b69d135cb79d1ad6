"""Web-app commands: `haven serve`, `haven user ...`, `haven case add-member/members`.

Registered on the main Typer app by `register` (called from haven.cli), so this module never imports
haven.cli and the web stack (FastAPI, uvicorn) is imported only by `haven serve`.
"""

from __future__ import annotations

import ipaddress
import sys
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from haven.config import Config, load_config
from haven.errors import HavenError

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

user_app = typer.Typer(help="Web-app accounts: add, list, disable.", no_args_is_help=True)


class Role(StrEnum):
    admin = "admin"
    investigator = "investigator"
    reviewer = "reviewer"


def _open() -> tuple[Config, Any]:
    from haven.store import open_store

    config = load_config()
    config.home.mkdir(parents=True, exist_ok=True)
    return config, open_store(config.database_url)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_new_password() -> str:
    """Prompted twice (hidden) on a terminal; otherwise the first line of standard input."""
    if sys.stdin.isatty():
        return typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise HavenError("no password on standard input (give it as the first line)")
    return password


def _print_one_time_password(password: str) -> None:
    # Printed once, never logged or stored in clear: whoever runs the first start hands it over.
    out.print("First run: created web-app user [bold]admin[/] with this ONE-TIME password:")
    out.print(f"    {password}", markup=False, highlight=False)
    out.print("It is shown only now. The first login asks for a new password.")


# ---------------------------------------------------------------- serve


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8750,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Listen on a non-loopback address (put TLS in front!).")
    ] = False,
) -> None:
    """Run the web app (review, categorize, case access) until interrupted."""
    from haven.accounts import bootstrap_admin

    if not is_loopback(host) and not allow_remote:
        raise HavenError(
            f"refusing to listen on '{host}': only loopback addresses are allowed without --allow-remote "
            "(and then only behind a TLS reverse proxy)"
        )
    if not is_loopback(host):
        err.print(
            f"WARNING: listening on {host}. Haven speaks plain HTTP and its cookies are Secure-only: "
            "put a TLS reverse proxy in front, and never expose this port directly.",
            markup=False,
            highlight=False,
        )
    import uvicorn

    from haven.web.app import create_app

    config, store = _open()
    with store.session() as session:
        password = bootstrap_admin(session, by=config.user)
    if password is not None:
        _print_one_time_password(password)
    out.print(f"Haven web app: http://{host}:{port}/  (Ctrl+C to stop)", markup=False, highlight=False)
    # X-Forwarded-For is believed only with --allow-remote (a TLS proxy on this machine forwards it):
    # on loopback alone, any local client could set it and step around the per-address login throttling.
    uvicorn.run(
        create_app(config, store),
        host=host,
        port=port,
        server_header=False,
        proxy_headers=allow_remote,
        log_level="info",
    )


# ---------------------------------------------------------------- user


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="User name (no spaces).")],
    role: Annotated[Role, typer.Option("--role", help="Global role.")] = Role.reviewer,
) -> None:
    """Add a web-app user. Password: prompted, or the first line of standard input when piped."""
    from haven.accounts import create_user

    config, store = _open()
    password = read_new_password()
    with store.session() as session:
        user = create_user(session, name, password, role=role.value, by=config.user)
    out.print(f"Added user [bold]{user.name}[/] ({user.role}).")


@user_app.command("list")
def user_list() -> None:
    """List web-app users."""
    from haven.accounts import list_users

    _, store = _open()
    table = Table("name", "role", "state", "created", "by", "last login")
    with store.session() as session:
        for user in list_users(session):
            state = "disabled" if user.disabled else ("must change password" if user.must_change_password else "active")
            last = f"{user.last_login_at:%Y-%m-%d %H:%M}" if user.last_login_at else "-"
            table.add_row(user.name, user.role, state, f"{user.created_at:%Y-%m-%d}", user.created_by, last)
    out.print(table)


@user_app.command("disable")
def user_disable(name: Annotated[str, typer.Argument(help="User name.")]) -> None:
    """Disable a user: their open sessions end at once and they can no longer log in."""
    from haven.accounts import disable_user

    config, store = _open()
    with store.session() as session:
        disable_user(session, name, by=config.user)
    out.print(f"Disabled user [bold]{name}[/]; their sessions are ended.")


@user_app.command("bootstrap-admin")
def user_bootstrap_admin(
    bare: Annotated[bool, typer.Option("--bare", help="Print only the password (for scripts).")] = False,
) -> None:
    """On a store with no users: create `admin` with a one-time password, printed once."""
    from haven.accounts import bootstrap_admin

    config, store = _open()
    with store.session() as session:
        password = bootstrap_admin(session, by=config.user)
    if password is None:
        err.print("Users exist already: no admin created.")
        return
    if bare:
        out.print(password, markup=False, highlight=False)
    else:
        _print_one_time_password(password)


# ---------------------------------------------------------------- case membership


def case_add_member(
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[Role, typer.Option("--role", help="The user's role in this case.")] = Role.reviewer,
) -> None:
    """Give a user access to a case (or change their role in it)."""
    from haven.accounts import add_member

    config, store = _open()
    with store.session() as session:
        _, created = add_member(session, ref, name, role=role.value, by=config.user)
    verb = "Added" if created else "Set"
    out.print(f"{verb} [bold]{name}[/] as {role.value} in case [bold]{ref}[/].")


def case_members(ref: Annotated[str, typer.Argument(help="Case reference.")]) -> None:
    """List who has access to a case."""
    from haven.accounts import list_members

    _, store = _open()
    table = Table("user", "case role", "global role", "state", "added", "by")
    with store.session() as session:
        for row in list_members(session, ref):
            state = "disabled" if row.disabled else "active"
            table.add_row(row.name, row.role, row.global_role, state, f"{row.added_at:%Y-%m-%d}", row.added_by)
    out.print(table)


def register(app: typer.Typer, case_app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(user_app, name="user")
    case_app.command("add-member")(case_add_member)
    case_app.command("members")(case_members)
