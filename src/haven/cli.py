"""The `haven` command line. Thin: parsing, calling the services below, printing results.

Exit codes: 0 the run completed (items that failed are counted, not fatal); 2 usage error;
1 the run itself failed, with a one-line reason (a traceback only with --debug).
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from haven import __version__
from haven.cli_analyze import add_analysis_commands
from haven.cli_clues import add_clues_commands
from haven.cli_intel import register as register_intel_commands
from haven.cli_keys import keys_app
from haven.cli_schemes import scheme_app
from haven.cli_web import register as register_web_commands
from haven.config import Config, load_config
from haven.errors import HavenError

app = typer.Typer(
    help="Haven: triage seized collections — what is known, what is new, what could not be read.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
case_app = typer.Typer(help="Create and inspect cases.", no_args_is_help=True)
hashset_app = typer.Typer(help="Import known-material and known-good hash sets.", no_args_is_help=True)
audit_app = typer.Typer(help="Check the tamper-evident audit log.", no_args_is_help=True)
app.add_typer(case_app, name="case")
app.add_typer(hashset_app, name="hashset")
app.add_typer(audit_app, name="audit")
app.add_typer(scheme_app, name="scheme")
app.add_typer(keys_app, name="keys")

out = Console(soft_wrap=True)  # never wrap: scripts read these lines
err = Console(stderr=True, soft_wrap=True)
_state: dict[str, Any] = {"debug": False, "progress": True}
WORKERS_OPTION = typer.Option("--workers", min=1, help="Worker processes (default: all cores).")


class SetFormat(StrEnum):
    auto = "auto"
    plain = "plain"
    pdq = "pdq"
    vics = "vics"
    vpdq = "vpdq"
    nsrl = "nsrl"
    kdb = "kdb"
    hma = "hma"
    signals = "signals"
    csv = "csv"
    md5sum = "md5sum"
    hashkeeper = "hashkeeper"
    encase = "encase"
    haven = "haven"


class SetExportFormat(StrEnum):
    plain = "plain"
    pdq = "pdq"
    vics = "vics"


class CaseExportFormat(StrEnum):
    vics = "vics"
    haven = "haven"


class SetKind(StrEnum):
    known = "known"
    known_good = "known-good"


def _version(value: bool) -> None:
    if value:
        out.print(f"haven {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on failure.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    _state["debug"] = debug
    _state["progress"] = not quiet


def _open() -> tuple[Config, Any]:
    from haven.store import open_store

    config = load_config()
    config.home.mkdir(parents=True, exist_ok=True)
    return config, open_store(config.database_url)


# ---------------------------------------------------------------- case


@case_app.command("create")
def case_create(
    ref: Annotated[str, typer.Argument(help="Case reference, e.g. OP-2026-041.")],
    title: Annotated[str | None, typer.Option("--title", help="A short title.")] = None,
    scheme: Annotated[
        str, typer.Option("--scheme", help="Category scheme: a preset or a custom one (see: haven scheme list).")
    ] = "vic-us",
) -> None:
    """Create a case."""
    from haven.cases import create_case
    from haven.schemes import scheme_names

    config, store = _open()
    with store.session() as session:
        known = scheme_names(session)
        if scheme not in known:
            choices = ", ".join(known)
            message = f"unknown category scheme '{scheme}' (choose from: {choices})"
            raise typer.BadParameter(message, param_hint="'--scheme'")
        case, created = create_case(session, ref, user=config.user, title=title, scheme=scheme)
        if created:
            out.print(f"Created case [bold]{case.reference}[/] (scheme {case.scheme}).")
        else:
            out.print(f"Case [bold]{case.reference}[/] already exists (scheme {case.scheme}); nothing changed.")


@case_app.command("list")
def case_list() -> None:
    """List cases."""
    from sqlalchemy import select

    from haven.store.models import Case

    _, store = _open()
    table = Table("reference", "title", "scheme", "created", "by")
    with store.session() as session:
        for case in session.scalars(select(Case).order_by(Case.reference)):
            table.add_row(case.reference, case.title or "", case.scheme, f"{case.created_at:%Y-%m-%d}", case.created_by)
    out.print(table)


# ---------------------------------------------------------------- ingest / match / report


@app.command()
def ingest(
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    paths: Annotated[list[Path], typer.Argument(help="Folders, files or archives (read-only).")],
    label: Annotated[str | None, typer.Option("--label", help="Exhibit label (default: the file name).")] = None,
    workers: Annotated[int | None, WORKERS_OPTION] = None,
) -> None:
    """Add evidence to a case: walk, hash, decode and store every file. Re-running resumes."""
    from haven.pipeline import ingest as run_ingest

    config, store = _open()
    summary = run_ingest(store, config, ref, paths, label=label, workers=workers, show_progress=_state["progress"])
    out.print(
        f"Ingested {summary.items_stored:,} items from {summary.files_walked:,} files "
        f"({summary.already_done:,} already done) into [bold]{ref}[/] in {summary.seconds:.2f}s "
        f"({summary.rate:,.1f} items/s); {summary.errors:,} with errors."
    )


@app.command()
def match(ref: Annotated[str, typer.Argument(help="Case reference.")]) -> None:
    """Re-run matching of a case against every imported hash set."""
    config, store = _open()
    summary = _match(config, store, ref)
    out.print(
        f"Matched [bold]{ref}[/] against {summary.sets} set(s): {summary.exact_matches_added:,} new exact, "
        f"{summary.pdq_matches_added:,} new PDQ, {summary.dihedral_matches_added:,} rotated/mirrored, "
        f"{summary.video_matches_added:,} video, {summary.frame_matches_added:,} video-frame matches; "
        f"{summary.decisions_added:,} pre-categorizations."
    )
    _print_unmapped(summary)
    if summary.groups is not None:
        out.print(f"{summary.groups.groups:,} near-duplicate stack(s) across all cases.")
    _print_statuses(summary.by_status)


def _print_unmapped(summary: Any) -> None:
    """Set categories the case's scheme has no mapping for: never applied, so say so."""
    for unmapped in summary.unmapped:
        out.print(f"note: {unmapped}", markup=False)


def _match(config: Config, store: Any, ref: str) -> Any:
    from haven.matching.run import match_case

    return match_case(
        store,
        ref,
        user=config.user,
        threshold=config.pdq_threshold,
        min_quality=config.pdq_min_quality,
        index_dir=config.index_dir,
        video_query_percent=config.vpdq_query_percent,
        video_compared_percent=config.vpdq_compared_percent,
    )


@app.command()
def report(
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for report.json and report.html.")],
) -> None:
    """Write DIR/report.json and DIR/report.html."""
    config, store = _open()
    paths = _write_report(config, store, ref, out_dir)
    _print_summary(paths.summary, paths.html_path)


def _write_report(config: Config, store: Any, ref: str, out_dir: Path) -> Any:
    from haven import audit
    from haven.cases import case_chain
    from haven.report import write_report

    paths = write_report(store, ref, out_dir, pdq_threshold=config.pdq_threshold)
    with store.session() as session:
        audit.record(
            session,
            chain=case_chain(ref),
            user=config.user,
            action="report",
            detail={
                "out": str(out_dir.resolve()),
                "json_sha256": paths.summary.get("json_sha256"),
                "html_sha256": paths.summary.get("html_sha256"),
            },
        )
    return paths


@app.command()
def groups(
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (the report.json `groups` shape).")] = False,
) -> None:
    """Near-duplicate stacks holding this case's pictures (rebuilt first, across all cases)."""
    from haven import audit
    from haven.cases import case_chain, get_case
    from haven.matching.grouping import build_groups
    from haven.report.groups import iter_groups

    config, store = _open()
    with store.session() as session:
        case = get_case(session, ref)
        summary = build_groups(session, threshold=config.pdq_threshold, min_quality=config.pdq_min_quality)
        audit.record(
            session, chain=case_chain(ref), user=config.user, action="groups", detail={"groups": summary.groups}
        )
        stacks = list(iter_groups(session, case.id))
    if as_json:
        document = {
            "case": ref,
            "threshold": summary.threshold,
            "excluded": {"low_quality": summary.excluded_low_quality, "featureless": summary.excluded_featureless},
            "groups": stacks,
        }
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        return
    out.print(
        f"{len(stacks):,} stack(s) hold pictures of [bold]{ref}[/] (PDQ distance <= {summary.threshold} to the "
        f"representative; {summary.excluded_low_quality:,} low-quality and {summary.excluded_featureless:,} "
        "featureless pictures left out)."
    )
    table = Table("stack", "representative", "members", "max distance", "other cases")
    for stack in stacks:
        others = sorted({m["case"] for m in stack["member_details"] if m["case"] != ref})
        table.add_row(
            str(stack["id"]),
            stack["representative"][:16],
            str(len(stack["members"])),
            str(stack["max_distance"]),
            ", ".join(others),
        )
    out.print(table)


@app.command("export")
def export(
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    fmt: Annotated[
        CaseExportFormat, typer.Option("--format", help="Exchange format: vics, or haven (a signed share package).")
    ],
    out_file: Annotated[Path, typer.Option("--out", help="File to write (replaced whole, never half-written).")],
    key: Annotated[
        Path | None,
        typer.Option("--key", help="Signing key for --format haven (default: HAVEN_HOME/keys/signing-key.pem)."),
    ] = None,
    include_paths: Annotated[
        bool,
        typer.Option(
            "--include-paths", help="Share packages: add where each content was found (names can identify a victim)."
        ),
    ] = False,
) -> None:
    """Write the case's categorized contents for partners: hashes, sizes, categories; no media, no paths."""
    from haven.exports import export_case
    from haven.share.signing import PRIVATE_KEY_NAME

    config, store = _open()
    signing_key = key or config.home / "keys" / PRIVATE_KEY_NAME
    result = export_case(
        store, ref, fmt.value, out_file, user=config.user, signing_key=signing_key, include_paths=include_paths
    )
    out.print(f"Exported {result.written:,} categorized contents of [bold]{ref}[/] as {result.format} to {out_file}.")
    out.print(f"SHA-256 {result.sha256}")


# ---------------------------------------------------------------- hash sets


@hashset_app.command("import")
def hashset_import(
    file: Annotated[Path, typer.Argument(help="Hash-set file.", exists=True, dir_okay=False)],
    name: Annotated[str | None, typer.Option("--name", help="Set name (default: file name).")] = None,
    fmt: Annotated[SetFormat, typer.Option("--format", help="File format.")] = SetFormat.auto,
    kind: Annotated[SetKind, typer.Option("--kind", help="known material, or known-good (e.g. NSRL).")] = (
        SetKind.known
    ),
    scheme: Annotated[
        str | None,
        typer.Option("--scheme", help="Category scheme of a list that does not declare one (haven scheme list)."),
    ] = None,
) -> None:
    """Import a hash set: plain MD5/SHA-1/SHA-256 lists, PDQ lists, VICS JSON, vPDQ video hashes, NSRL RDSv3,
    Autopsy .kdb, HMA CSV, signal lists, CSV tables with a header (ICSE baselines), md5sum output,
    HashKeeper and EnCase hash sets, and signed Haven share packages (from a trusted key: haven keys trust)."""
    config, store = _open()
    _import_set(config, store, file, name=name, fmt=fmt.value, kind=kind.value, scheme=scheme)


@hashset_app.command("list")
def hashset_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Every imported set: kind, format, entries, contents matched."""
    from haven.hashset_catalog import describe_sets

    _, store = _open()
    with store.session() as session:
        described = describe_sets(session)
    if as_json:
        sys.stdout.write(json.dumps(described, indent=2) + "\n")
        return
    table = Table("name", "kind", "format", "scheme", "entries", "matched", "imported")
    for d in described:
        table.add_row(
            d["name"],
            d["kind"],
            d["format"],
            d["scheme"] or "",
            f"{d['entries']:,}",
            f"{d['matched_contents']:,}",
            f"{d['imported_at'][:10]} by {d['imported_by']}",
        )
    out.print(table)


@hashset_app.command("show")
def hashset_show(
    name: Annotated[str, typer.Argument(help="Set name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """One set in detail: entries by hash type, source file, contents matched."""
    from haven.hashset_catalog import describe_set

    _, store = _open()
    with store.session() as session:
        described = describe_set(session, name)
    if as_json:
        sys.stdout.write(json.dumps(described, indent=2) + "\n")
        return
    table = Table(show_header=False, title=f"Hash set {name}")
    for key, value in described.items():
        shown = ", ".join(f"{k} {v:,}" for k, v in value.items()) if isinstance(value, dict) else str(value)
        table.add_row(key, shown)
    out.print(table)


@hashset_app.command("remove")
def hashset_remove(
    name: Annotated[str, typer.Argument(help="Set name.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove a set, its matches and the pre-categorizations it made (people's decisions are kept)."""
    from haven.hashset_catalog import remove_hashset

    if not yes:
        if not sys.stdin.isatty():
            raise HavenError("removing a hash set needs --yes when not run from a terminal")
        typer.confirm(f"Remove hash set '{name}', its matches and the categories it set?", abort=True)
    config, store = _open()
    with store.session() as session:
        removed = remove_hashset(session, name, user=config.user)
    out.print(
        f"Removed hash set [bold]{name}[/]: {removed['entries']:,} entries, {removed['matches']:,} matches, "
        f"{removed['decisions']:,} pre-categorizations; statuses re-derived in {removed['cases_affected']} case(s)."
    )


@hashset_app.command("export")
def hashset_export(
    name: Annotated[str, typer.Argument(help="Set name.")],
    fmt: Annotated[SetExportFormat, typer.Option("--format", help="plain MD5 list, PDQ list, or VICS 2.0.")],
    out_file: Annotated[Path, typer.Option("--out", help="File to write (replaced whole, never half-written).")],
) -> None:
    """Write a set's entries: hashes and categories only."""
    from haven.exports import export_hashset

    config, store = _open()
    result = export_hashset(store, name, fmt.value, out_file, user=config.user)
    left_out = f"; {result.left_out:,} entries without a hash this format carries left out" if result.left_out else ""
    out.print(f"Exported [bold]{name}[/] as {result.format}: {result.written:,} entries to {out_file}{left_out}.")
    out.print(f"SHA-256 {result.sha256}")


def _import_set(
    config: Config, store: Any, file: Path, *, name: str | None, fmt: str, kind: str, scheme: str | None = None
) -> None:
    from haven.hashsets import import_hashset

    result = import_hashset(store, file, name=name, fmt=fmt, kind=kind, user=config.user, scheme=scheme)
    if result.already_imported:
        out.print(f"Hash set [bold]{result.name}[/] already imported from this file; nothing added.")
        return
    out.print(
        f"Imported [bold]{result.name}[/] ({result.format}, {result.kind}): {result.imported:,} entries, "
        f"{result.skipped:,} skipped."
    )
    if result.provenance:  # a signed share package
        p = result.provenance
        out.print(
            f"Signature verified: {p['agency']} (key {p['signer_fingerprint'][:16]}), case {p['case_reference']}, "
            f"shared {p['shared_at'][:10]}."
        )
    for reason in result.skipped_reasons[:10]:
        err.print(f"  skipped {reason}", markup=False)
    if result.skipped > len(result.skipped_reasons[:10]):
        err.print(f"  ... and {result.skipped - len(result.skipped_reasons[:10]):,} more skipped")
    for warning in result.warnings[:10]:
        err.print(f"  note: {warning}", markup=False)


# ---------------------------------------------------------------- triage (one shot)


@app.command()
def triage(
    paths: Annotated[list[Path], typer.Argument(help="Folders, files or archives (read-only).")],
    case: Annotated[str, typer.Option("--case", help="Case reference (created if missing).")],
    hashsets: Annotated[
        list[Path] | None, typer.Option("--hashset", help="Hash-set file to import (repeatable).", exists=True)
    ] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Report folder.")] = None,
    workers: Annotated[int | None, WORKERS_OPTION] = None,
    label: Annotated[str | None, typer.Option("--label", help="Exhibit label.")] = None,
) -> None:
    """One shot: create the case, import the sets, ingest, match and write the report."""
    from haven.cases import create_case
    from haven.pipeline import ingest as run_ingest

    config, store = _open()
    with store.session() as session:
        create_case(session, case, user=config.user)
    for file in hashsets or []:
        _import_set(config, store, file, name=None, fmt="auto", kind="known")
    summary = run_ingest(store, config, case, paths, label=label, workers=workers, show_progress=_state["progress"])
    err.print(f"Ingested {summary.items_stored:,} items in {summary.seconds:.2f}s ({summary.rate:,.1f} items/s).")
    _print_unmapped(_match(config, store, case))
    target = out_dir or config.home / "reports" / case
    paths_written = _write_report(config, store, case, target)
    _print_summary(paths_written.summary, paths_written.html_path)


# ---------------------------------------------------------------- audit


@audit_app.command("verify")
def audit_verify(
    ref: Annotated[str | None, typer.Argument(help="Case reference (default: every chain).")] = None,
) -> None:
    """Check the audit chain; exit 1 naming the first broken record."""
    from haven import audit
    from haven.cases import case_chain, get_case

    _, store = _open()
    with store.session() as session:
        if ref is not None:
            get_case(session, ref)
        names = [case_chain(ref)] if ref else audit.chains(session)
        for chain in names:
            count, problem = audit.verify_chain(session, chain)
            if problem is not None:
                err.print(f"[red]BROKEN[/] {problem}")
                raise typer.Exit(1)
            out.print(f"audit chain '{chain}': {count} record(s) intact")


# ---------------------------------------------------------------- output helpers


def _print_statuses(by_status: dict[str, int]) -> None:
    table = Table("status", "unique contents")
    for status in ("known", "near-known", "known-good", "unknown", "error"):
        table.add_row(status, f"{by_status.get(status, 0):,}")
    out.print(table)


def _print_summary(summary: dict[str, Any], html_path: Path) -> None:
    totals, known = summary.get("totals", {}), summary.get("known", {})
    table = Table(title=f"Case {summary.get('case', {}).get('reference', '')}", show_header=False)
    rows = [
        ("Files found", totals.get("files", 0)),
        ("Unique contents", totals.get("unique", 0)),
        ("Known (exact hash)", known.get("exact", 0)),
        ("Near-known (looks like known)", known.get("perceptual", 0)),
        ("System files (known-good)", known.get("known_good", 0)),
        ("NEW images to review", summary.get("unknown_images", 0)),
        ("Could not be read (errors)", totals.get("errors", 0)),
        ("Encrypted", totals.get("encrypted", 0)),
    ]
    for name, value in rows:
        table.add_row(name, f"{value:,}")
    out.print(table)
    out.print(f"Report: [bold]{html_path}[/] (and report.json beside it)")


register_web_commands(app, case_app)  # haven serve, haven user ..., haven case add-member/members
add_analysis_commands(app)  # haven analyze, haven faces ..., haven search-face
add_clues_commands(app)  # haven clues
register_intel_commands(app)  # haven intel ...


def main() -> None:
    try:
        app()
    except HavenError as exc:
        if _state["debug"]:
            raise
        err.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(1)
    except Exception as exc:  # the run itself failed: one line, traceback only with --debug
        if _state["debug"]:
            raise
        err.print(f"error: {type(exc).__name__}: {exc} (run with --debug for details)", markup=False, highlight=False)
        sys.exit(1)
