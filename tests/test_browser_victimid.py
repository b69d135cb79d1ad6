"""The identities and places pages in real headless Chromium against the real `haven serve`.

The browser-test case (browser_support.prepare_site) gets two more exhibits through the CLI: benign LFW
portraits of adults (two of one man, one of another) and synthetic photos carrying the test camera's EXIF
and GPS; `haven analyze --faces` finds and groups the faces. Checked: every picture on the identities page
is the stored thumbnail with the CSS blur and greyscale on by default, and the places table shows the
coordinates as text, with no map and no request leaving the server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from browser_support import (
    CASE_REF,
    PASSWORD,
    chromium,
    chromium_missing_reason,
    is_greyscale,
    prepare_site,
    run_haven,
    screenshot,
    serving,
    unblurred_media,
)
from browser_support import HavenServer as Server
from faces_builders import lfw_bytes
from media_builders import ExifFacts, jpeg_bytes

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_missing_reason() is not None, reason=chromium_missing_reason() or ""),
]
CASE = f"/cases/{CASE_REF}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("browser-victimid")
    home, env, _evidence = prepare_site(root)
    portraits = root / "portraits"
    portraits.mkdir()
    for name, data in {
        "p1.jpg": lfw_bytes("Colin_Powell", 1),
        "p2.jpg": lfw_bytes("Colin_Powell", 2),
        "b1.jpg": lfw_bytes("Tony_Blair", 1),
    }.items():
        (portraits / name).write_bytes(data)
    located = root / "located"
    located.mkdir()
    for seed in (201, 202):
        (located / f"gps_{seed}.jpg").write_bytes(jpeg_bytes(320, 240, seed=seed, exif=ExifFacts()))
    for folder, label in ((portraits, "EXHIBIT-2"), (located, "EXHIBIT-3")):
        run_haven(["-q", "ingest", CASE_REF, str(folder), "--label", label, "--workers", "1"], env)
    run_haven(["-q", "analyze", CASE_REF, "--faces", "--workers", "1"], env)
    with serving(home, env) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Browser, server: Server) -> Iterator[Page]:
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def test_identities_are_blurred_and_greyscale_and_places_are_a_text_table(page: Page, server: Server) -> None:
    test = "victimid"
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(server.url) else None)
    page.goto("/login")
    page.fill("input[name=username]", "rita")  # the reviewer
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/cases")
    page.goto(CASE)
    page.locator("nav").get_by_role("link", name="Identities").click()
    page.wait_for_url(f"**{CASE}/identities")

    rows = page.locator("#identities tbody tr")
    assert rows.count() == 2  # two men: the two pictures of one are one identity
    counts = rows.evaluate_all("rows => rows.map(r => Number(r.querySelector('[data-faces]').dataset.faces))")
    assert counts == [2, 1]
    thumbs = page.locator("#identities img.thumb")
    assert thumbs.count() == 3
    for src, style in thumbs.evaluate_all("els => els.map(e => [e.src, getComputedStyle(e).filter])"):
        assert src.endswith("/thumbnail")
        assert "blur(" in style and "grayscale(" in style
    thumbs.first.evaluate("img => img.decode()")  # loaded, then checked as the browser received it
    jpeg = page.request.get(thumbs.first.get_attribute("src") or "").body()
    assert is_greyscale(jpeg)
    assert unblurred_media(page) == []
    screenshot(page, test, "01-identities")

    page.locator("#identities tbody tr").first.get_by_role("link", name="Open").click()
    page.wait_for_url(f"**{CASE}/identities/one?identity=*")
    faces = page.locator("#identity-faces img.thumb")
    assert faces.count() == 2
    assert all("blur(" in f and "grayscale(" in f for f in faces.evaluate_all(
        "els => els.map(e => getComputedStyle(e).filter)"))  # fmt: skip
    screenshot(page, test, "02-identity")

    page.locator("nav").get_by_role("link", name="Places").click()
    page.wait_for_url(f"**{CASE}/places")
    place = page.locator("#places tbody tr").first
    assert place.locator("[data-lat]").inner_text() == "51.510000"
    assert place.locator("[data-lon]").inner_text() == "-0.130000"
    assert place.locator("td").nth(4).inner_text() == "2"
    assert page.locator("iframe, canvas, object, embed").count() == 0
    assert unblurred_media(page) == []
    screenshot(page, test, "03-places")
    assert outside == [], f"requests left the server: {outside}"
