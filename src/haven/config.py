"""Runtime configuration, read from the environment in one place."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from pathlib import Path

from haven.faces.settings import FaceSettings
from haven.settings import AnalysisSettings


@dataclass(frozen=True)
class Config:
    home: Path
    database_url: str
    user: str
    pdq_threshold: int = 31
    pdq_min_quality: int = 50
    video_frames_per_second: float = 1.0
    """Video frames hashed per second at ingest (0: every frame). Match it to the known lists' rate."""
    vpdq_query_percent: float = 0.0
    vpdq_compared_percent: float = 80.0
    ingest_batch_items: int = 2000
    """Results per store transaction while ingesting (smaller: less redone after a crash)."""
    web_idle_minutes: int = 30
    """Web app: a login session unused this long ends (HAVEN_WEB_IDLE_MINUTES)."""
    web_session_hours: int = 12
    """Web app: absolute lifetime of a login session, however active (HAVEN_WEB_SESSION_HOURS)."""
    faces: FaceSettings = field(default_factory=FaceSettings)
    """Face detection and recognition (HAVEN_FACE_*; see haven.faces.settings)."""

    @property
    def index_dir(self) -> Path:
        """Saved perceptual indexes: matching a new case loads them instead of rebuilding."""
        return self.home / "indexes"

    @property
    def scratch_dir(self) -> Path:
        return self.home / "scratch"

    def analysis_settings(self) -> AnalysisSettings:
        return AnalysisSettings(scratch_dir=str(self.scratch_dir), video_frames_per_second=self.video_frames_per_second)


def load_config() -> Config:
    """HAVEN_HOME (default ./haven-data), HAVEN_DATABASE_URL (default: SQLite file in HAVEN_HOME)."""
    home = Path(os.environ.get("HAVEN_HOME", "haven-data")).resolve()
    url = os.environ.get("HAVEN_DATABASE_URL") or f"sqlite:///{home / 'haven.db'}"
    return Config(
        home=home,
        database_url=url,
        user=os.environ.get("HAVEN_USER") or _login_name(),
        pdq_threshold=int(os.environ.get("HAVEN_PDQ_THRESHOLD", "31")),
        pdq_min_quality=int(os.environ.get("HAVEN_PDQ_MIN_QUALITY", "50")),
        video_frames_per_second=float(os.environ.get("HAVEN_VIDEO_FRAMES_PER_SECOND", "1")),
        vpdq_query_percent=float(os.environ.get("HAVEN_VPDQ_QUERY_PERCENT", "0")),
        vpdq_compared_percent=float(os.environ.get("HAVEN_VPDQ_COMPARED_PERCENT", "80")),
        ingest_batch_items=int(os.environ.get("HAVEN_INGEST_BATCH_ITEMS", "2000")),
        web_idle_minutes=int(os.environ.get("HAVEN_WEB_IDLE_MINUTES", "30")),
        web_session_hours=int(os.environ.get("HAVEN_WEB_SESSION_HOURS", "12")),
        faces=FaceSettings.from_env(os.environ),
    )


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return f"uid-{os.getuid()}"
