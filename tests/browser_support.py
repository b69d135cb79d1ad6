"""Browser-test support: a real `haven serve` on a synthetic case, and headless Debian Chromium.

The server is the installed command in a subprocess (a temp HAVEN_HOME, SQLite), fed through the CLI
exactly as a user would: `haven case create`, `haven ingest`, `haven match`, `haven user add` (password
on stdin), `haven case add-member`. Chromium is Debian's `/usr/bin/chromium` driven by Playwright's
sync API through `executable_path`; Playwright never downloads a browser here.

Screenshots go to `test-artifacts/screenshots/` at the repository root. `screenshot()` refuses to
save a picture while any media other than a stored (blurred) thumbnail is visible without a CSS blur,
unless the caller says the step is the explicit reveal.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
from PIL import Image

from media_builders import jpeg_bytes, png_bytes, synthetic_image, truncated, video_bytes

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

REPO = Path(__file__).resolve().parents[1]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = Path(os.environ.get("HAVEN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CASE_REF = "WEB-1"
PASSWORD = "correct-horse-battery-staple-7"
"""One password for every test account (long enough for any sensible policy)."""
USERS = {"ines": "investigator", "rita": "reviewer", "ada": "admin"}
"""Test accounts: name -> role (global and in the case)."""
SERVER_START_SECONDS = 60.0


def haven_command() -> list[str]:
    """The installed `haven` script of this interpreter's environment."""
    script = Path(sys.executable).parent / "haven"
    return [str(script)] if script.exists() else [sys.executable, "-c", "from haven.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------- evidence


@dataclass(frozen=True)
class Evidence:
    folder: Path
    pictures: int
    """Readable pictures written (the near-duplicate pair counts twice)."""
    near_duplicates: tuple[str, str]
    corrupt: str
    video: str
    known: str
    """A picture whose MD5 is on an imported known list: status known, hidden from review by default."""

    def sha256(self, relative: str) -> str:
        return sha256_of(self.folder / relative)


def build_evidence(folder: Path) -> Evidence:
    """~12 synthetic pictures (one near-duplicate pair, so a stack exists), a video and a corrupt file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "camera").mkdir(exist_ok=True)
    (folder / "downloads").mkdir(exist_ok=True)
    written = 0
    for seed in range(1, 10):
        (folder / "camera" / f"img_{seed:03d}.jpg").write_bytes(jpeg_bytes(320, 240, seed=seed))
        written += 1
    (folder / "downloads" / "poster.png").write_bytes(png_bytes(256, 256, seed=42))
    written += 1
    # A near duplicate: the same picture re-sized and re-encoded has a PDQ a few bits away.
    original = synthetic_image(400, 300, seed=77)
    (folder / "camera" / "holiday.jpg").write_bytes(_encode_jpeg(original, 92))
    (folder / "downloads" / "holiday_small.jpg").write_bytes(_encode_jpeg(original.resize((300, 225)), 70))
    written += 2
    (folder / "downloads" / "clip.mp4").write_bytes(video_bytes(frames=20, fps=10, seed=5))
    (folder / "downloads" / "broken.jpg").write_bytes(truncated(jpeg_bytes(640, 480, seed=99), 0.3))
    return Evidence(
        folder=folder,
        pictures=written,
        near_duplicates=("camera/holiday.jpg", "downloads/holiday_small.jpg"),
        corrupt="downloads/broken.jpg",
        video="downloads/clip.mp4",
        known="camera/img_009.jpg",
    )


def _encode_jpeg(img: Any, quality: int) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


# ---------------------------------------------------------------- the CLI and the server


def haven_env(home: Path, database_url: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("HAVEN_DATABASE_URL", None)
    env.update({"HAVEN_HOME": str(home), "HAVEN_USER": "browser-test", "COLUMNS": "200"})
    if database_url:
        env["HAVEN_DATABASE_URL"] = database_url
    return env


def run_haven(args: list[str], env: dict[str, str], stdin: str | None = None, timeout: float = 300) -> str:
    """Run one `haven` command; raise with its stderr when it fails."""
    done = subprocess.run(
        [*haven_command(), *args], env=env, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"haven {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout


def add_user(env: dict[str, str], name: str, role: str, password: str = PASSWORD) -> None:
    """`haven user add` reads the password from stdin when it is not a terminal (twice, for a confirmation)."""
    run_haven(["user", "add", name, "--role", role], env, stdin=f"{password}\n{password}\n")


@dataclass
class HavenServer:
    """A running `haven serve` subprocess."""

    url: str
    home: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def wait_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float) -> None:
    """Poll GET /healthz until it answers 200; fail early (with the log) if the server exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = log_path.read_text(errors="replace")[-3000:] if log_path.exists() else ""
            raise RuntimeError(f"haven serve exited with {process.returncode}:\n{log}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"haven serve did not answer {url}/healthz within {timeout:.0f} s")


@contextmanager
def serving(home: Path, env: dict[str, str], extra_args: list[str] | None = None) -> Iterator[HavenServer]:
    """`haven serve --host 127.0.0.1 --port <free>`, healthy on entry, stopped on exit."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = home / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*haven_command(), "serve", "--host", "127.0.0.1", "--port", str(port), *(extra_args or [])],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = HavenServer(url=url, home=home, env=env, process=process, log_path=log_path)
    try:
        wait_healthy(url, process, log_path, SERVER_START_SECONDS)
        yield server
    finally:
        server.stop()


def prepare_site(root: Path) -> tuple[Path, dict[str, str], Evidence]:
    """HAVEN_HOME with the synthetic case ingested and matched, and one member account per role."""
    home = root / "haven-home"
    home.mkdir(parents=True, exist_ok=True)
    env = haven_env(home)
    evidence = build_evidence(root / "evidence")
    known_list = root / "known-md5.txt"
    known_list.write_text(hashlib.md5((evidence.folder / evidence.known).read_bytes()).hexdigest() + "\n")
    run_haven(["case", "create", CASE_REF, "--title", "Browser test case"], env)
    run_haven(["hashset", "import", str(known_list), "--name", "browser-known"], env)
    run_haven(["-q", "ingest", CASE_REF, str(evidence.folder), "--label", "EXHIBIT-1", "--workers", "1"], env)
    run_haven(["match", CASE_REF], env)

    def account(name: str, role: str | None) -> None:
        add_user(env, name, role or "investigator")
        if role is not None:
            run_haven(["case", "add-member", CASE_REF, name, "--role", role], env)

    # One command per account, several at once: each is mostly interpreter start-up and argon2.
    people = [*USERS.items(), ("olga", None)]  # olga: an account that is a member of no case
    with ThreadPoolExecutor(max_workers=len(people)) as pool:
        list(pool.map(lambda person: account(*person), people))
    return home, env, evidence


# ---------------------------------------------------------------- the browser


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium driven by Playwright, closed afterwards (a module fixture's body)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def chromium_missing_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"browser tests need Debian chromium at {CHROMIUM} (make test installs it: scripts/apt-deps.sh)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "browser tests need the playwright Python package (pip install -e '.[dev]')"
    return None


_UNBLURRED_MEDIA_JS = """
() => {
  const found = [];
  for (const el of document.querySelectorAll('img, video, source, picture, object, embed, iframe')) {
    const src = el.currentSrc || el.src || el.getAttribute('src') || el.getAttribute('data') || '';
    const host = el.tagName === 'SOURCE' ? el.parentElement : el;
    if (!host) continue;
    const rect = host.getBoundingClientRect();
    const style = getComputedStyle(host);
    const visible = rect.width > 0 && rect.height > 0 && style.visibility !== 'hidden' && style.display !== 'none';
    if (!visible) continue;
    // Anything that is not the stored (already blurred) thumbnail or a static asset counts as original media,
    // unless a CSS blur is applied to it or to an ancestor.
    const path = src ? new URL(src, location.href).pathname : '';
    if (!path || path.endsWith('/thumbnail') || path.startsWith('/static/') || path.startsWith('data:')) continue;
    let blurred = false;
    for (let node = host; node && node.nodeType === 1; node = node.parentElement) {
      if ((getComputedStyle(node).filter || '').includes('blur(')) { blurred = true; break; }
    }
    if (!blurred) found.push(path);
  }
  return found;
}
"""


def unblurred_media(page: Page) -> list[str]:
    """Paths of visible media elements showing something other than a stored thumbnail, without blur."""
    return list(page.evaluate(_UNBLURRED_MEDIA_JS))


def screenshot(page: Page, test_name: str, step: str, *, reveal_allowed: int = 0) -> Path:
    """Save a full-page PNG under test-artifacts/screenshots/ and print its path.

    ``reveal_allowed`` is how many unblurred media elements the step may show (1 only for the explicit
    reveal step); more than that fails the test before any picture is written.
    """
    shown = unblurred_media(page)
    if len(shown) > reveal_allowed:
        raise AssertionError(f"refusing to screenshot {step!r}: unblurred media visible: {shown}")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{test_name}-{step}").strip("-")
    path = SCREENSHOTS / f"{safe}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


# ---------------------------------------------------------------- what a picture looks like


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_greyscale(jpeg: bytes) -> bool:
    """One channel, or three equal ones (JPEG rounding allowed)."""
    img = Image.open(io.BytesIO(jpeg))
    if img.mode in ("L", "LA", "I", "1"):
        return True
    rgb = np.asarray(img.convert("RGB"), dtype=np.int16)
    return int(np.abs(rgb[..., 0] - rgb[..., 1]).max()) <= 8 and int(np.abs(rgb[..., 1] - rgb[..., 2]).max()) <= 8


def edge_strength(image_bytes: bytes, size: tuple[int, int] | None = None) -> float:
    """99.5th percentile of the jumps between neighbouring grey pixels (optionally after resizing).

    Sharp edges give jumps of 40-120 grey levels on the synthetic pictures; a blurred thumbnail about 10.
    """
    img = Image.open(io.BytesIO(image_bytes)).convert("L")
    if size is not None and img.size != size:
        img = img.resize(size, Image.Resampling.BILINEAR)
    grey = np.asarray(img, dtype=np.float32)
    jumps = np.concatenate([np.abs(np.diff(grey, axis=0)).ravel(), np.abs(np.diff(grey, axis=1)).ravel()])
    return float(np.percentile(jumps, 99.5))


def image_size(image_bytes: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(image_bytes)) as img:
        return img.size
