"""Setting a meter's value: the daemon told over MQTT (`cmd/set_value`) and over its API, and
what `digitcam serve` can and cannot do with a meter."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import paho.mqtt.publish as mqtt_publish
import pytest
from fastapi.testclient import TestClient

from edge.api.factory import create_app
from edge.api.services import Services
from edge.app import App
from edge.config import Settings
from edge.meter.plausible import MeterState
from edge.store import Store
from tests.api.conftest import TOKEN
from tests.api.test_health_metrics import parse_metrics
from tests.api.test_prometheus import promtool_check
from tests.conftest import Broker, wait_until
from tests.edge.test_app import readings_of
from tests.edge.test_meter_reading import lcd_meter_frames

SHOWN = "0012345"  # what the electricity meter's LCD shows: 001234.5 kWh


def power(box: list[int]) -> dict[str, Any]:
    # confirm_readings 100: a wrong level sticks for as long as a test runs, as one would
    # for a long while on a meter read every few minutes.
    return {
        "name": "power",
        "kind": "display",
        "box": box,
        "digits": 7,
        "decimals": 1,
        "device_class": "energy",
        "unit": "kWh",
        "confirm_readings": 100,
        "align": True,
    }


@pytest.fixture
def meter_daemon(
    tmp_path: Path, make_settings: Callable[..., Settings], mosquitto: Broker
) -> Iterator[App]:
    """The daemon reading one LCD frame over and over, its API and MQTT on, with a wrong level
    in its store: the first reading it ever made was misread 100 kWh high and accepted."""
    box = lcd_meter_frames(tmp_path / "lcd", [SHOWN], decimals=1)
    settings = make_settings(
        api={"enabled": True, "port": 0, "token": TOKEN},
        camera={"source": str(tmp_path / "lcd"), "fps": 2},
        mqtt={"host": mosquitto.host, "port": mosquitto.port},
        regions=[power(box)],
    )
    store = Store(settings.storage.path, outbox_max=100)
    store.save_meter_state("power", MeterState(value=1334.5, ts_s=time.time()).to_dict())
    store.close()
    app = App(settings)
    app.start()
    thread = threading.Thread(target=app.run, daemon=True)
    thread.start()
    yield app
    app.stop_event.set()
    thread.join(10)
    app.stop()


def latest(sub: Any) -> dict[str, Any] | None:
    readings = readings_of(sub)
    return readings[-1] if readings else None


def test_a_wrong_level_is_set_right_over_mqtt_and_the_api_and_bad_values_lose_nothing(
    meter_daemon: App, mosquitto: Broker, subscriber: Callable
) -> None:
    sub = subscriber(mosquitto, ["digitcam/#"])
    url, auth = meter_daemon.api.url, {"Authorization": f"Bearer {TOKEN}"}
    wait_until(lambda: (r := latest(sub)) and r["status"] == "implausible", 30, "refused")
    assert latest(sub)["raw_value"] == "001234.5"  # right, and refused: below the wrong level
    meter = httpx.get(f"{url}/api/v1/meters/power").json()
    assert (meter["value"], meter["pending"]) == ("1334.5", "1234.5")
    # The first frame read gave the alignment reference; the camera stands still.
    assert (meter["shift"], meter["unmatched_frames"]) == ([0, 0], 0)

    def command(payload: str) -> None:
        topic = "digitcam/testcam/cmd/set_value"
        mqtt_publish.single(topic, payload, qos=1, hostname=mosquitto.host, port=mosquitto.port)

    # A typo is refused, counted and changes nothing.
    command('{"region": "power", "value": "1234.56"}')
    health = lambda: httpx.get(f"{url}/health").json()  # noqa: E731
    wait_until(lambda: health()["broker"]["refused_commands"] == 1, 30, "the typo counted")
    assert httpx.get(f"{url}/api/v1/meters/power").json()["value"] == "1334.5"

    # The person reads the meter and says what it shows: the readings are published again.
    command('{"region": "power", "value": 1234.5}')
    sub.clear()
    wait_until(lambda: (r := latest(sub)) and r["status"] == "ok", 30, "an ok reading")
    assert latest(sub)["value"] == "001234.5"
    meter = httpx.get(f"{url}/api/v1/meters").json()["meters"][0]
    assert (meter["region"], meter["value"], meter["pending"]) == ("power", "1234.5", None)
    assert meter["set_by_hand"] is False  # readings have been accepted since it was set

    # The API sets it too, with the token only; a value the display cannot show is a 422.
    body = {"value": "1300"}
    assert httpx.put(f"{url}/api/v1/meters/power", json=body).status_code == 401
    wrong = httpx.put(f"{url}/api/v1/meters/power", json={"value": "12345678"}, headers=auth)
    assert wrong.status_code == 422
    assert "at most 6 digit(s) before the decimal point" in json.dumps(wrong.json())
    missing = httpx.put(f"{url}/api/v1/meters/water", json=body, headers=auth)
    assert missing.status_code == 404 and "this device's: power" in missing.json()["detail"]
    answer = httpx.put(f"{url}/api/v1/meters/power", json=body, headers=auth)
    assert answer.status_code == 200 and answer.json()["value"] == "1300.0"
    assert answer.json()["set_by_hand"] is True
    sub.clear()
    wait_until(lambda: (r := latest(sub)) and r["status"] == "implausible", 30, "refused again")

    # The alignment reference is taken again from the next frame read ok, on request.
    retake = f"{url}/api/v1/meters/power/reference"
    assert httpx.delete(retake).status_code == 401
    dropped = httpx.delete(retake, headers=auth)
    assert dropped.status_code == 200 and dropped.json()["shift"] is None
    meter_ = lambda: httpx.get(f"{url}/api/v1/meters/power").json()  # noqa: E731
    wait_until(lambda: meter_()["shift"] == [0, 0], 30, "a new reference")


def test_serve_shows_the_stored_values_and_leaves_setting_them_to_the_daemon(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(
        regions=[
            {"name": "main", "kind": "number"},
            power([0, 0, 70, 20]),
            {"name": "gas", "kind": "counter", "digits": 8, "decimals": 3},
        ]
    )
    store = Store(settings.storage.path, outbox_max=10)
    store.save_meter_state("power", MeterState(value=1234.5, ts_s=0.0).to_dict())
    store.close()
    with TestClient(create_app(Services(settings)), base_url="http://localhost") as client:
        meters = client.get("/api/v1/meters").json()["meters"]
        assert meters == [
            {
                "region": "power",
                "kind": "display",
                "value": "1234.5",
                "accepted_at": "1970-01-01T00:00:00.000Z",
                "set_by_hand": False,
                "pending": None,
                "pending_readings": 0,
                "confirm_readings": 100,
                "shift": None,  # only the daemon aligns
                "unmatched_frames": None,
            },
            {
                "region": "gas",
                "kind": "counter",
                "value": None,
                "accepted_at": None,
                "set_by_hand": False,
                "pending": None,
                "pending_readings": 0,
                "confirm_readings": 3,
                "shift": None,
                "unmatched_frames": None,
            },
        ]
        refused = client.put("/api/v1/meters/power", json={"value": "1300"})
        assert refused.status_code == 409 and "digitcam run" in refused.json()["detail"]
        retake = client.delete("/api/v1/meters/power/reference")
        assert retake.status_code == 409 and "serve" in retake.json()["detail"]
        assert client.get("/api/v1/meters/main").status_code == 404  # not a meter


def test_health_says_when_an_aligned_meter_is_lost(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    # The camera was knocked 70 px away (align_max_shift is 40): after the frames where the
    # boxes were set, the meter is nowhere near where it was. Five frames where it was: the
    # camera keeps only the newest frame, and a frame dropped while the daemon starts would
    # leave it only knocked frames to take the meter's place from.
    folder = tmp_path / "lcd"
    box = lcd_meter_frames(folder, [SHOWN], decimals=1)
    frame = cv2.imread(str(folder / "lcd_0000.jpg"))
    knocked = cv2.warpAffine(frame, np.float32([[1, 0, 70], [0, 1, 0]]), frame.shape[1::-1])
    for n in range(1, 35):
        cv2.imwrite(str(folder / f"lcd_{n:04d}.jpg"), frame if n < 5 else knocked)
    settings = make_settings(
        api={"enabled": True, "port": 0},
        camera={"source": str(folder), "fps": 10, "loop": False},
        regions=[power(box)],
    )
    app = App(settings)
    app.start()
    thread = threading.Thread(target=app.run, daemon=True)
    thread.start()
    try:
        url = app.api.url
        # Waited for by its reason, not by the status alone: health is degraded at start-up too
        # ("camera not started"), before the first frame has been read.
        lost = "region power: the meter was not found in the last"

        def said() -> bool:
            answer = httpx.get(f"{url}/health")
            return answer.status_code == 503 and any(lost in r for r in answer.json()["reasons"])

        wait_until(said, 30, "degraded for the lost meter")
        health = httpx.get(f"{url}/health").json()
        assert health["meters"]["power"]["unmatched_frames"] >= 10
        text = httpx.get(f"{url}/metrics").text
        assert promtool_check(text).returncode == 0, promtool_check(text).stderr
        metrics = parse_metrics(text)
        assert metrics['digitcam_meter_unmatched_frames{region="power"}'] >= 10
        assert metrics['digitcam_meter_shift_pixels{region="power",axis="x"}'] == 0
    finally:
        app.stop_event.set()
        thread.join(10)
        app.stop()
