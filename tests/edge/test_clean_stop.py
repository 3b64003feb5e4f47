"""A normal stop is quiet: no ERROR in the log, from our code or from paho's."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

import pytest

from edge.config import MqttSettings
from edge.mqtt.publisher import MqttPublisher
from edge.store import Store
from tests.conftest import Broker, wait_until
from tests.edge.test_app import ROOT, run_daemon
from tests.edge.test_store import make_reading


def test_start_and_stop_log_no_error(
    tmp_path: Path, mosquitto: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = Store(tmp_path / "state.sqlite", outbox_max=100)
    settings = MqttSettings(host=mosquitto.host, port=mosquitto.port, keepalive_s=5)
    try:
        for round_ in range(40):  # the error came from a race at close: give it chances
            publisher = MqttPublisher(settings, "pi-test", store, threading.Event(), poll_s=0.02)
            publisher.start()
            wait_until(lambda p=publisher: p.state == "connected", what="connected")
            store.record(make_reading(value=str(round_)), publisher.reading_topics("main"), 1)
            assert publisher.stop(flush_timeout_s=10), "the reading was delivered"
    finally:
        store.close()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [f"{r.name}: {r.getMessage()}" for r in errors]
    assert any("connected to MQTT broker" in r.getMessage() for r in caplog.records)


def test_the_daemon_stops_on_sigterm_without_an_error_line(
    tmp_path: Path, mosquitto: Broker, subscriber
) -> None:
    sub = subscriber(mosquitto, ["digitcam/testcam/#"])
    proc = run_daemon(tmp_path, ROOT / "mock_frames" / "numbers", mosquitto)
    try:
        wait_until(lambda: sub.on("digitcam/testcam/reading"), timeout_s=60, what="a reading")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "digitcam stopped" in err
    assert [line for line in err.splitlines() if " ERROR " in line] == [], err
    assert sub.on("digitcam/testcam/status")[-1].payload == b"offline"
