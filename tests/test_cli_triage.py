"""End to end through the CLI contract: triage, ingest, match, report, audit; exit codes."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import py7zr
import pytest
from PIL import Image, ImageDraw
from sqlalchemy import update
from typer.testing import CliRunner

from haven.analyze import analyze_bytes
from haven.cli import app
from haven.settings import AnalysisSettings
from haven.store import open_store
from haven.store.models import AuditEvent

runner = CliRunner()


def picture(seed: int, size: tuple[int, int] = (320, 240)) -> bytes:
    """A distinct synthetic picture: shapes placed by the seed (benign, generated)."""
    image = Image.new("RGB", size, (seed * 37 % 256, seed * 91 % 256, seed * 53 % 256))
    draw = ImageDraw.Draw(image)
    for i in range(12):
        x, y = (seed * 131 + i * 71) % size[0], (seed * 173 + i * 29) % size[1]
        draw.ellipse((x, y, x + 40 + i * 3, y + 30 + i * 2), fill=((i * 80 + seed) % 256, (i * 40) % 256, 200))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def resized(data: bytes) -> bytes:
    image = Image.open(io.BytesIO(data))
    buffer = io.BytesIO()
    image.resize((image.width // 2, image.height // 2)).save(buffer, "JPEG", quality=75)
    return buffer.getvalue()


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


@pytest.fixture
def seizure(tmp_path: Path) -> dict[str, Path]:
    evidence = tmp_path / "evidence"
    (evidence / "DCIM").mkdir(parents=True)
    pics = [picture(i) for i in range(8)]
    for i, data in enumerate(pics[:5]):
        (evidence / "DCIM" / f"img{i}.jpg").write_bytes(data)
    (evidence / "DCIM" / "copy-of-img0.jpg").write_bytes(pics[0])  # duplicate content
    (evidence / "DCIM" / "edited.jpg").write_bytes(resized(pics[5]))  # near-known
    (evidence / "DCIM" / "broken.jpg").write_bytes(pics[6][:1500])  # truncated
    (evidence / "empty.bin").write_bytes(b"")
    inner = io.BytesIO()
    with py7zr.SevenZipFile(inner, "w") as seven:
        seven.writestr(pics[1], "deep/img1-again.jpg")
        seven.writestr(pics[7], "deep/new.jpg")
    with zipfile.ZipFile(evidence / "backup.zip", "w") as archive:
        archive.writestr("a/img2.jpg", pics[2])
        archive.writestr("a/inner.7z", inner.getvalue())
    with py7zr.SevenZipFile(evidence / "locked.7z", "w", password="secret") as seven:
        seven.writestr(b"hidden", "hidden.txt")
    sets = tmp_path / "sets"
    sets.mkdir()
    md5s = ["MD5", f"{hashlib.md5(pics[0]).hexdigest()},1", f"{hashlib.md5(pics[1]).hexdigest()},2"]
    (sets / "known.txt").write_text("\n".join(md5s) + "\n")
    pdq = analyze_bytes(pics[5], AnalysisSettings()).pdq
    (sets / "pdq.txt").write_text(f"pdq {pdq},1\n")
    return {"evidence": evidence, "sets": sets, "pics": pics}  # type: ignore[dict-item]


def test_triage_end_to_end(haven_env, seizure, tmp_path: Path) -> None:
    before = snapshot(seizure["evidence"])
    out = tmp_path / "report"
    result = runner.invoke(
        app,
        [
            "-q",
            "triage",
            str(seizure["evidence"]),
            "--case",
            "OP-1",
            "--hashset",
            str(seizure["sets"] / "known.txt"),
            "--hashset",
            str(seizure["sets"] / "pdq.txt"),
            "--out",
            str(out),
            "--workers",
            "2",
            "--label",
            "EX1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "report.html" in result.output
    assert snapshot(seizure["evidence"]) == before  # evidence never written

    report = json.loads((out / "report.json").read_text())
    shas = {i["sha256"] for i in report["items"]}
    by_path = {p: i for i in report["items"] for p in i["paths"]}
    assert by_path["EX1:/DCIM/img0.jpg"]["status"] == "known"
    assert by_path["EX1:/DCIM/img0.jpg"]["category"] == "1"
    assert set(by_path["EX1:/DCIM/img0.jpg"]["paths"]) == {"EX1:/DCIM/img0.jpg", "EX1:/DCIM/copy-of-img0.jpg"}
    nested = "EX1:/backup.zip!/a/inner.7z!/deep/img1-again.jpg"
    assert by_path[nested]["status"] == "known"  # found two containers deep
    assert by_path["EX1:/backup.zip!/a/inner.7z!/deep/new.jpg"]["status"] == "unknown"
    edited = by_path["EX1:/DCIM/edited.jpg"]
    assert edited["status"] == "near-known"
    assert edited["matches"][0]["method"] == "pdq" and edited["matches"][0]["distance"] <= 31
    assert by_path["EX1:/DCIM/broken.jpg"]["status"] == "error"
    assert any(e["path"] == "EX1:/DCIM/broken.jpg" for e in report["errors"])
    assert any(e["path"] == "EX1:/locked.7z" for e in report["encrypted"])
    assert report["known"]["exact"] == 2 and report["known"]["perceptual"] == 1
    assert report["totals"]["unique"] == len(report["items"]) == len(shas)
    # img0..img4 (img0, img1 known), new.jpg; edited is near-known; broken is an error
    assert report["unknown_images"] == 4
    assert (out / "report.html").stat().st_size > 1000
    # The known-PDQ index is saved with the store: the next case's matching loads it.
    assert [p.name[:4] for p in (haven_env.home / "indexes").iterdir()] == ["pdq-"]


def test_reingest_adds_nothing(haven_env, seizure) -> None:
    assert runner.invoke(app, ["case", "create", "OP-2", "--scheme", "caid-uk"]).exit_code == 0
    first = runner.invoke(app, ["-q", "ingest", "OP-2", str(seizure["evidence"]), "--workers", "1"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["-q", "ingest", "OP-2", str(seizure["evidence"]), "--workers", "1"])
    assert second.exit_code == 0, second.output
    assert "Ingested 0 items" in second.output
    audit = runner.invoke(app, ["audit", "verify", "OP-2"])
    assert audit.exit_code == 0 and "intact" in audit.output


def test_usage_errors_exit_2(haven_env) -> None:
    assert runner.invoke(app, ["ingest"]).exit_code == 2
    assert runner.invoke(app, ["case", "create", "X", "--scheme", "nope"]).exit_code == 2
    assert runner.invoke(app, ["hashset", "import", "/no/such/file"]).exit_code == 2


def test_run_failure_exits_1_with_one_line(haven_env, tmp_path: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", "from haven.cli import main; main()", "ingest", "NO-SUCH-CASE", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: no case 'NO-SUCH-CASE' (create it with: haven case create NO-SUCH-CASE)"
    ]
    assert "Traceback" not in proc.stderr


def test_audit_verify_detects_edit(haven_env, seizure) -> None:
    assert runner.invoke(app, ["case", "create", "OP-3"]).exit_code == 0
    assert runner.invoke(app, ["-q", "ingest", "OP-3", str(seizure["evidence"]), "--workers", "1"]).exit_code == 0
    store = open_store(haven_env.url)
    with store.session() as session:
        session.execute(
            update(AuditEvent).where(AuditEvent.chain == "case:OP-3", AuditEvent.seq == 1).values(user="mallory")
        )
    store.dispose()
    result = runner.invoke(app, ["audit", "verify", "OP-3"])
    assert result.exit_code == 1
    assert "broken at record 1" in result.output
