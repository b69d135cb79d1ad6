"""A SIGKILL mid-ingest loses nothing: the rerun skips finished files and adds no duplicates."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from haven.store import open_store
from haven.store.models import Content, Occurrence
from test_cli_triage import picture

FILES = 240


def _haven(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", "from haven.cli import main; main()", "-q", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _counts(url: str) -> tuple[int, int, int]:
    store = open_store(url, migrate=False)
    try:
        with store.session() as session:
            occurrences = session.scalar(select(func.count(Occurrence.id))) or 0
            distinct_paths = session.scalar(select(func.count(func.distinct(Occurrence.path)))) or 0
            contents = session.scalar(select(func.count(Content.id))) or 0
    finally:
        store.dispose()
    return occurrences, distinct_paths, contents


def test_sigkill_then_rerun_resumes_without_duplicates(haven_env, tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    for i in range(FILES):
        # Every tenth picture is a duplicate, so dedup is exercised across the crash too.
        (evidence / f"p{i:04d}.jpg").write_bytes(picture(i - i % 10 if i % 10 == 9 else i, (900, 700)))
    env = {**os.environ, "HAVEN_INGEST_BATCH_ITEMS": "5"}
    assert _haven("case", "create", "R-1", env=env).wait() == 0

    proc = _haven("ingest", "R-1", str(evidence), "--workers", "1", env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if _counts(haven_env.url)[0] >= 20:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "ingest finished before it could be killed; make the fixture larger"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial, _, _ = _counts(haven_env.url)
    assert 0 < partial < FILES

    rerun = _haven("ingest", "R-1", str(evidence), "--workers", "2", env=env)
    stdout, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr
    done = int(re.search(r"\(([\d,]+) already done\)", stdout).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert done >= partial  # finished files were not redone
    occurrences, distinct_paths, contents = _counts(haven_env.url)
    assert occurrences == distinct_paths == FILES
    assert contents == FILES - FILES // 10
