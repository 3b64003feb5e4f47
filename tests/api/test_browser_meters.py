"""The page in Chromium setting a meter's value: the live daemon refuses right readings of an
LCD under a wrong level until a person types what the meter shows."""

from __future__ import annotations

from typing import Any

from edge.app import App
from tests.api.conftest import TOKEN
from tests.api.test_browser import (  # noqa: F401  (browser and page are fixtures)
    UI_TIMEOUT_MS,
    browser,
    expect,
    page,
    shot,
)
from tests.api.test_meters import meter_daemon  # noqa: F401  (a fixture)


def test_a_person_sets_a_meters_value_on_the_live_page_and_readings_are_published_again(
    meter_daemon: App,  # noqa: F811
    page: Any,  # noqa: F811
) -> None:
    page.goto(f"{meter_daemon.api.url}/#live")
    meter = page.locator('.meter[data-region="power"]')
    expect(meter.get_by_test_id("meter-value")).to_have_text("1334.5")
    expect(meter).to_contain_text("1234.5 (")  # the right level, waiting for confirmation
    expect(page.get_by_test_id("live-value")).to_have_text("implausible (read 001234.5)")
    expect(meter.get_by_test_id("meter-shift")).to_have_text("0, 0 px")  # align = true

    box = page.get_by_label("what the power meter shows")
    box.fill("1234.55")  # more decimals than the display has: refused, saying why
    meter.get_by_role("button", name="Set").click()
    page.get_by_label("API token").fill(TOKEN)  # the device asks for its token first
    page.get_by_role("button", name="Save", exact=True).click()
    meter.get_by_role("button", name="Set").click()
    expect(meter.locator(".message.error")).to_contain_text("shows 1 decimal")
    box.fill("1234.5")
    meter.get_by_role("button", name="Set").click()
    expect(meter.locator(".message.ok")).to_contain_text("Set to 1234.5")
    expect(meter.get_by_test_id("meter-value")).to_have_text("1234.5")
    expect(meter.get_by_test_id("meter-since")).to_contain_text("set by hand")
    expect(page.get_by_test_id("live-value")).to_have_text("001234.5", timeout=UI_TIMEOUT_MS)
    meter.get_by_role("button", name="Take the reference again").click()
    expect(meter.locator(".message.ok")).to_contain_text("The next frame read ok")
    expect(meter.get_by_test_id("meter-shift")).to_contain_text("no reference yet")
    shot(page, "meter-set-value")
