"""The page in Chromium reading a meter: the kind chosen, the wheels counted, positions shown."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge.api.server import ApiServer
from tests.api.test_browser import (  # noqa: F401  (browser and page are fixtures)
    UI_TIMEOUT_MS,
    browser,
    expect,
    expect_answer,
    page,
    shot,
)
from tests.api.test_predict_meter import counter_window


def test_a_counter_window_is_read_as_meter_wheels(
    live_server: Callable[..., ApiServer],
    page: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    server = live_server()
    image, value = counter_window()
    window = tmp_path / "window.png"
    window.write_bytes(image)
    page.goto(f"{server.url}/#read")
    expect(page.locator("#read-digits")).to_have_attribute("placeholder", "any")  # a number's
    page.select_option("#read-kind", "digit")
    expect(page.locator("#read-digits-label")).to_be_hidden()  # one digit is one
    page.select_option("#read-kind", "counter")
    expect(page.locator("#read-digits-label")).to_contain_text("side by side")
    page.fill("#read-digits", "6")
    page.set_input_files("#upload-file", str(window))
    expect_answer(page, "read-answer", value)
    expect(page.locator("#read-result .digit-card")).to_have_count(6, timeout=UI_TIMEOUT_MS)
    expect(page.locator("#read-result .digit-card").first).to_contain_text("wheel at")
    shot(page, "read-meter")
