"""The case report: report.json (a documented contract, docs/report-schema.md) and report.html (for people)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from haven import __version__
from haven.report.data import CaseNotFound, Summary, gather_summary, iter_items, iter_problems
from haven.report.groups import iter_groups
from haven.report.html_report import MAX_THUMBNAILS, write_html
from haven.report.json_report import write_json
from haven.store.db import Store

__all__ = ["CaseNotFound", "ReportPaths", "write_report"]

JSON_NAME = "report.json"
HTML_NAME = "report.html"


@dataclass
class ReportPaths:
    json_path: Path
    html_path: Path
    summary: dict[str, Any]
    """report.json's header keys (case, totals, known, unknown_images, ...), ``headline`` (one sentence),
    and ``json_sha256``/``html_sha256`` of the files written (for the audit log)."""


def write_report(
    store: Store,
    case_ref: str,
    out_dir: str | Path,
    *,
    pdq_threshold: int = 31,
    max_thumbnails: int = MAX_THUMBNAILS,
) -> ReportPaths:
    """Write report.json and report.html for case ``case_ref`` into ``out_dir``; raises CaseNotFound."""
    out = Path(out_dir)
    generated_at = datetime.now(UTC).isoformat(timespec="seconds")
    with store.session() as session:
        if store.dialect == "postgresql":
            # One snapshot for the whole report: counts and lists agree even while an ingest is writing.
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        summary = gather_summary(session, case_ref)
        from haven.intel.targets.report_section import intel_section  # networkx: imported when reporting

        intel = intel_section(session, summary.case_id)
        out.mkdir(parents=True, exist_ok=True)
        header = {
            "case": summary.case,
            "generated_at": generated_at,
            "haven_version": __version__,
            "pdq_threshold": pdq_threshold,
            "sources": summary.sources,
            "totals": summary.totals,
            "known": summary.known,
            "unknown_images": summary.unknown_images,
            "by_status": summary.by_status,
            "categories": summary.categories,
            "intel": intel.counts,
        }
        json_sha = write_json(
            out / JSON_NAME,
            header,
            {
                "errors": iter_problems(session, summary.case_id, "errors"),
                "encrypted": iter_problems(session, summary.case_id, "encrypted"),
                "items": iter_items(session, summary.case_id),
                "groups": iter_groups(session, summary.case_id),
            },
        )
        html_sha = write_html(
            out / HTML_NAME,
            session,
            summary,
            generated_at=generated_at,
            version=__version__,
            pdq_threshold=pdq_threshold,
            max_thumbnails=max_thumbnails,
            intel=intel,
        )
    return ReportPaths(out / JSON_NAME, out / HTML_NAME, _summary(header, summary, json_sha, html_sha))


def headline(s: Summary) -> str:
    t, k = s.totals, s.known
    return (
        f"{t['files']:,} files, {t['unique']:,} unique: {k['exact']:,} known (exact), {k['perceptual']:,} near-known, "
        f"{k['known_good']:,} system files (known-good), {s.unknown_images:,} NEW images to review, "
        f"{t['errors']:,} errors, {t['encrypted']:,} encrypted"
    )


def _summary(header: dict[str, Any], s: Summary, json_sha: str, html_sha: str) -> dict[str, Any]:
    """The report.json header (same keys), plus the headline sentence and both files' SHA-256."""
    return {**header, "headline": headline(s), "json_sha256": json_sha, "html_sha256": html_sha}
