"""The same-scene commands: the `--scenes` stage of `haven analyze`, and `haven search-scene`.

Wired into the CLI by ``haven.cli_analyze``. Heavy imports (numpy, OpenCV, faiss) happen inside, so
`haven --help` stays fast.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.table import Table


def _cli() -> Any:
    from haven import cli  # the main module: its store opener, consoles and global options

    return cli


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
