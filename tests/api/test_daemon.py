"""The API inside the daemon (`digitcam run` with api.enabled): real App, camera and broker."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import pytest

from edge.app import App
from tests.api.conftest import on_paper
from tests.api.test_health_metrics import parse_metrics
from tests.conftest import Broker, Subscriber, wait_until


@pytest.fixture
def daemon(make_settings: Callable) -> Iterator[Callable[..., App]]:
    """Start App with the API on a free port and its capture loop on a thread."""
    started: list[tuple[App, threading.Thread]] = []

    def start(source: str, **overrides: Any) -> App:
        camera = {"source": source, "fps": 20, **overrides.pop("camera", {})}
        settings = make_settings(api={"enabled": True, "port": 0}, camera=camera, **overrides)
        app = App(settings)
        app.start()
        thread = threading.Thread(target=app.run, daemon=True)
        thread.start()
        started.append((app, thread))
        return app

    yield start
    for app, thread in started:
        app.stop_event.set()
        thread.join(10)
        app.stop()


@pytest.fixture
def frames(tmp_path: Path, first_of: Callable) -> Path:
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "0001.png"), on_paper(first_of(2), first_of(9)))
    return folder


def test_health_shows_the_running_camera_and_metrics_count_its_frames(
    daemon: Callable[..., App], frames: Path
) -> None:
    app = daemon(str(frames))
    url = app.api.url
    wait_until(lambda: app.snapshot().readings >= 3, what="the daemon's first readings")
    health = httpx.get(f"{url}/health").json()
    assert health["status"] == "ok" and health["mode"] == "daemon"
    assert health["camera"]["state"] == "open" and health["camera"]["frames"] >= 3
    assert health["broker"]["state"] == "disabled"
    metrics = parse_metrics(httpx.get(f"{url}/metrics").text)
    assert metrics["digitcam_frames_total"] >= 3
    assert metrics['digitcam_readings_total{status="ok"}'] >= 1
    assert metrics['digitcam_mqtt_state{state="disabled"}'] == 1
    history = httpx.get(f"{url}/api/v1/readings", params={"region": "main"}).json()["items"]
    assert history and history[0]["value"] == "29"


def test_use_camera_reads_the_daemons_latest_frame(
    daemon: Callable[..., App], frames: Path
) -> None:
    app = daemon(str(frames))
    wait_until(lambda: app.grabber and app.grabber.latest(), what="a first frame")
    reading = httpx.post(f"{app.api.url}/api/v1/predict", params={"use_camera": "true"}).json()
    assert reading["value"] == "29" and reading["region"] == "camera"


def test_a_failing_camera_makes_health_503_with_the_reason(
    daemon: Callable[..., App], tmp_path: Path
) -> None:
    app = daemon(str(tmp_path / "unplugged"))
    wait_until(lambda: app.grabber and app.grabber.state == "reopening", what="the camera failing")
    response = httpx.get(f"{app.api.url}/health")
    assert response.status_code == 503
    assert any("unplugged" in reason for reason in response.json()["reasons"])
    capture = httpx.post(f"{app.api.url}/predict", data={"use_camera": "true"})
    assert capture.status_code == 503 and "camera unavailable" in capture.json()["detail"]


def test_a_broker_refusing_the_credentials_makes_health_503(
    daemon: Callable[..., App], frames: Path, mosquitto_factory: Callable[..., Broker]
) -> None:
    broker = mosquitto_factory(users={"digitcam": "right"})
    app = daemon(
        str(frames),
        mqtt={
            "host": broker.host,
            "port": broker.port,
            "username": "digitcam",
            "password": "wrong",
        },
    )
    wait_until(
        lambda: app.publisher and app.publisher.state == "auth_failed",
        timeout_s=15,
        what="the broker refusing",
    )
    response = httpx.get(f"{app.api.url}/api/v1/health")
    assert response.status_code == 503
    assert any("refused the credentials" in reason for reason in response.json()["reasons"])
    assert (
        parse_metrics(httpx.get(f"{app.api.url}/metrics").text)[
            'digitcam_mqtt_state{state="auth_failed"}'
        ]
        == 1
    )


def test_stats_message_health_and_metrics_report_the_same_counts(
    daemon: Callable[..., App],
    tmp_path: Path,
    first_of: Callable,
    mosquitto: Broker,
    subscriber: Callable[..., Subscriber],
) -> None:
    folder = tmp_path / "three"
    folder.mkdir()
    for i, digit in enumerate((3, 5, 8)):
        cv2.imwrite(str(folder / f"{i:04d}.png"), on_paper(first_of(digit)))
    (folder / "0003.png").write_bytes(b"not a png")
    topic = "digitcam/testcam/stats"
    sub = subscriber(mosquitto, [topic])
    app = daemon(
        str(folder),
        # fps 0: the grabber waits for the capture loop, so every frame is read and counted
        # (at 20 fps a loop slowed by a busy machine would drop one, as the newest frame wins).
        camera={"loop": False, "fps": 0},
        mqtt={"host": mosquitto.host, "port": mosquitto.port, "stats_interval_s": 0.2},
    )

    def settled() -> dict[str, Any] | None:
        messages = [json.loads(m.payload) for m in sub.on(topic)]
        done = messages and messages[-1]["frames"] == 4 and messages[-1]["outbox_depth"] == 0
        return messages[-1] if done else None

    stats = wait_until(settled, what="a stats message after the last frame")
    assert list(stats) == [
        "uptime_s",
        "frames",
        "readings",
        "bad_frames",
        "errors",
        "fps",
        "latency_ms",
        "camera",
        "mqtt",
        "outbox_depth",
        "outbox_dropped",
        "storage",
        "model",
    ]
    assert (stats["readings"], stats["bad_frames"], stats["errors"]) == (3, 1, 0)
    health = httpx.get(f"{app.api.url}/health").json()
    metrics = parse_metrics(httpx.get(f"{app.api.url}/metrics").text)
    assert metrics["digitcam_frames_total"] == stats["frames"]
    assert metrics["digitcam_bad_frames_total"] == stats["bad_frames"]
    readings = sum(v for k, v in metrics.items() if k.startswith("digitcam_readings_total"))
    assert readings == stats["readings"] == metrics["digitcam_reading_latency_seconds_count"]
    assert health["camera"]["frames"] == stats["camera"]["frames"] == 4
    assert health["broker"]["state"] == stats["mqtt"]["state"] == "connected"
    assert health["outbox"] == {"depth": 0, "dropped": 0}
    assert stats["storage"] == {"state": "ok", "errors": 0, "unstored": 0}
    assert health["storage"]["state"] == "ok" and metrics["digitcam_store_writable"] == 1
    assert metrics["digitcam_outbox_depth"] == stats["outbox_depth"] == 0
    assert metrics['digitcam_mqtt_state{state="connected"}'] == 1
