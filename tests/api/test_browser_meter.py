"""The page in Chromium reading a meter: the kind chosen, the wheels counted, positions shown,
and a region boxed on a camera frame for the configuration."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import httpx

from edge.api.server import ApiServer
from edge.config_load import load_settings
from edge.meter.printed import printed_models
from edge.model import DigitModel
from edge.reader import FrameReader
from tests.api.test_browser import (  # noqa: F401  (browser and page are fixtures)
    UI_TIMEOUT_MS,
    browser,
    expect,
    expect_answer,
    page,
    shot,
)
from tests.api.test_predict_meter import ROOT, counter_window


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


def drag_box(page: Any, box: tuple[int, int, int, int]) -> None:  # noqa: F811
    """Drag a box (frame pixels of a 640 px wide frame) on the shown image, as a person would."""
    x, y, w, h = box
    shown = page.locator("canvas.frame").bounding_box()
    k = shown["width"] / 640
    page.mouse.move(shown["x"] + x * k, shown["y"] + y * k)
    page.mouse.down()
    page.mouse.move(shown["x"] + (x + w / 2) * k, shown["y"] + (y + h / 2) * k, steps=5)
    page.mouse.move(shown["x"] + (x + w) * k, shown["y"] + (y + h) * k, steps=5)
    page.mouse.up()


def test_a_box_dragged_on_a_camera_frame_gives_the_region_for_the_configuration(
    live_server: Callable[..., ApiServer],
    page: Any,  # noqa: F811
    tmp_path: Path,
    model: DigitModel,
) -> None:
    folder = ROOT / "mock_frames" / "meter"
    name, want = sorted(json.loads((folder / "expected.json").read_text()).items())[0]
    server = live_server(camera={"source": str(folder), "loop": True})
    page.goto(f"{server.url}/#read")
    page.select_option("#read-kind", "counter")
    page.fill("#read-digits", "6")
    page.click("#camera-capture")
    expect(page.locator("#read-message")).to_contain_text("stored as reading #1")
    expect(page.locator("#region-message")).to_contain_text("Drag a box on the image")
    # Drag round the counter window, in the frame's pixels as the canvas shows them.
    x, y, w, h = want["region"]["box"]
    drag_box(page, (x, y - 8, w, h))  # 8 px too high: the wheels read low
    expect(page.locator("#read-message")).to_contain_text(f"[{x}, {y - 8}, {w}, {h}]")
    expect(page.locator("#region-message")).to_contain_text("sits too high; move it down")
    drag_box(page, (x, y, w, h))
    expect_answer(page, "read-answer", want["value"].replace(".", ""))
    expect(page.locator("#read-message")).to_contain_text("(not stored)")
    expect(page.locator("#region-message")).not_to_contain_text("sits too")
    page.fill("#region-name", "water")
    expect(page.get_by_test_id("region-toml")).to_contain_text('name = "water"')
    toml = page.get_by_test_id("region-toml").inner_text()
    assert "# max_rate_per_min = " in toml  # the meter's rules, to set
    shot(page, "read-region")
    # The lines are a region of the configuration, and the daemon reads the frame with it as
    # the page did.
    config = tmp_path / "digitcam.toml"
    config.write_text(toml + "\n")
    settings = load_settings(config)
    (region,) = settings.regions
    assert (region.name, region.kind, region.digits) == ("water", "counter", 6)
    assert all(abs(a - b) <= 1 for a, b in zip(region.box or (), (x, y, w, h), strict=True))
    printed, display = printed_models(settings.model, ["counter"])
    reader = FrameReader.configured(settings, model, printed=printed, display=display)
    reading = reader.read(cv2.imread(str(folder / name), cv2.IMREAD_GRAYSCALE), name, 0)[0]
    assert reading.value == want["value"].replace(".", "")
    # Only the capture is in the history; the box was a look.
    assert httpx.get(f"{server.url}/api/v1/readings").json()["items"][0]["seq"] == 1
    assert len(httpx.get(f"{server.url}/api/v1/readings").json()["items"]) == 1
    page.click("#region-whole")
    expect(page.locator("#read-message")).to_contain_text("Read the whole image")
    expect(page.get_by_test_id("region-toml")).to_be_empty()
