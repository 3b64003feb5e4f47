"""POST /api/v1/predict with JSON {"pixels": [784 values]}: the MNIST CSV format clients send."""

from __future__ import annotations

import base64
import json
from typing import Any

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

PIXELS = 28 * 28


def pixels_of(image: np.ndarray) -> list[int]:
    """A 28x28 uint8 image as an MNIST CSV row would give it: row by row, 0-255."""
    return [int(v) for v in image.reshape(-1)]


def post_json(client: TestClient, body: str, path: str = "/api/v1/predict", **params: str) -> Any:
    return client.post(
        path, content=body, params=params, headers={"Content-Type": "application/json"}
    )


def test_mnist_test_images_sent_as_pixels_are_read(client: TestClient, mnist: tuple) -> None:
    images, labels = mnist
    for image, label in zip(images[:20], labels[:20], strict=True):
        response = client.post("/api/v1/predict", json={"pixels": pixels_of(image)})
        assert response.status_code == 200, response.text
        reading = response.json()
        assert reading["digits"][0]["digit"] == label
        # The one unsure image among them (a 5, 86%) is reported unsure, not guessed.
        assert reading["value"] == (str(label) if reading["status"] == "ok" else None)
        assert reading["region"] == "pixels"
        assert reading["image_size"] == [28, 28]
        assert [d["box"] for d in reading["digits"]] == [[0, 0, 28, 28]]


def test_the_model_sees_the_pixels_as_sent_and_the_reading_is_kept(
    client: TestClient, mnist: tuple
) -> None:
    images, _ = mnist
    reading = client.post("/predict", json={"pixels": pixels_of(images[0])}).json()
    _, data = reading["digits"][0]["input"].split(",", 1)
    seen = cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), cv2.IMREAD_GRAYSCALE)
    assert np.array_equal(seen, images[0]), "no resizing or recentring of an MNIST image"
    assert reading["recorded"] is True
    stored = client.get("/api/v1/readings", params={"region": "pixels"}).json()["items"]
    assert [r["seq"] for r in stored] == [reading["seq"]]


def test_fractional_values_and_floats_are_accepted(client: TestClient, mnist: tuple) -> None:
    images, labels = mnist
    values = [v / 1.0 + (0.4 if v < 255 else 0.0) for v in pixels_of(images[1])]
    response = client.post("/api/v1/predict", json={"pixels": values}, params={"record": "false"})
    assert response.status_code == 200, response.text
    assert response.json()["value"] == str(labels[1])


def test_an_empty_field_is_no_digit(client: TestClient) -> None:
    reading = client.post("/api/v1/predict", json={"pixels": [0] * PIXELS}).json()
    assert (reading["status"], reading["value"], reading["digits"]) == ("no_digit", None, [])


def many(value: str, count: int = PIXELS, at: int = 100) -> str:
    """A pixels JSON of `count` zeros with `value` (raw JSON text) at position `at`."""
    values = ["0"] * count
    if 0 <= at < count:
        values[at] = value
    return '{"pixels": [' + ",".join(values) + "]}"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (many("0", 783), "783 values"),
        (many("0", 785), "785 values"),
        ('{"pixels": []}', "0 values"),
        (many('"12"'), "valid number"),
        (many("null"), "valid number"),
        (many("true"), "valid number"),
        (many("[1]"), "valid number"),
        (many("-1"), "greater than or equal to 0"),
        (many("256"), "less than or equal to 255"),
        (many("NaN"), "finite number"),
        (many("Infinity"), "finite number"),
        (many("1e999"), "finite number"),
        ('{"pixels": "0,0,0"}', "valid array"),
        ("[0, 0, 0]", "object"),
        ("{}", "required"),
        ('{"pixels": [0], "label": 7}', "label"),
        ('{"pixels": [0, 0', "JSON"),
    ],
    ids=[
        "783",
        "785",
        "none",
        "string",
        "null",
        "bool",
        "nested",
        "negative",
        "over-255",
        "nan",
        "infinity",
        "overflow",
        "csv-string",
        "bare-list",
        "missing",
        "extra-key",
        "broken-json",
    ],
)
def test_bad_pixels_are_a_clear_422_and_nothing_is_stored(
    client: TestClient, body: str, words: str
) -> None:
    response = post_json(client, body)
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert errors[0]["loc"][0] == "body"
    assert any(words in f"{e['msg']} {e['loc']}" for e in errors), errors
    if body.startswith(many("0")[:20]) and "values" not in words:
        assert errors[0]["loc"][:3] == ["body", "pixels", 100], "names the bad value's position"
    assert client.get("/api/v1/readings").json()["items"] == []


def test_pixels_and_the_camera_together_is_a_usage_error(client: TestClient) -> None:
    response = post_json(client, json.dumps({"pixels": [0] * PIXELS}), use_camera="true")
    assert response.status_code == 400
    assert "not both" in response.json()["detail"]


def test_an_oversized_pixels_body_is_refused_before_parsing(client: TestClient) -> None:
    body = '{"pixels": [' + ",".join(["0" + " " * 200] * PIXELS) + "]}"
    response = post_json(client, body)
    assert response.status_code == 413
    assert "pixels" in response.json()["detail"]


def test_no_body_says_what_to_send(client: TestClient) -> None:
    response = client.post("/api/v1/predict")
    assert response.status_code == 400
    assert "pixels" in response.json()["detail"] and "file" in response.json()["detail"]


def test_the_schema_documents_the_json_body(client: TestClient) -> None:
    body = client.get("/openapi.json").json()["paths"]["/api/v1/predict"]["post"]["requestBody"]
    assert set(body["content"]) == {"multipart/form-data", "application/json"}
    pixels = body["content"]["application/json"]["schema"]["properties"]["pixels"]
    assert (pixels["minItems"], pixels["maxItems"]) == (PIXELS, PIXELS)
