"""Corrections that always teach: the reading's frame kept, and digits boxed by a person."""

from __future__ import annotations

import base64
from collections.abc import Callable

import cv2
import numpy as np
from fastapi.testclient import TestClient

from edge.model import load_model
from edge.store.frames import FRAMES_KEPT
from tests.api.conftest import encoded, on_paper


def faint(image: np.ndarray) -> np.ndarray:
    """A digit so faint the reader finds none: a no_digit reading a person can still see."""
    return (255 - (255 - image.astype(np.int32)) * 0.06).astype(np.uint8)


def test_a_no_digit_reading_is_corrected_by_boxing_its_digits(
    client: TestClient, first_of: Callable
) -> None:
    photo = faint(on_paper(first_of(4), first_of(7), height_px=120))
    reading = client.post("/api/v1/predict", files={"file": ("faint.png", encoded(photo))}).json()
    assert reading["status"] == "no_digit"
    frame = client.get(f"/api/v1/readings/{reading['seq']}/frame").json()
    assert frame["origin"] == [0, 0] and frame["image"].startswith("data:image/jpeg;base64,")
    kept = cv2.imdecode(np.frombuffer(base64.b64decode(frame["image"].split(",")[1]), np.uint8), 0)
    assert kept.shape[1] * frame["scale"] >= photo.shape[1] - 2  # the whole region, maybe smaller

    gap, size = 24, 120  # where on_paper put the two digits
    boxes = [[gap, gap, size, size], [2 * gap + size, gap, size, size]]
    fixed = client.put(
        f"/api/v1/readings/{reading['seq']}/correction", json={"value": "47", "boxes": boxes}
    ).json()
    assert fixed["corrected_value"] == "47" and len(fixed["labels_added"]) == 2
    labels = client.get("/api/v1/labels").json()["items"]
    assert [(item["label"], item["source"]) for item in labels] == [
        (4, "correction"),
        (7, "correction"),
    ]


def test_boxes_that_do_not_fit_the_value_or_hold_no_digit_make_no_examples_and_say_why(
    client: TestClient, first_of: Callable
) -> None:
    photo = on_paper(first_of(4), height_px=120)
    seq = client.post("/api/v1/predict", files={"file": ("4.png", encoded(photo))}).json()["seq"]
    url = f"/api/v1/readings/{seq}/correction"
    two = client.put(url, json={"value": "4", "boxes": [[0, 0, 10, 10], [10, 0, 10, 10]]}).json()
    assert two["corrected_value"] == "4" and two["labels_added"] == []
    assert "one per digit of the value (1), got 2" in two["labels_note"]
    empty = client.put(url, json={"value": "4", "boxes": [[0, 0, 20, 20]]}).json()
    assert empty["labels_added"] == [] and "no digit found in it" in empty["labels_note"]
    # The person said the reader's own crop was wrong: it is not made an example either.
    assert client.get("/api/v1/labels").json()["items"] == []


def test_only_the_newest_readings_keep_their_frame(client: TestClient) -> None:
    assert FRAMES_KEPT >= 100
    missing = client.get("/api/v1/readings/99/frame")
    assert missing.status_code == 404 and "no reading with seq 99" in missing.text


def test_a_boxed_digit_is_normalised_as_the_reader_normalises_one(
    client: TestClient, first_of: Callable
) -> None:
    photo = faint(on_paper(first_of(9), height_px=150))
    seq = client.post("/api/v1/predict", files={"file": ("9.png", encoded(photo))}).json()["seq"]
    client.put(
        f"/api/v1/readings/{seq}/correction", json={"value": "9", "boxes": [[30, 30, 150, 150]]}
    )
    (item,) = client.get("/api/v1/labels").json()["items"]
    png = base64.b64decode(item["input"].split(",")[1])
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image.shape == (28, 28)
    assert load_model(None).predict(image[None, None].astype(np.float32) / 255).argmax() == 9
