"""The review app in real headless Chromium against the real `haven serve` (issue 5).

One server per module (a synthetic case ingested and matched through the CLI, one account per role);
a fresh browser context (no cookies) per test. Screenshots of every step land in
test-artifacts/screenshots/ (paths printed: `pytest -s` shows them). `screenshot()` refuses to save a
page showing unblurred media, except the one explicit reveal step.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from browser_support import (
    CASE_REF,
    PASSWORD,
    SCREENSHOTS,
    Evidence,
    HavenServer,
    chromium,
    chromium_missing_reason,
    edge_strength,
    image_size,
    is_greyscale,
    prepare_site,
    screenshot,
    serving,
    unblurred_media,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_missing_reason() is not None, reason=chromium_missing_reason() or ""),
]
CASE = f"/cases/{CASE_REF}"


@dataclass(frozen=True)
class Site:
    server: HavenServer
    evidence: Evidence


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home, env, evidence = prepare_site(tmp_path_factory.mktemp("browser-site"))
    with serving(home, env) as server:
        yield Site(server, evidence)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    context = browser.new_context(base_url=site.server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


# ---------------------------------------------------------------- helpers


def log_in(page: Page, name: str, test: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    screenshot(page, test, "01-login-form")
    page.click("button[type=submit]")
    page.wait_for_url("**/cases")


def log_out(page: Page, test: str) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")
    screenshot(page, test, "99-logged-out")
    page.goto("/cases")
    page.wait_for_url("**/login?next=*")  # the session really ended


def number(locator: Locator) -> int:
    return int(locator.inner_text().replace(",", "").strip())


def decided_count(page: Page) -> int:
    return number(page.locator('#review-counts [data-count="decided"]'))


def category_count(page: Page, code: str) -> int:
    return number(page.locator(f'#review-counts .category-counts li[data-code="{code}"] b'))


def benign_category(page: Page) -> tuple[str, str]:
    """(number key, code) of the scheme's "Non-pertinent" category, read from the page's legend."""
    entry = page.locator("#category-legend li", has_text="Non-pertinent").first
    key, code = entry.get_attribute("data-key"), entry.get_attribute("data-code")
    assert key and code is not None, "the legend binds no number key to Non-pertinent"
    return key, code


def tile(page: Page, sha256: str) -> Locator:
    return page.locator(f'#review-grid .tile[data-sha256="{sha256}"]')


def open_review(page: Page, test: str) -> None:
    page.get_by_role("link", name=CASE_REF).first.click()
    page.wait_for_url(f"**{CASE}")
    screenshot(page, test, "02-dashboard")
    page.locator("nav").get_by_role("link", name="Review").click()
    page.wait_for_url(f"**{CASE}/review")
    page.locator("#review-grid .tile").first.wait_for()


# ---------------------------------------------------------------- the flows


def test_log_in_see_own_cases_log_out(page: Page) -> None:
    test = "login-logout"
    page.goto("/cases")
    page.wait_for_url("**/login?next=*")  # anonymous: sent to log in first
    log_in(page, "ines", test)
    assert page.get_by_role("link", name=CASE_REF).count() >= 1
    screenshot(page, test, "02-cases")
    log_out(page, test)


def test_wrong_password_is_refused(page: Page) -> None:
    page.goto("/login")
    page.fill("input[name=username]", "nobody")
    page.fill("input[name=password]", "not-the-password-at-all")
    page.click("button[type=submit]")
    assert page.get_by_role("alert").inner_text().startswith("Wrong user name or password")
    assert "/login" in page.url
    screenshot(page, "wrong-password", "01-refused")


def test_categorize_with_the_keyboard_reveal_one_item_undo(page: Page, site: Site) -> None:
    test = "review-flow"
    evidence = site.evidence
    log_in(page, "ines", test)
    open_review(page, test)
    screenshot(page, test, "03-grid")
    key, code = benign_category(page)

    # The near-duplicate pair is one tile (x2): one key press decides both pictures.
    stacked = page.locator("#review-grid .tile", has=page.locator(".stack"))
    assert stacked.count() == 1
    assert stacked.locator(".stack").inner_text().strip() == "×2"
    stack_sha = stacked.get_attribute("data-sha256")
    assert stack_sha in {evidence.sha256(p) for p in evidence.near_duplicates}
    decided_before, in_category_before = decided_count(page), category_count(page, code)

    stacked.focus()
    page.keyboard.press(key)
    expect_category(stacked, code)
    page.wait_for_function(
        "n => Number(document.querySelector('#review-counts [data-count=\"decided\"]').textContent"
        ".replace(/,/g, '')) === n",
        arg=decided_before + 2,
    )
    assert category_count(page, code) == in_category_before + 2
    assert "near-identical" in page.locator("#review-message").inner_text()
    screenshot(page, test, "04-categorized")

    # Hold R on another picture: only that one is shown unblurred, in the viewer; the grid stays blurred.
    picture = tile(page, evidence.sha256("camera/img_001.jpg"))
    picture.focus()
    page.keyboard.down("r")
    revealed = page.locator("#reveal-image")
    revealed.wait_for(state="visible")
    page.wait_for_function("() => document.getElementById('reveal-image').naturalWidth > 0")
    reveal_path = f"{CASE}/items/{evidence.sha256('camera/img_001.jpg')}/reveal"
    assert unblurred_media(page) == [reveal_path]
    thumbs = page.locator("#review-grid .tile img.thumb")
    assert all(src.endswith("/thumbnail") for src in thumbs.evaluate_all("els => els.map(e => e.src)"))
    screenshot(page, test, "05-reveal-held", reveal_allowed=1)
    page.keyboard.up("r")
    revealed.wait_for(state="hidden")
    assert unblurred_media(page) == []
    assert revealed.get_attribute("src") is None  # nothing unblurred stays loaded
    screenshot(page, test, "06-reveal-released")

    # Clicking "reveal" shows it until Esc.
    picture.locator(".reveal-button").click()
    revealed.wait_for(state="visible")
    assert unblurred_media(page) == [reveal_path]
    page.keyboard.press("Escape")
    revealed.wait_for(state="hidden")

    # Undo: the stack is uncategorized again and the counts are back.
    page.locator("#undo-button").click()
    expect_undecided(stacked, code)
    page.wait_for_function(
        "n => Number(document.querySelector('#review-counts [data-count=\"decided\"]').textContent"
        ".replace(/,/g, '')) === n",
        arg=decided_before,
    )
    assert category_count(page, code) == in_category_before
    screenshot(page, test, "07-undone")

    # The case's audit page shows the decision, the reveal and the undo, by this user.
    page.goto(f"{CASE}/audit")
    rows = page.locator("#audit-events tbody tr")
    actions = rows.evaluate_all("rs => rs.map(r => [r.cells[2].innerText.trim(), r.cells[3].innerText.trim()])")
    expected = {("ines", "review.decide"), ("ines", "review.reveal"), ("ines", "review.undo")}
    assert expected <= {tuple(a) for a in actions}
    screenshot(page, test, "08-audit")
    log_out(page, test)


def expect_category(tile_locator: Locator, code: str) -> None:
    from playwright.sync_api import expect

    expect(tile_locator.locator(".cat")).to_have_attribute("data-category", code)
    expect(tile_locator).to_have_class(re.compile(r"\bdecided\b"))


def expect_undecided(tile_locator: Locator, undone_code: str) -> None:
    """Back to "no person decided this" (undo records the previous state; it shows as not decided)."""
    from playwright.sync_api import expect

    expect(tile_locator).not_to_have_class(re.compile(r"\bdecided\b"))
    expect(tile_locator.locator(".cat")).not_to_have_attribute("data-category", undone_code)


def test_a_reviewer_cannot_open_the_audit_page(page: Page) -> None:
    test = "reviewer-audit"
    log_in(page, "rita", test)
    page.goto(CASE)
    assert page.locator("nav").get_by_role("link", name="Review").count() == 1
    assert page.locator("nav").get_by_role("link", name="Audit").count() == 0  # not offered...
    response = page.goto(f"{CASE}/audit")
    assert response is not None and response.status == 403  # ...and refused when asked for
    assert page.locator("#audit-events").count() == 0
    screenshot(page, test, "02-audit-refused")
    log_out(page, test)


def test_a_non_member_does_not_learn_the_case_exists(page: Page) -> None:
    test = "non-member"
    log_in(page, "olga", test)
    assert page.get_by_role("link", name=CASE_REF).count() == 0
    for path in (CASE, f"{CASE}/review", f"{CASE}/audit"):
        response = page.goto(path)
        assert response is not None and response.status == 404, path
    screenshot(page, test, "02-not-found")


def test_wellbeing_defaults_blurred_greyscale_no_autoplay_known_hidden(page: Page, site: Site) -> None:
    test = "wellbeing"
    evidence = site.evidence
    log_in(page, "ada", test)
    open_review(page, test)
    body_classes = page.locator("body").get_attribute("class") or ""
    assert {"pref-blur", "pref-greyscale"} <= set(body_classes.split())

    # Every tile shows the stored thumbnail, with the CSS blur and greyscale on top.
    thumbs = page.locator("#review-grid .tile img.thumb")
    assert thumbs.count() >= 8
    for src, style in thumbs.evaluate_all("els => els.map(e => [e.src, getComputedStyle(e).filter])"):
        assert src.endswith("/thumbnail")
        assert "blur(" in style and "grayscale(" in style
    # Known material is not in the grid unless asked for; the unreadable picture is (it is evidence too).
    shown = set(page.locator("#review-grid .tile").evaluate_all("els => els.map(e => e.dataset.sha256)"))
    assert evidence.sha256(evidence.known) not in shown
    assert evidence.sha256(evidence.corrupt) in shown
    screenshot(page, test, "03-grid-defaults")

    # The stored thumbnail itself is greyscale and blurred, and never cached.
    sha = evidence.sha256("camera/img_002.jpg")
    response = page.request.get(f"{CASE}/items/{sha}/thumbnail")
    assert response.status == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert "no-store" in response.headers["cache-control"]
    jpeg = response.body()
    original = (evidence.folder / "camera/img_002.jpg").read_bytes()
    assert is_greyscale(jpeg) and not is_greyscale(original)
    assert edge_strength(jpeg) < 0.5 * edge_strength(original, image_size(jpeg))

    # Video: never autoplays, sound off, nothing loaded before a reveal.
    grid_video = page.locator("#reveal-video")
    state = grid_video.evaluate("v => [v.autoplay, v.hasAttribute('autoplay'), v.muted, v.preload, v.paused]")
    assert state == [False, False, True, "none", True]
    page.goto(f"{CASE}/items/{evidence.sha256(evidence.video)}")
    video = page.locator("#item-reveal-video")
    assert video.evaluate("v => [v.autoplay, v.muted, v.getAttribute('src')]") == [False, True, None]
    screenshot(page, test, "04-video-item")
    page.locator("#item-reveal-button").click()
    page.wait_for_function("() => document.getElementById('item-reveal-video').getAttribute('src') !== null")
    page.wait_for_timeout(500)  # time enough for a video that would autoplay to start
    assert video.evaluate("v => [v.autoplay, v.muted, v.paused]") == [False, True, True]
    page.locator("#item-reveal-button").click()  # hide again before any screenshot
    assert video.evaluate("v => v.getAttribute('src')") is None
    screenshot(page, test, "05-video-hidden-again")


def test_screenshots_refuse_unblurred_media(page: Page, site: Site) -> None:
    """The guard itself: a revealed picture on the page makes `screenshot` fail unless allowed."""
    log_in(page, "ines", "guard")
    page.goto(f"{CASE}/review")
    picture = tile(page, site.evidence.sha256("camera/img_003.jpg"))
    picture.locator(".reveal-button").click()
    page.wait_for_function("() => document.getElementById('reveal-image').naturalWidth > 0")
    with pytest.raises(AssertionError, match="unblurred media visible"):
        screenshot(page, "guard", "must-not-exist")
    assert not (SCREENSHOTS / "guard-must-not-exist.png").exists()
    page.keyboard.press("Escape")
    page.locator("#reveal-image").wait_for(state="hidden")
    screenshot(page, "guard", "01-hidden-again")  # and passes once it is hidden
