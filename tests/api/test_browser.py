"""The page in a real headless Chromium against a real uvicorn: draw, read, correct, label.

Every check waits for what a person would wait for (an answer, a message, a picture) with a
generous timeout, because a busy two-core machine can take seconds to answer; none sleeps.
Screenshots land in tests/api/artifacts/ for a person to look at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge.api.server import ApiServer
from tests.api.conftest import TOKEN, encoded, on_paper

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
# Strokes as fractions of the drawing pad, the way a person draws them.
SEVEN = [[(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]]
ONE = [[(0.5, 0.15), (0.5, 0.85)]]
UI_TIMEOUT_MS = 60_000

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="pip install playwright (browser tests; never `playwright install`)",
)
expect = sync_api.expect
if not CHROMIUM.exists():
    pytest.skip("no /usr/bin/chromium (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 860})
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # An answered 4xx is logged by Chromium as "Failed to load resource": that is the page
    # doing its job (asking for the token), not a script error.
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and "Failed to load resource" not in msg.text
            else None
        ),
    )
    yield page
    context.close()
    assert errors == [], f"the page reported errors: {errors}"


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def draw(page: Any, strokes: list[list[tuple[float, float]]]) -> None:
    """Move the mouse along each stroke with the button down, in small steps."""
    box = page.locator("#pad").bounding_box()

    def at(fx: float, fy: float) -> tuple[float, float]:
        return box["x"] + fx * box["width"], box["y"] + fy * box["height"]

    for stroke in strokes:
        page.mouse.move(*at(*stroke[0]))
        page.mouse.down()
        for (x0, y0), (x1, y1) in pairwise(stroke):
            for step in range(1, 13):
                t = step / 12
                page.mouse.move(*at(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t))
        page.mouse.up()


def expect_answer(page: Any, test_id: str, answer: str) -> None:
    """The big answer the page shows, once it has come back from the device."""
    expect(page.get_by_test_id(test_id)).to_have_text(answer, timeout=UI_TIMEOUT_MS)


def test_draw_read_label_and_correct(live_server: Callable[..., ApiServer], page: Any) -> None:
    server = live_server()
    page.goto(f"{server.url}/#draw")
    blank = page.locator("#draw-input").get_attribute("src")
    draw(page, SEVEN)
    expect_answer(page, "draw-answer", "7")
    seen = page.locator("#draw-input").get_attribute("src")
    assert seen.startswith("data:image/png") and seen != blank, "the 28x28 the model saw is shown"
    shot(page, "draw-seven")

    page.get_by_role("button", name="Save example").click()
    page.get_by_text("Kept as example #1 of a 7").wait_for()
    assert [lb["label"] for lb in httpx.get(f"{server.url}/api/v1/labels").json()["items"]] == [7]

    page.get_by_role("button", name="Clear").click()
    draw(page, ONE)
    expect_answer(page, "draw-answer", "1")
    page.get_by_role("button", name="Save to history").click()
    page.get_by_text("Saved as reading #1").wait_for()

    page.click('nav a[href="#history"]')
    row = page.locator('tr[data-seq="1"]')
    row.get_by_label("true value of reading 1").fill("4")
    row.get_by_label("true value of reading 1").press("Enter")
    row.get_by_text("1 training example made").wait_for()
    entry = httpx.get(f"{server.url}/api/v1/readings/1").json()
    assert (entry["value"], entry["corrected_value"]) == ("1", "4")
    shot(page, "history-corrected")

    page.click('nav a[href="#explore"]')
    # The samples and this device's examples arrive by separate requests, in either order.
    page.locator("#mnist-samples img").first.wait_for()
    expect(page.locator("#mnist-credit")).to_contain_text("LeCun", timeout=UI_TIMEOUT_MS)
    expect(page.locator("#user-labels img")).to_have_count(2, timeout=UI_TIMEOUT_MS)
    shot(page, "explore")

    page.click('nav a[href="#performance"]')
    page.locator("#chart-digits svg rect").first.wait_for()
    shot(page, "performance")


def test_an_uploaded_photo_is_read_and_its_digits_boxed(
    live_server: Callable[..., ApiServer], page: Any, first_of: Callable, tmp_path: Path
) -> None:
    server = live_server()
    photo = tmp_path / "meter.jpg"
    photo.write_bytes(encoded(on_paper(first_of(4), first_of(1), first_of(7)), ".jpg"))
    page.goto(f"{server.url}/#read")
    page.set_input_files("#upload-file", str(photo))
    expect_answer(page, "read-answer", "417")
    expect(page.locator("#read-result .digit-card")).to_have_count(3, timeout=UI_TIMEOUT_MS)
    # The photo is drawn once the browser has decoded it; then the page says it is done.
    expect(page.locator("#read-message")).to_contain_text(
        "stored as reading #1", timeout=UI_TIMEOUT_MS
    )
    canvas = page.locator("canvas.frame").bounding_box()
    assert canvas["width"] > 300
    shot(page, "read-upload")


def test_the_token_is_asked_once_and_remembered(
    live_server: Callable[..., ApiServer], page: Any
) -> None:
    server = live_server(api={"token": TOKEN})
    page.goto(f"{server.url}/#draw")
    draw(page, SEVEN)
    page.get_by_label("API token").wait_for()  # the preview needed the token: the page asks
    page.get_by_label("API token").fill(TOKEN)
    page.get_by_role("button", name="Save", exact=True).click()
    page.reload()
    draw(page, SEVEN)
    expect_answer(page, "draw-answer", "7")
    assert page.evaluate("localStorage.getItem('digitcam.token')") == TOKEN
