"""POST /api/v1/model, /api/v1/model/rollback and GET /api/v1/models, through the real app."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import TOKEN, encoded, on_paper
from tests.edge.test_model_install import always_one, renamed_copy

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_a_model_is_installed_over_http_and_read_with_at_once(
    make_client: Callable[..., TestClient], first_of: Callable, tmp_path: Path
) -> None:
    client = make_client(api={"token": TOKEN})
    model = renamed_copy(tmp_path, "over-http").read_bytes()
    assert client.post("/api/v1/model", files={"file": ("m.onnx", model)}).status_code == 401
    response = client.post("/api/v1/model", files={"file": ("m.onnx", model)}, headers=AUTH)
    assert response.status_code == 201, response.text
    assert response.json()["installed"]["version"] == "mnist-cnn-over-http"
    photo = encoded(on_paper(first_of(7)))
    reading = client.post("/api/v1/predict", files={"file": ("7.png", photo)}, headers=AUTH)
    assert reading.json()["model"] == "mnist-cnn-over-http"
    listing = client.get("/api/v1/models").json()
    assert listing["in_use"] == "mnist-cnn-over-http" and listing["models"][0]["active"]
    back = client.post("/api/v1/model/rollback", headers=AUTH)
    assert back.status_code == 200 and back.json() == {"active": None}
    reading = client.post("/api/v1/predict", files={"file": ("7.png", photo)}, headers=AUTH)
    assert reading.json()["model"].startswith("mnist-cnn-2")  # the shipped model again


def test_a_file_that_is_no_model_is_refused_naming_the_upload_not_a_temporary_path(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client()
    response = client.post("/api/v1/model", files={"file": ("notes.onnx", b"hello")})
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("refused:") and "notes.onnx" in detail and "/tmp" not in detail


def test_force_overrides_the_score_but_a_worse_model_is_refused_without_it(
    make_client: Callable[..., TestClient], first_of: Callable, tmp_path: Path
) -> None:
    client = make_client()
    seven = encoded(on_paper(first_of(7)))
    for _ in range(3):  # labelled examples on the device: three drawn 7s
        assert client.post("/api/v1/labels", data={"label": 7}, files={"file": ("7.png", seven)})
    worse = always_one(tmp_path).read_bytes()
    refused = client.post("/api/v1/model", files={"file": ("one.onnx", worse)})
    assert refused.status_code == 409 and "labelled examples" in refused.json()["detail"]
    forced = client.post("/api/v1/model?force=true", files={"file": ("one.onnx", worse)})
    assert forced.status_code == 201, forced.text
    assert forced.json()["check"]["accuracy"] == 0.0
