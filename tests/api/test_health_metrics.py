"""/health, /api/v1/info and /metrics in `serve` mode (no capture loop, no MQTT)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from edge.api.factory import create_app
from edge.api.services import Services
from tests.api.conftest import encoded, on_paper, upload

SAMPLE_LINE = re.compile(
    r'^[a-z_:][a-z0-9_:]*(\{([a-z_]+="[^"]*",?)*\})? -?[0-9.e+-]+$|^\S+ \+?Inf$'
)


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text format -> {'name{labels}': value}; fails on a malformed line."""
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(("# HELP ", "# TYPE ")):
            continue
        assert SAMPLE_LINE.match(line), f"not a Prometheus sample line: {line!r}"
        name, value = line.rsplit(" ", 1)
        samples[name] = float(value)
    return samples


def test_health_is_ok_and_says_camera_and_broker_are_not_running(client: TestClient) -> None:
    for path in ("/health", "/api/v1/health"):
        response = client.get(path)
        assert response.status_code == 200
        health = response.json()
        assert health["status"] == "ok" and health["reasons"] == []
        assert health["mode"] == "serve"
        assert health["camera"]["state"] == "not running"
        assert health["broker"]["state"] == "not running"
        assert health["model"]["loaded"] is True
        assert health["outbox"] == {"depth": 0, "dropped": 0}


def test_without_a_model_health_is_503_and_predict_says_why(
    make_settings: Callable, tmp_path: Path, first_of: Callable
) -> None:
    settings = make_settings(model={"path": str(tmp_path / "missing.onnx")})
    with TestClient(create_app(Services(settings)), base_url="http://localhost") as client:
        response = client.get("/health")
        assert response.status_code == 503
        assert response.json()["status"] == "degraded"
        assert "missing.onnx" in response.json()["reasons"][0]
        predicted = upload(client, encoded(on_paper(first_of(1))))
        assert predicted.status_code == 503
        assert "missing.onnx" in predicted.json()["detail"]


def test_info_tells_the_page_the_limits(make_client: Callable) -> None:
    client = make_client(api={"token": "tok3n-abc", "max_upload_bytes": 5000})
    info = client.get("/api/v1/info").json()
    assert info["auth_required"] is True
    assert info["max_upload_bytes"] == 5000
    assert info["mode"] == "serve" and info["device_id"] == "testcam"
    # The page colours each digit's box against its region kind's threshold.
    assert (info["min_confidence"], info["printed_min_confidence"]) == (0.95, 0.9)
    assert "tok3n-abc" not in client.get("/api/v1/info").text, "the token itself is never shown"
    assert "tok3n-abc" not in client.get("/health").text


def test_metrics_count_readings_by_status_and_their_latency(
    client: TestClient, first_of: Callable
) -> None:
    before = parse_metrics(client.get("/metrics").text)
    assert before['digitcam_readings_total{status="ok"}'] == 0
    upload(client, encoded(on_paper(first_of(7))))
    upload(client, encoded(on_paper(first_of(4))))
    upload(client, encoded(on_paper(first_of(4))), record="false")
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    after = parse_metrics(response.text)
    assert after['digitcam_readings_total{status="ok"}'] == 2
    assert after['digitcam_readings_total{status="no_digit"}'] == 0
    assert after["digitcam_reading_latency_seconds_count"] == 2
    assert after['digitcam_reading_latency_seconds_bucket{le="+Inf"}'] == 2
    assert after["digitcam_reading_latency_seconds_sum"] > 0
    assert after['digitcam_mqtt_state{state="not running"}'] == 1
    assert after["digitcam_outbox_depth"] == 0
    assert after["digitcam_uptime_seconds"] > 0
    prefix = "digitcam_reading_latency_seconds_bucket"
    buckets = {k.removeprefix(prefix): v for k, v in after.items() if k.startswith(prefix)}
    assert list(buckets.values()) == sorted(buckets.values()), "histogram buckets are cumulative"
    assert '{le="0.001"}' in buckets and '{le="1"}' in buckets, "bounds in seconds, 1 ms to 1 s"
    assert after["digitcam_reading_latency_seconds_sum"] < 10, "seconds, not milliseconds"


def test_readings_from_before_the_start_are_not_counted_again(
    make_client: Callable, first_of: Callable
) -> None:
    first = make_client()
    upload(first, encoded(on_paper(first_of(7))))
    first.__exit__(None, None, None)
    second = make_client()  # the same history file, a new process's counters
    assert parse_metrics(second.get("/metrics").text)['digitcam_readings_total{status="ok"}'] == 0
