"""The Performance page in Chromium shows the models side by side, the one in use marked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edge.api.server import ApiServer
from tests.api.test_browser import (  # noqa: F401  (browser and page are fixtures)
    UI_TIMEOUT_MS,
    browser,
    expect,
    page,
    shot,
)


def test_the_performance_page_lists_the_model_in_use(
    live_server: Callable[..., ApiServer],
    page: Any,  # noqa: F811
) -> None:
    server = live_server()
    page.goto(f"{server.url}/#performance")
    row = page.locator("#perf-models tbody tr").first
    expect(row).to_contain_text("(in use)", timeout=UI_TIMEOUT_MS)
    expect(row).to_contain_text("mnist-cnn-")
    expect(row).to_contain_text("shipped")
    shot(page, "performance-models")
