"""`haven intel` commands of the deconflict part (issue 7): agreed keys, register exchange, deconfliction.

- ``haven intel register key generate|import|list``: HMAC keys agreed with partners (fingerprints only).
- ``haven intel register export|import|list``: register files of keyed hashes, never values.
- ``haven intel deconflict [REF] [--json]``: overlaps with other cases and partner registers.
Every command is audited (``intel.register.*``, ``intel.deconflict``); REF commands are for members only.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

register_app = typer.Typer(help="Deconfliction registers: agreed keys, export for partners, import theirs.")
key_app = typer.Typer(help="HMAC keys agreed with partners (kept in HAVEN_HOME/keys/intel, mode 0600).")
register_app.add_typer(key_app, name="key")


def add_commands(intel: typer.Typer) -> None:
    """Register this part's commands on the `haven intel` group."""
    intel.add_typer(register_app, name="register")
    intel.command("deconflict")(deconflict)


def _ring_and_store() -> tuple[Any, Any, Any]:
    from haven import cli
    from haven.intel.register.keys import KeyRing

    config, store = cli._open()
    return config, store, KeyRing(config.home)


# ---------------------------------------------------------------- keys


@key_app.command("generate")
def key_generate(
    name: Annotated[str, typer.Argument(help="A name for the key, e.g. the partner: north-unit.")],
) -> None:
    """Create a random 32-byte key and print it ONCE (hex and base64): agree it with the partner out of band."""
    from haven import cli
    from haven.intel.access import record

    config, store, ring = _ring_and_store()
    key = ring.generate(name)
    with store.session() as session:
        record(session, reference=None, user=config.user, action="register.key.generate", detail=_key_detail(ring, key))
    cli.out.print(f"Key '{name}' written to {ring.path(name)} (mode 0600).", markup=False)
    cli.out.print(f"hex:    {key.key.hex()}", markup=False)
    cli.out.print(f"base64: {base64.b64encode(key.key).decode('ascii')}", markup=False)
    cli.out.print(f"fingerprint: {key.fingerprint}", markup=False)
    cli.out.print("Give the key to the partner by a separate, trusted channel; it is not shown again.", markup=False)


@key_app.command("import")
def key_import(
    name: Annotated[str, typer.Argument(help="The name to keep it under.")],
    file: Annotated[
        Path | None, typer.Argument(help="File holding the key (hex, base64 or 32 raw bytes).", dir_okay=False)
    ] = None,
    hex_key: Annotated[str | None, typer.Option("--hex", help="The key as 64 hex digits.")] = None,
) -> None:
    """Keep a key a partner agreed with you (from a file, or --hex)."""
    from haven import cli
    from haven.intel.access import record
    from haven.intel.register.keys import parse_key

    if (file is None) == (hex_key is None):
        raise typer.BadParameter("give either FILE or --hex")
    if file is not None:
        try:
            data = file.read_bytes()[:4096]
        except OSError as error:
            raise typer.BadParameter(f"{file}: cannot read: {error.strerror or error}") from error
        raw = parse_key(data, str(file))
    else:
        raw = parse_key(str(hex_key).encode("ascii", errors="replace"), "--hex")
    config, store, ring = _ring_and_store()
    key, added = ring.add(name, raw)
    with store.session() as session:
        detail = {**_key_detail(ring, key), "added": added}
        record(session, reference=None, user=config.user, action="register.key.import", detail=detail)
    state = "kept" if added else "already kept (same key)"
    cli.out.print(f"Key '{name}' {state}: fingerprint {key.fingerprint}", markup=False)


@key_app.command("list")
def key_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Agreed keys by name and fingerprint (never the keys)."""
    from haven import cli
    from haven.intel.access import record
    from haven.intel.register.keys import RegisterKeyError

    config, store, ring = _ring_and_store()
    rows = []
    for name in ring.names():
        try:
            rows.append({"name": name, "fingerprint": ring.load(name).fingerprint})
        except RegisterKeyError as error:
            rows.append({"name": name, "fingerprint": None, "error": str(error)})
    with store.session() as session:
        record(session, reference=None, user=config.user, action="register.key.list", detail={"keys": len(rows)})
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if not rows:
        cli.out.print("No agreed keys. Create one with: haven intel register key generate NAME", markup=False)
        return
    table = Table("name", "fingerprint")
    for row in rows:
        table.add_row(escape(row["name"]), row["fingerprint"] or escape(row.get("error", "")))
    cli.out.print(table)


def _key_detail(ring: Any, key: Any) -> dict[str, str]:
    return {"name": key.name, "fingerprint": key.fingerprint, "path": str(ring.path(key.name))}


# ---------------------------------------------------------------- register files


@register_app.command("export")
def register_export(
    key: Annotated[str, typer.Option("--key", help="Name of the key agreed with the partner.")],
    out_file: Annotated[Path, typer.Option("--out", help="Register file to write (JSON lines).", dir_okay=False)],
    cases: Annotated[
        list[str] | None, typer.Option("--case", help="Only this case (repeatable). Default: every case you may see.")
    ] = None,
    agency: Annotated[
        str | None, typer.Option("--agency", help="Your agency (default: the signing key's, or HAVEN_AGENCY).")
    ] = None,
    contact: Annotated[
        str | None, typer.Option("--contact", help="Whom the partner calls on a match (default: HAVEN_CONTACT).")
    ] = None,
    sign: Annotated[
        bool, typer.Option("--sign", help="Sign with your share signing key (haven keys generate).")
    ] = False,
    signing_key: Annotated[
        Path | None, typer.Option("--signing-key", help="Private key (default: HAVEN_HOME/keys/signing-key.pem).")
    ] = None,
) -> None:
    """Write this store's register (keyed hashes of identifiers, series and victims; no values) for a partner."""
    from haven import cli
    from haven.intel.register.exchange import export_register
    from haven.share.signing import PRIVATE_KEY_NAME, load_signing_key

    config, store, ring = _ring_and_store()
    agreed = ring.load(key)
    signer = None
    if sign or signing_key is not None:
        signer = load_signing_key(signing_key or config.home / "keys" / PRIVATE_KEY_NAME)
    agency = agency or (signer.agency if signer else None) or os.environ.get("HAVEN_AGENCY")
    contact = contact or os.environ.get("HAVEN_CONTACT")
    if not agency or not contact:
        raise typer.BadParameter("say who you are: --agency and --contact (a partner's match shows them)")
    with store.session() as session:
        written = export_register(
            session,
            out_file,
            key=agreed,
            agency=agency,
            contact=contact,
            user=config.user,
            references=cases or (),
            signing_key=signer,
        )
    kinds = ", ".join(f"{kind} {count:,}" for kind, count in written.kinds.items()) or "none"
    cli.out.print(f"Wrote {written.entry_count:,} keyed hashes to {out_file} ({kinds}).", markup=False)
    cli.out.print(f"sha256 {written.sha256}; key fingerprint {agreed.fingerprint[:16]}", markup=False)


@register_app.command("import")
def register_import(
    file: Annotated[Path, typer.Argument(help="A partner's register file.", exists=True, dir_okay=False)],
    key: Annotated[str, typer.Option("--key", help="Name of the key agreed with that partner.")],
) -> None:
    """Import a partner's register (all or nothing; the same file twice is a no-op)."""
    from haven import cli
    from haven.intel.register.exchange import import_register

    config, store, ring = _ring_and_store()
    agreed = ring.load(key)
    with store.session() as session:
        imported = import_register(session, file, key=agreed, user=config.user)
        register = imported.register
        line = (
            f"Imported register {register.id} of {register.agency}: {register.entry_count:,} keyed hashes."
            if imported.added
            else f"Already imported as register {register.id} ({register.agency}); nothing changed."
        )
    cli.out.print(line, markup=False)


@register_app.command("remove")
def register_remove(
    register_id: Annotated[int, typer.Argument(help="The register's id (haven intel register list).")],
) -> None:
    """Drop a partner register (e.g. when the partner sent a newer one)."""
    from haven import cli
    from haven.intel.register.exchange import remove_register

    config, store, _ring = _ring_and_store()
    with store.session() as session:
        removed = remove_register(session, register_id, user=config.user)
        line = f"Removed register {removed.id} of {removed.agency} ({removed.entry_count:,} keyed hashes)."
    cli.out.print(line, markup=False)


@register_app.command("list")
def register_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Partner registers imported into this store."""
    from haven import cli
    from haven.intel.register.exchange import list_registers

    config, store, _ring = _ring_and_store()
    with store.session() as session:
        rows = [
            {
                "id": r.id,
                "agency": r.agency,
                "contact": r.contact,
                "entries": r.entry_count,
                "key": r.key_name,
                "key_fingerprint": r.key_fingerprint,
                "signed_by": r.signer_fingerprint,
                "exported_at": _iso(r.exported_at),
                "imported_at": _iso(r.imported_at),
                "imported_by": r.imported_by,
                "sha256": r.file_sha256,
            }
            for r in list_registers(session, user=config.user)
        ]
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if not rows:
        cli.out.print("No partner registers. Import one with: haven intel register import FILE --key NAME")
        return
    table = Table("id", "agency", "contact", "entries", "key", "made", "imported")
    for row in rows:
        values = (row["id"], row["agency"], row["contact"], f"{row['entries']:,}", row["key"], row["exported_at"])
        table.add_row(*(escape(str(v)) for v in values), escape(f"{row['imported_at']} by {row['imported_by']}"))
    cli.out.print(table)


def _iso(moment: Any) -> str:
    from datetime import UTC

    if moment.tzinfo is None:  # SQLite returns naive datetimes; they were stored as UTC
        moment = moment.replace(tzinfo=UTC)
    return str(moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"))


# ---------------------------------------------------------------- deconfliction


def deconflict(
    ref: Annotated[str | None, typer.Argument(help="Case reference (default: every overlap in the store).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON: [{kind, value_hash, cases, partners}].")] = False,
) -> None:
    """Who else works the same identifiers, targets, series or victims: other cases here, partner agencies."""
    from haven import cli
    from haven.intel.access import intel_case, record
    from haven.intel.register.deconflict import RESTRICTED
    from haven.intel.register.deconflict import deconflict as run

    config, store, ring = _ring_and_store()
    with store.session() as session:
        case = intel_case(session, ref, config.user) if ref else None
        found = run(session, case, user=config.user, ring=ring)
        record(
            session,
            reference=ref,
            user=config.user,
            action="deconflict",
            detail={
                "overlaps": len(found.overlaps),
                "with_partners": sum(1 for o in found.overlaps if o.partners),
                "warnings": len(found.warnings),
            },
        )
    for warning in found.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    if as_json:
        sys.stdout.write(json.dumps([o.to_json() for o in found.overlaps], indent=2) + "\n")
        return
    if not found.overlaps:
        cli.out.print(f"No overlaps{' for ' + ref if ref else ''}.", markup=False)
        return
    table = Table("kind", "value", "other cases" if ref else "cases", "partners (contact)", "hash")
    for o in found.overlaps:
        where = o.cases + [RESTRICTED] * o.restricted_cases
        partners = "; ".join(f"{p.agency} ({p.contact})" for p in o.partners)
        shown = o.target if o.kind == "target" else o.value
        table.add_row(*(escape(str(v)) for v in (o.kind, shown, ", ".join(where), partners, o.value_hash[:16])))
    cli.out.print(table)
