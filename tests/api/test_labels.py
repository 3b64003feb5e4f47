"""Labelled examples: a drawing becomes one, they list and delete, and they export for training."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import encoded, on_paper
from training.extra_data import load_extra_data


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1])


def add_label(client: TestClient, image: np.ndarray, label: int | str) -> dict:
    response = client.post(
        "/api/v1/labels",
        data={"label": str(label)},
        files={"file": ("drawing.png", encoded(image))},
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_drawing_becomes_a_normalised_example(client: TestClient, first_of: Callable) -> None:
    added = add_label(client, on_paper(first_of(3)), 3)
    assert added["label"] == 3 and added["source"] == "drawing"
    listed = client.get("/api/v1/labels").json()["items"]
    assert [item["id"] for item in listed] == [added["id"]]
    assert listed[0]["input"].startswith("data:image/png;base64,")


@pytest.mark.parametrize("label", ["10", "-1", "seven"])
def test_a_label_must_be_a_digit(client: TestClient, first_of: Callable, label: str) -> None:
    response = client.post(
        "/api/v1/labels",
        data={"label": label},
        files={"file": ("d.png", encoded(on_paper(first_of(3))))},
    )
    assert response.status_code == 422


def test_a_blank_drawing_is_refused(client: TestClient) -> None:
    blank = encoded(np.full((280, 280), 255, np.uint8))
    response = client.post(
        "/api/v1/labels", data={"label": "3"}, files={"file": ("blank.png", blank)}
    )
    assert response.status_code == 400
    assert "no digit found" in response.json()["detail"]


def test_a_label_can_be_deleted(client: TestClient, first_of: Callable) -> None:
    added = add_label(client, on_paper(first_of(3)), 3)
    assert client.delete(f"/api/v1/labels/{added['id']}").status_code == 204
    assert client.get("/api/v1/labels").json()["items"] == []
    assert client.delete(f"/api/v1/labels/{added['id']}").status_code == 404


@pytest.mark.parametrize("fmt", ["idx", "png"])
def test_the_export_is_what_train_extra_data_reads(
    client: TestClient, mnist: tuple, tmp_path: Path, fmt: str
) -> None:
    images, labels = mnist
    chosen = [int(np.flatnonzero(labels == d)[0]) for d in (0, 5, 8, 5)]
    for index in chosen:
        add_label(client, on_paper(images[index]), int(labels[index]))
    response = client.get("/api/v1/labels/export", params={"format": fmt})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert f"digitcam-labels-{fmt}.zip" in response.headers["content-disposition"]
    folder = tmp_path / "extra"
    zipfile.ZipFile(io.BytesIO(response.content)).extractall(folder)
    x, y = load_extra_data([folder])
    assert sorted(y.tolist()) == [0, 5, 5, 8]
    assert x.shape == (4, 28, 28) and x.dtype == np.uint8
    # White digits on black, like MNIST, and close to the original digits.
    assert all(image[0].max() < 30 and image.max() > 200 for image in x)
    for image, label in zip(x, y, strict=True):
        originals = [images[i] for i in chosen if labels[i] == label]
        assert max(similarity(image, original) for original in originals) > 0.6


def test_an_empty_export_is_still_a_valid_archive(client: TestClient) -> None:
    response = client.get("/api/v1/labels/export")
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert sorted(names) == ["images-idx3-ubyte.gz", "labels-idx1-ubyte.gz"]


def test_the_stored_crop_is_the_original_ink(client: TestClient, first_of: Callable) -> None:
    add_label(client, on_paper(first_of(2)), 2)
    store = client.app.state.services.store  # type: ignore[attr-defined]
    crop = cv2.imdecode(np.frombuffer(store.labels()[0].png, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert crop.shape[0] > 150, "the crop keeps the photo's resolution"
    assert crop.mean() > 128, "and its colours: dark ink on light paper"


def test_a_label_given_twice_is_refused(client: TestClient, first_of: Callable) -> None:
    image = encoded(on_paper(first_of(3)))
    response = client.post(
        "/api/v1/labels", data={"label": ["8", "3"]}, files={"file": ("d.png", image)}
    )
    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert error["loc"] == ["body", "label"] and "given 2 times" in error["msg"]
    assert client.get("/api/v1/labels").json()["items"] == []
