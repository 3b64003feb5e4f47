"""Chromium: a reading the device found no digit in is corrected by boxing its digit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from edge.api.server import ApiServer
from tests.api.conftest import encoded, on_paper
from tests.api.test_browser import (  # noqa: F401  (browser and page are fixtures)
    UI_TIMEOUT_MS,
    browser,
    expect,
    page,
    shot,
)
from tests.api.test_correct_boxes import faint


def test_a_no_digit_reading_is_corrected_by_drawing_a_box(
    live_server: Callable[..., ApiServer],
    page: Any,  # noqa: F811
    first_of: Callable,
    tmp_path: Path,
) -> None:
    server = live_server()
    photo = faint(on_paper(first_of(7), height_px=200))  # 40 px margins, the 7 in 200x200
    reading = httpx.post(
        f"{server.url}/api/v1/predict", files={"file": ("faint.png", encoded(photo))}
    ).json()
    assert reading["status"] == "no_digit"
    page.goto(f"{server.url}/#history")
    page.locator(f'tr[data-seq="{reading["seq"]}"] button', has_text="Frame").click()
    canvas = page.locator("#frame-canvas")
    expect(canvas).to_be_visible(timeout=UI_TIMEOUT_MS)
    page.wait_for_function("document.getElementById('frame-canvas').width > 0")
    box = canvas.bounding_box()
    sx, sy = box["width"] / photo.shape[1], box["height"] / photo.shape[0]
    page.mouse.move(box["x"] + 40 * sx, box["y"] + 40 * sy)
    page.mouse.down()
    page.mouse.move(box["x"] + 240 * sx, box["y"] + 240 * sy, steps=8)
    page.mouse.up()
    expect(page.locator("#frame-count")).to_have_text("1 box drawn")
    page.fill("#frame-value", "7")
    page.click("#frame-form button[type=submit]")
    expect(page.locator("#frame-message")).to_contain_text(
        "saved; 1 training example made", timeout=UI_TIMEOUT_MS
    )
    shot(page, "history-frame-box")
    labels = httpx.get(f"{server.url}/api/v1/labels").json()["items"]
    assert [(item["label"], item["source"]) for item in labels] == [(7, "correction")]
