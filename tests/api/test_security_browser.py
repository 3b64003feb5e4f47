"""A page from another site, open in the user's real Chromium, cannot write to the device.

The attacker's page is served by a second server on another loopback port (another origin);
it posts an image to the API with a no-cors fetch, which needs no CORS preflight and whose
answer it cannot read: the harm is the write itself (a reading stored, the camera used).
With api.token set the page cannot add the header without a CORS preflight, which the API
never grants. The API's own page keeps working: tests/api/test_browser.py drives it.
"""

from __future__ import annotations

import base64
import functools
import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge.api.server import ApiServer
from tests.api.conftest import encoded, on_paper

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="pip install playwright (browser tests; never `playwright install`)",
)
if not CHROMIUM.exists():
    pytest.skip("no /usr/bin/chromium (apt-get install chromium)", allow_module_level=True)

ATTACK = """<!doctype html><title>cute cats</title><script>
const png = Uint8Array.from(atob("{png}"), (c) => c.charCodeAt(0));
const form = new FormData();
form.append("file", new Blob([png], {{type: "image/png"}}), "seven.png");
window.sent = fetch("{api}/api/v1/predict", {{method: "POST", mode: "no-cors", body: form}})
  .then(() => "answered", (error) => "failed: " + error);
</script>"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def attacker_site(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Serve a page on another loopback port; returns a function that publishes one."""
    handler = functools.partial(QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def publish(html: str) -> str:
        (tmp_path / "attack.html").write_text(html)
        return f"http://127.0.0.1:{server.server_address[1]}/attack.html"

    yield publish
    server.shutdown()
    thread.join(5)


@pytest.fixture
def chromium_page() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        page = browser.new_page()
        page.set_default_timeout(60_000)
        yield page
        browser.close()


def test_another_sites_page_cannot_post_an_image_to_the_api(
    live_server: Callable[..., ApiServer],
    attacker_site: Callable[[str], str],
    chromium_page: Any,
    first_of: Callable,
) -> None:
    server = live_server()  # no api.token: the default
    png = base64.b64encode(encoded(on_paper(first_of(7)))).decode()
    chromium_page.goto(attacker_site(ATTACK.format(png=png, api=server.url)))
    chromium_page.wait_for_function("window.sent !== undefined")
    chromium_page.evaluate("window.sent")  # the fetch has finished, however it ended
    readings = httpx.get(f"{server.url}/api/v1/readings").json()["items"]
    assert readings == [], "another site's page stored a reading"
