"""/metrics scraped from a running daemon, checked by Prometheus' own linter (promtool)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from edge.app import App
from tests.api.conftest import on_paper
from tests.api.test_daemon import daemon  # noqa: F401  (a fixture, used by name)
from tests.api.test_health_metrics import parse_metrics
from tests.conftest import Broker, Subscriber, wait_until

REPO = Path(__file__).resolve().parents[2]
# `make system-deps` takes promtool alone out of Debian's prometheus package (see Makefile).
LOCAL_PROMTOOL = REPO / "build" / "tools" / "promtool"
PROMTOOL = shutil.which("promtool") or (
    str(LOCAL_PROMTOOL) if os.access(LOCAL_PROMTOOL, os.X_OK) else None
)
# Families the daemon exposes with a camera, MQTT and an outbox (the README lists them).
FAMILIES = {
    "digitcam_readings_total",
    "digitcam_reading_latency_seconds",
    "digitcam_frames_total",
    "digitcam_bad_frames_total",
    "digitcam_read_errors_total",
    "digitcam_frames_dropped_total",
    "digitcam_camera_failures_total",
    "digitcam_mqtt_state",
    "digitcam_mqtt_connected",
    "digitcam_mqtt_published_total",
    "digitcam_mqtt_errors_total",
    "digitcam_mqtt_reconnects_total",
    "digitcam_outbox_depth",
    "digitcam_outbox_dropped_total",
    "digitcam_uptime_seconds",
    "digitcam_model_info",
}


def promtool_check(text: str) -> subprocess.CompletedProcess[str]:
    if PROMTOOL is None:
        pytest.skip("promtool is not installed (make system-deps extracts it)")
    return subprocess.run(
        [PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60
    )


def test_promtool_passes_a_live_scrape_with_every_family_populated(
    daemon: Callable[..., App],  # noqa: F811  (the fixture imported above)
    tmp_path: Path,
    first_of: Callable,
    mosquitto: Broker,
    subscriber: Callable[..., Subscriber],
) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "0000.png"), on_paper(first_of(4), first_of(2)))
    cv2.imwrite(str(folder / "0001.png"), np.full((240, 320), 255, np.uint8))  # no digit
    sub = subscriber(mosquitto, ["digitcam/testcam/stats"])
    app = daemon(
        str(folder),
        camera={"loop": False, "fps": 0},  # lossless: both frames are read however busy the CPU
        mqtt={"host": mosquitto.host, "port": mosquitto.port, "stats_interval_s": 0.2},
    )

    def settled() -> bool:
        stats = [json.loads(m.payload) for m in sub.on("digitcam/testcam/stats")]
        return bool(stats) and stats[-1]["readings"] == 2 and stats[-1]["outbox_depth"] == 0

    wait_until(settled, what="both frames read and published")
    text = httpx.get(f"{app.api.url}/metrics").text

    samples = parse_metrics(text)
    typed = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
    assert typed >= FAMILIES, f"missing: {FAMILIES - typed}"
    for family in typed:
        assert any(name.startswith(family) for name in samples), f"{family} has no sample"
    assert samples['digitcam_readings_total{status="ok"}'] == 1
    assert samples['digitcam_readings_total{status="no_digit"}'] == 1
    assert samples["digitcam_reading_latency_seconds_count"] == 2
    assert 0 < samples["digitcam_reading_latency_seconds_sum"] < 10, "seconds, not milliseconds"
    assert samples["digitcam_mqtt_published_total"] > 0

    result = promtool_check(text)
    assert (result.returncode, result.stdout + result.stderr) == (0, ""), text
