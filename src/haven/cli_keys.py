"""`haven keys ...`: the agency's signing key and the partner keys it trusts. Thin, as cli.py.

A signing key signs the share packages this agency sends (``haven export REF --format haven``); trusted
keys are the partners' public keys whose packages ``haven hashset import`` accepts.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

keys_app = typer.Typer(
    help="Signing keys for share packages, and the partner keys this Haven trusts.", no_args_is_help=True
)

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _open() -> tuple[Any, Any]:
    from haven.config import load_config
    from haven.store import open_store

    config = load_config()
    config.home.mkdir(parents=True, exist_ok=True)
    return config, open_store(config.database_url)


def _default_key_dir() -> Path:
    from haven.config import load_config

    return load_config().home / "keys"


@keys_app.command("generate")
def keys_generate(
    agency: Annotated[str, typer.Option("--agency", help="Your agency's name, written into packages you sign.")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Folder for the key pair (default: HAVEN_HOME/keys).", file_okay=False)
    ] = None,
) -> None:
    """Create this agency's Ed25519 signing key (private key readable by you only) and print its public key."""
    from haven.share.keys import record_generated
    from haven.share.signing import generate

    config, store = _open()
    private_path, public_path, fingerprint = generate(agency, out_dir or config.home / "keys")
    with store.session() as session:
        record_generated(
            session, fingerprint_hex=fingerprint, agency=agency.strip(), private_key=private_path, user=config.user
        )
    out.print(f"Private key: {private_path} (mode 0600: keep it secret, back it up offline)", markup=False)
    out.print(f"Public key:  {public_path} (send this file to partners)", markup=False)
    out.print(f"Fingerprint: {fingerprint}", markup=False)
    out.print("Partners should check this fingerprint with you over another channel before trusting the key.")
    sys.stdout.write(public_path.read_text())


@keys_app.command("export-public")
def keys_export_public(
    key: Annotated[
        Path | None, typer.Option("--key", help="Private key (default: HAVEN_HOME/keys/signing-key.pem).")
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the public key here (default: print it).")
    ] = None,
) -> None:
    """The public half of a signing key, as a PEM file for partners."""
    from haven.share.signing import PRIVATE_KEY_NAME, load_signing_key, public_pem

    signing = load_signing_key(key or _default_key_dir() / PRIVATE_KEY_NAME)
    pem = public_pem(signing.public_raw, signing.agency)
    if out_file is None:
        sys.stdout.write(pem.decode("utf-8"))
        return
    out_file.write_bytes(pem)
    out.print(f"Public key of {signing.agency or 'this key'} written to {out_file}", markup=False)
    out.print(f"Fingerprint: {signing.fingerprint}", markup=False)


@keys_app.command("trust")
def keys_trust(
    file: Annotated[Path, typer.Argument(help="The partner's public key (PEM).", exists=True, dir_okay=False)],
    agency: Annotated[str, typer.Option("--agency", help="The agency you checked this key belongs to.")],
) -> None:
    """Trust a partner's public key: share packages it signed can then be imported."""
    from haven.share.keys import trust_key

    config, store = _open()
    with store.session() as session:
        outcome = trust_key(session, file, agency=agency, user=config.user)
    said = {
        "added": "Now trusted",
        "restored": "Trusted again (it had been revoked)",
        "unchanged": "Already trusted",
    }[outcome.change]
    out.print(f"{said}: key of {outcome.agency}, fingerprint {outcome.fingerprint}", markup=False)


@keys_app.command("list")
def keys_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Trusted partner keys, revoked ones included."""
    from haven.share.keys import list_keys

    _, store = _open()
    with store.session() as session:
        rows: list[dict[str, Any]] = [
            {
                "fingerprint": key.fingerprint,
                "agency": key.agency,
                "added_at": key.added_at.isoformat(timespec="seconds"),
                "added_by": key.added_by,
                "revoked_at": key.revoked_at.isoformat(timespec="seconds") if key.revoked_at else None,
                "revoked_by": key.revoked_by,
            }
            for key in list_keys(session)
        ]
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
        return
    if not rows:
        out.print("No trusted keys. Add a partner's with: haven keys trust THEIR-KEY.pub.pem --agency NAME")
        return
    table = Table("fingerprint", "agency", "added", "status")
    for row in rows:
        status = f"revoked {row['revoked_at'][:10]} by {row['revoked_by']}" if row["revoked_at"] else "trusted"
        table.add_row(row["fingerprint"][:16], row["agency"], f"{row['added_at'][:10]} by {row['added_by']}", status)
    out.print(table)


@keys_app.command("untrust")
def keys_untrust(
    fingerprint: Annotated[str, typer.Argument(help="The key's fingerprint, or its first 8 or more digits.")],
) -> None:
    """Revoke a trusted key: packages it signed are refused from now on (sets already imported stay)."""
    from haven.share.keys import untrust_key

    config, store = _open()
    with store.session() as session:
        key = untrust_key(session, fingerprint, user=config.user)
        agency, full = key.agency, key.fingerprint
    out.print(f"Revoked: key of {agency}, fingerprint {full}", markup=False)
