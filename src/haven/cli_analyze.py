"""Victim-identification commands: `haven analyze`, `haven faces ...`, `haven search-face`.

Registered on the main app by ``add_analysis_commands`` (haven.cli). Heavy imports (numpy, dlib) are
made inside the commands so `haven --help` stays fast. `--ocr` and `--scenes` stages join `analyze` later.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from haven.cli_groups import DefaultListGroup
from haven.errors import HavenError

faces_app = typer.Typer(
    cls=DefaultListGroup,
    help="Identities in a case: `haven faces REF [--json]`, then name, merge, split or move them.",
    no_args_is_help=True,
)


def add_analysis_commands(app: typer.Typer) -> None:
    app.command("analyze")(analyze)
    app.command("search-face")(search_face)
    app.command("search-text")(search_text)
    app.command("search-scene")(search_scene)
    app.add_typer(faces_app, name="faces")


def _cli() -> Any:
    from haven import cli  # the main module: its store opener, consoles and global options

    return cli


def analyze(
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    faces: Annotated[bool, typer.Option("--faces", help="Detect faces, embed them and cluster identities.")] = False,
    ocr: Annotated[bool, typer.Option("--ocr", help="Read the text in pictures (Tesseract), searchable.")] = False,
    scenes: Annotated[bool, typer.Option("--scenes", help="Local features for same-scene search, indexed.")] = False,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Worker processes (default HAVEN_FACE_WORKERS, 2).")
    ] = None,
) -> None:
    """Victim-identification stages on a case's pictures. Re-running skips what is done."""
    if not (faces or ocr or scenes):
        raise HavenError("choose a stage to run: --faces, --ocr or --scenes")
    if ocr:
        _analyze_text(ref, workers)
    if scenes:
        analyze_scenes(ref, workers)
    if not faces:
        return
    from haven.faces.stage import analyse_faces

    cli = _cli()
    config, store = cli._open()
    summary = analyse_faces(store, config, ref, workers=workers, show_progress=cli._state["progress"])
    clusters = summary.clusters
    cli.out.print(
        f"Faces in [bold]{ref}[/] ({summary.model}): {summary.scanned:,} pictures analysed "
        f"({summary.already_done:,} already done) in {summary.seconds:.2f}s ({summary.rate:,.1f} pictures/s); "
        f"{summary.faces:,} faces found; {summary.errors:,} pictures with errors."
    )
    if clusters is not None:
        cli.out.print(
            f"{clusters.identities:,} identities from {clusters.faces:,} faces "
            f"({clusters.locked_identities:,} kept as analysts left them, joined by {clusters.joined_locked:,} faces)."
        )


def _analyze_text(ref: str, workers: int | None) -> None:
    from haven.ocr.stage import analyse_text

    cli = _cli()
    config, store = cli._open()
    summary = analyse_text(store, config, ref, workers=workers, show_progress=cli._state["progress"])
    cli.out.print(
        f"Text in [bold]{ref}[/] ({summary.engine}, {summary.language}): {summary.scanned:,} pictures read "
        f"({summary.already_done:,} already done) in {summary.seconds:.2f}s ({summary.rate:,.1f} pictures/s); "
        f"{summary.with_text:,} with text ({summary.words:,} words); {summary.errors:,} pictures with errors."
    )


def analyze_scenes(ref: str, workers: int | None) -> None:
    from haven.scenes.stage import analyse_scenes

    cli = _cli()
    config, store = cli._open()
    summary = analyse_scenes(store, config, ref, workers=workers, show_progress=cli._state["progress"])
    cli.out.print(
        f"Scenes in [bold]{ref}[/] ({summary.version}): {summary.scanned:,} pictures analysed "
        f"({summary.already_done:,} already done) in {summary.seconds:.2f}s ({summary.rate:,.1f} pictures/s); "
        f"{summary.keypoints:,} keypoints; {summary.without_features:,} pictures without features; "
        f"{summary.errors:,} pictures with errors; {summary.indexed:,} pictures indexed across all cases "
        f"({summary.index_seconds:.2f}s)."
    )


def search_scene(
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    item: Annotated[str, typer.Argument(help="Picture: SHA-256 (or 8+ leading hex digits), evidence path, or file.")],
    box: Annotated[
        str | None, typer.Option("--box", help="Only this region of the picture: x,y,w,h in its pixels.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most matches shown.")] = 20,
    all_cases: Annotated[bool, typer.Option("--all-cases", help="Search every case, not only REF.")] = False,
) -> None:
    """Other pictures of the same room or object (whole picture or a region), best first."""
    from haven.scenes.search import parse_box
    from haven.scenes.search import search_scene as run_search

    cli = _cli()
    config, store = cli._open()
    region = parse_box(box) if box else None
    with store.session() as session:
        result = run_search(
            session, ref, item, index_dir=config.index_dir, box=region, limit=limit, all_cases=all_cases
        )
    if as_json:
        sys.stdout.write(json.dumps(result.as_json(), indent=2) + "\n")
        return
    cli.out.print(
        f"{result.query_keypoints:,} keypoints in the query; {len(result.matches)} match(es) in {result.scope}."
    )
    table = Table("score", "inliers", "case", "picture", "path")
    for match in result.matches:
        table.add_row(
            f"{match['score']:.3f}", str(match["inliers"]), match["case"], match["sha256"][:16], match["path"] or ""
        )
    cli.out.print(table)


def search_text(
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    query: Annotated[str, typer.Argument(help="Words that must all occur; `word*` matches a prefix.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most pictures shown.")] = 50,
) -> None:
    """Pictures whose text (from `haven analyze REF --ocr`) holds the query's words, best match first."""
    from rich.markup import escape

    from haven.ocr.search import search_text as run_search

    cli = _cli()
    _config, store = cli._open()
    with store.session() as session:
        hits = run_search(session, ref, query, limit=limit)
    if as_json:
        sys.stdout.write(json.dumps([hit.as_json() for hit in hits], indent=2) + "\n")
        return
    cli.out.print(f"{len(hits):,} picture(s) in [bold]{ref}[/] with text matching {escape(repr(query))}.")
    table = Table("score", "picture", "path", "text", "confidence")
    for hit in hits:
        confidence = f"{hit.confidence:.0f}" if hit.confidence is not None else ""
        # The snippet marks matches with [ ]: escaped, or Rich would read them as markup.
        table.add_row(f"{hit.score:.3g}", hit.sha256[:16], escape(hit.path or ""), escape(hit.snippet), confidence)
    cli.out.print(table)


def search_face(
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    item: Annotated[str, typer.Argument(help="Picture: SHA-256 (or 8+ leading hex digits), evidence path, or file.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most matches shown.")] = 50,
    max_distance: Annotated[
        float | None, typer.Option("--max-distance", help="Largest embedding distance (default: the model's).")
    ] = None,
) -> None:
    """Has this face been seen before? Faces like the picture's, across every case, nearest first."""
    from haven.faces.model import load_face_model
    from haven.faces.search import search_face as run_search

    cli = _cli()
    config, store = cli._open()
    model = load_face_model(config.faces)
    with store.session() as session:
        result = run_search(session, ref, item, model, limit=limit, max_distance=max_distance)
    if as_json:
        sys.stdout.write(json.dumps(result.as_json(), indent=2) + "\n")
        return
    cli.out.print(f"{len(result.query_faces)} face(s) in the query; {len(result.matches)} match(es) across all cases.")
    table = Table("query face", "distance", "case", "picture", "box", "identity")
    for match in result.matches:
        identity = match["identity"]
        label = f"{identity['id']} {identity['name'] or ''}".strip() if identity["id"] is not None else ""
        table.add_row(
            str(match["query_face"] + 1),
            f"{match['distance']:.3f}",
            match["case"],
            match["sha256"][:16],
            ",".join(str(v) for v in match["box"]),
            label,
        )
    cli.out.print(table)


@faces_app.command("list")
def faces_list(
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON: [{id, name, faces: [{sha256, box, quality}]}].")
    ] = False,
) -> None:
    """The case's identities, largest first (also: `haven faces REF`)."""
    from haven.faces.listing import list_identities
    from haven.faces.model import model_name

    cli = _cli()
    config, store = cli._open()
    with store.session() as session:
        identities = list_identities(session, ref, model_name(config.faces), with_face_ids=not as_json)
    if as_json:
        sys.stdout.write(json.dumps(identities, indent=2) + "\n")
        return
    cli.out.print(f"{len(identities):,} identities in [bold]{ref}[/].")
    table = Table("identity", "name", "faces", "face ids (best first)", "pictures")
    for identity in identities:
        faces = identity["faces"]
        table.add_row(
            str(identity["id"]),
            identity["name"] or "",
            str(len(faces)),
            ",".join(str(f["face_id"]) for f in faces[:8]) + (" ..." if len(faces) > 8 else ""),
            " ".join(f["sha256"][:12] for f in faces[:3]) + (" ..." if len(faces) > 3 else ""),
        )
    cli.out.print(table)


@faces_app.command("name")
def faces_name(
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    identity: Annotated[int, typer.Argument(help="Identity id.")],
    name: Annotated[str, typer.Argument(help="The name to give it.")],
) -> None:
    """Name an identity (kept across re-runs)."""
    from haven.faces.identities import name_identity

    _act(lambda session, model, user: name_identity(session, ref, identity, name, model=model, user=user), "Named")


@faces_app.command("merge")
def faces_merge(
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    keep: Annotated[int, typer.Argument(help="Identity to keep.")],
    other: Annotated[int, typer.Argument(help="Identity merged into it (then removed).")],
) -> None:
    """Merge two identities: the same person."""
    from haven.faces.identities import merge_identities

    _act(lambda session, model, user: merge_identities(session, ref, keep, other, model=model, user=user), "Kept")


@faces_app.command("split")
def faces_split(
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    identity: Annotated[int, typer.Argument(help="Identity id.")],
    faces: Annotated[str, typer.Option("--faces", help="Face ids or picture SHA-256s, comma-separated.")],
) -> None:
    """Split faces off an identity into a new one: not the same person."""
    from haven.faces.identities import split_identity

    refs = faces.split(",")
    _act(lambda session, model, user: split_identity(session, ref, identity, refs, model=model, user=user), "Split off")


@faces_app.command("move")
def faces_move(
    ref: Annotated[str, typer.Argument(help="Case reference.")],
    identity: Annotated[int, typer.Argument(help="Identity the faces belong to.")],
    faces: Annotated[str, typer.Option("--faces", help="Face ids or picture SHA-256s, comma-separated.")],
) -> None:
    """Move faces from other identities of the case into this one."""
    from haven.faces.identities import move_faces

    refs = faces.split(",")
    _act(lambda session, model, user: move_faces(session, ref, identity, refs, model=model, user=user), "Moved into")


def _act(action: Any, verb: str) -> None:
    from haven.faces.model import model_name

    cli = _cli()
    config, store = cli._open()
    with store.session() as session:
        result = action(session, model_name(config.faces), config.user)
    cli.out.print(f"{verb} identity {result.identity_id} ({result.faces:,} faces).")
