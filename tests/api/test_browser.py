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
# expect() keeps its own 5 s default, apart from the context's: a busy machine needs more to
# build /openapi.json and render the docs' bundle on first request.
expect.set_options(timeout=UI_TIMEOUT_MS)
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


def mnist_row(image: Any, label: int | None = None) -> str:
    """One row of an MNIST CSV file: the label first, then the 784 pixels."""
    values = [str(int(v)) for v in image.reshape(-1)]
    return ",".join(([str(label)] if label is not None else []) + values)


def test_pasted_pixels_are_drawn_on_the_pad_and_read(
    live_server: Callable[..., ApiServer], page: Any, mnist: tuple
) -> None:
    server = live_server()
    images, labels = mnist
    page.goto(f"{server.url}/#draw")
    blank = page.locator("#pad").screenshot()
    page.get_by_label("Or paste 784 pixel values").fill(mnist_row(images[0], int(labels[0])))
    page.get_by_role("button", name="Show and read").click()
    expect_answer(page, "draw-answer", str(labels[0]))
    assert page.locator("#pad").screenshot() != blank, "the digit is drawn on the pad"
    expect(page.locator('.digit-pick[aria-pressed="true"]')).to_have_text(str(labels[0]))
    shot(page, "draw-pasted")
    page.get_by_role("button", name="Save to history").click()
    page.get_by_text("Saved as reading #1").wait_for()
    stored = httpx.get(f"{server.url}/api/v1/readings/1").json()
    assert (stored["region"], stored["value"]) == ("pixels", str(labels[0]))

    page.get_by_label("Or paste 784 pixel values").fill("0, 12, 255")
    page.get_by_role("button", name="Show and read").click()
    expect(page.locator("#draw-message")).to_contain_text("3 values: 784 are needed")


def test_explore_pages_through_the_1000_mnist_samples(
    live_server: Callable[..., ApiServer], page: Any
) -> None:
    server = live_server()
    page.goto(f"{server.url}/#explore")
    samples = page.locator("#mnist-samples button.sample")
    message = page.locator("#mnist-message")
    expect(message).to_have_text("Samples 1–100 of 1,000", timeout=UI_TIMEOUT_MS)
    expect(samples).to_have_count(100)
    for _ in range(9):
        page.get_by_role("button", name="Next →").click()
    expect(message).to_have_text("Samples 901–1,000 of 1,000", timeout=UI_TIMEOUT_MS)
    expect(page.get_by_role("button", name="Next →")).to_be_disabled()
    assert samples.last.get_attribute("data-index") == "999"

    page.locator("#mnist-digit").select_option("5")
    expect(message).to_have_text("5s 1–87 of 87", timeout=UI_TIMEOUT_MS)
    expect(samples).to_have_count(87)
    samples.first.click()  # the first 5 of the test set: the model reads it from its pixels
    expect_answer(page, "sample-answer", "5")
    shot(page, "explore-paged")


# Everything a phone shows must be reachable at this width without sideways scrolling.
PHONE = {"width": 375, "height": 667}


def test_on_a_phone_every_tab_and_the_correction_are_reachable(
    live_server: Callable[..., ApiServer], browser: Any, mnist: tuple
) -> None:
    server = live_server()
    images, _ = mnist
    for image in images[:3]:
        pixels = [int(v) for v in image.reshape(-1)]
        httpx.post(f"{server.url}/api/v1/predict", json={"pixels": pixels}, timeout=60)
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(UI_TIMEOUT_MS)
    phone = context.new_page()
    try:
        phone.goto(f"{server.url}/#draw")
        for tab in ("draw", "read", "live", "history", "performance", "explore"):
            link = phone.locator(f'nav a[href="#{tab}"]')
            box = link.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], f"{tab} off screen"
            link.tap()
            expect(phone.locator(f"#tab-{tab}")).to_be_visible()
        shot(phone, "phone-explore")

        with phone.expect_response(lambda response: "/api/v1/readings" in response.url):
            phone.locator('nav a[href="#history"]').tap()
        field = phone.get_by_label("true value of reading 1")
        expect(field).to_be_attached()
        field.scroll_into_view_if_needed()
        box = field.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], "correction cut off"
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        field.fill("7")
        field.press("Enter")
        phone.locator('tr[data-seq="1"]').get_by_text("saved").wait_for()
        assert httpx.get(f"{server.url}/api/v1/readings/1").json()["corrected_value"] == "7"
        shot(phone, "phone-history")
    finally:
        context.close()


def test_the_api_docs_render_without_internet(
    live_server: Callable[..., ApiServer], browser: Any
) -> None:
    server = live_server()
    context = browser.new_context(viewport={"width": 1200, "height": 860})
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    blocked: list[str] = []
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))

    def only_this_device(route: Any) -> None:
        if httpx.URL(route.request.url).host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_device)
    try:
        page.goto(f"{server.url}/docs")
        operations = page.locator(".opblock-summary-path")
        expect(operations.filter(has_text="/api/v1/predict")).to_have_count(1)
        assert operations.count() > 15
        shot(page, "docs-swagger")

        page.goto(f"{server.url}/redoc")
        expect(page.locator("h1").first).to_contain_text("DigitCam")
        expect(page.get_by_role("menuitem").filter(has_text="Read the digits")).not_to_have_count(0)
        shot(page, "docs-redoc")
    finally:
        context.close()
    assert blocked == [], f"the docs tried to reach elsewhere: {blocked}"
    # ReDoc always shows its maker's logo from their CDN; the docs' policy refuses it (the
    # page hides the broken image) and Chromium says so. Anything else is a real error.
    assert [e for e in errors if "cdn.redoc.ly/redoc/logo-mini.svg" not in e] == []
