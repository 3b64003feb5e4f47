"""GET /api/v1/performance on a history with corrections and labelled drawings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from edge.model import DigitModel
from edge.reading import utc_timestamp
from tests.api.conftest import encoded, on_paper, upload
from tests.api.test_readings import add_reading


def test_accuracy_counts_only_what_people_checked(client: TestClient, first_of: Callable) -> None:
    right = add_reading(client, "417")
    wrong = add_reading(client, "18")
    add_reading(client, "99")  # never corrected: not counted either way
    client.put(f"/api/v1/readings/{right}/correction", json={"value": "417"})
    client.put(f"/api/v1/readings/{wrong}/correction", json={"value": "13"})
    for digit in (2, 4):
        client.post(
            "/api/v1/labels",
            data={"label": str(digit)},
            files={"file": ("d.png", encoded(on_paper(first_of(digit))))},
        )
    report = client.get("/api/v1/performance").json()
    assert report["readings"] == {"count": 2, "correct": 1, "accuracy": 0.5}
    assert report["drawings"] == {"count": 2, "correct": 2, "accuracy": 1.0}
    # 3 + 2 digits of corrected readings (one wrong: the 8 of "18") and 2 drawings.
    assert report["examples"] == {"count": 7, "correct": 6, "accuracy": round(6 / 7, 4)}
    per_digit = {row["digit"]: row for row in report["per_digit"]}
    assert per_digit[3] == {"digit": 3, "count": 1, "correct": 0, "accuracy": 0.0}
    assert per_digit[4]["count"] == 2 and per_digit[4]["accuracy"] == 1.0
    assert per_digit[5]["accuracy"] is None


def test_calibration_puts_each_example_in_its_confidence_bucket(client: TestClient) -> None:
    seq = add_reading(client, "12")  # both digits at confidence 0.9
    client.put(f"/api/v1/readings/{seq}/correction", json={"value": "17"})
    buckets = client.get("/api/v1/performance").json()["calibration"]
    assert len(buckets) == 10
    top = buckets[9]
    assert (top["low"], top["count"], top["correct"], top["mean_confidence"]) == (0.9, 2, 1, 0.9)
    assert sum(b["count"] for b in buckets) == 2


def test_latency_percentiles_and_readings_per_hour(client: TestClient, first_of: Callable) -> None:
    uploaded = [upload(client, encoded(on_paper(first_of(1)))).json()["ts"] for _ in range(3)]
    earlier = utc_timestamp(datetime.now(timezone.utc) - timedelta(hours=3))
    add_reading(client, "5", ts=earlier)
    add_reading(client, "5", ts=utc_timestamp(datetime.now(timezone.utc) - timedelta(hours=30)))
    report = client.get("/api/v1/performance").json()
    latency = report["latency_ms"]
    assert latency["readings"] == 5
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"]
    hours = report["per_hour"]
    assert len(hours) == 24
    by_hour = {h["hour"][:13]: h["count"] for h in hours}
    assert by_hour[uploaded[0][:13]] == 3 and by_hour[earlier[:13]] == 1
    assert sum(h["count"] for h in hours) == 4, "the reading of 30 h ago is outside the window"


def test_the_model_is_described_from_its_metadata(client: TestClient) -> None:
    model = client.get("/api/v1/performance").json()["model"]
    assert model["version"].startswith("mnist-cnn-")
    assert 0.9 < model["mnist_test_accuracy"] <= 1.0


class CountingModel:
    """The real model, counting the images it is asked to classify."""

    def __init__(self, model: DigitModel) -> None:
        self.model = model
        self.images = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        self.images += len(batch)
        return self.model.predict(batch)


def add_drawing(client: TestClient, digit: int, image: np.ndarray) -> int:
    response = client.post(
        "/api/v1/labels",
        data={"label": str(digit)},
        files={"file": ("d.png", encoded(on_paper(image)))},
    )
    assert response.status_code == 201
    return int(response.json()["id"])


def test_drawings_are_classified_again_only_when_they_change(
    client: TestClient, first_of: Callable
) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    counting = CountingModel(services.model)
    services.model = counting
    for digit in (2, 4):
        add_drawing(client, digit, first_of(digit))

    def report() -> dict[str, Any]:
        body = client.get("/api/v1/performance").json()
        body.pop("per_hour")  # depends on the clock, which may cross an hour between requests
        return body

    first = report()
    assert first["drawings"] == {"count": 2, "correct": 2, "accuracy": 1.0}
    assert counting.images == 2
    assert report() == first
    assert counting.images == 2, "an unchanged set of drawings is not classified again"

    newest = add_drawing(client, 7, first_of(7))
    added = report()
    assert added["drawings"] == {"count": 3, "correct": 3, "accuracy": 1.0}
    assert added["examples"]["count"] == first["examples"]["count"] + 1
    assert counting.images == 5

    assert client.delete(f"/api/v1/labels/{newest}").status_code == 204
    assert report() == first
    assert counting.images == 7
