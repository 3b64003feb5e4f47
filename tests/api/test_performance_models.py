"""The Performance page's models side by side: per model version, its readings, corrections
and the device's labelled examples, before and after an install and a rollback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import encoded, on_paper
from tests.api.test_models import AUTH
from tests.edge.test_model_install import always_one


def read(client: TestClient, image: bytes) -> dict:
    response = client.post("/api/v1/predict", files={"file": ("d.png", image)}, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def rows(client: TestClient) -> dict[str, dict]:
    return {row["version"]: row for row in client.get("/api/v1/performance").json()["models"]}


def test_two_models_side_by_side_after_an_install_and_a_rollback(
    make_client: Callable[..., TestClient], first_of: Callable, tmp_path: Path
) -> None:
    from tests.api.conftest import TOKEN

    # The row reader (on by default) reads the 7 and would void the broken model's 1; this
    # test is about the page, so the digit model reads alone.
    client = make_client(api={"token": TOKEN}, model={"row_reader": False})
    seven, four = encoded(on_paper(first_of(7))), encoded(on_paper(first_of(4)))
    for image, digit in ((seven, 7), (four, 4)):
        client.post(
            "/api/v1/labels", data={"label": digit}, files={"file": ("d.png", image)}, headers=AUTH
        )
    shipped = read(client, seven)
    client.put(f"/api/v1/readings/{shipped['seq']}/correction", json={"value": "7"}, headers=AUTH)
    forced = client.post(
        "/api/v1/model?force=true",
        headers=AUTH,
        files={"file": ("one.onnx", always_one(tmp_path).read_bytes())},
    )
    assert forced.status_code == 201, forced.text
    ones = read(client, seven)
    assert ones["model"] == "mnist-cnn-always-one" and ones["value"] == "1"
    client.put(f"/api/v1/readings/{ones['seq']}/correction", json={"value": "7"}, headers=AUTH)

    after_install = rows(client)
    bad, good = after_install["mnist-cnn-always-one"], after_install[shipped["model"]]
    assert bad["in_use"] and not good["in_use"] and bad["installed"]
    assert bad["readings"] == 1 and bad["corrected"]["accuracy"] == 0.0
    assert good["readings"] == 1 and good["corrected"]["accuracy"] == 1.0
    # Two drawings and the two corrected 7s: every labelled example, whatever its source.
    assert bad["labels"] == {"count": 4, "correct": 0, "accuracy": 0.0}
    assert good["labels"] == {"count": 4, "correct": 4, "accuracy": 1.0}

    assert client.post("/api/v1/model/rollback", headers=AUTH).status_code == 200
    after_rollback = rows(client)
    assert after_rollback[shipped["model"]]["in_use"]
    # The rolled-back model's readings are history: still shown, no longer installed.
    assert after_rollback["mnist-cnn-always-one"]["readings"] == 1
    assert after_rollback["mnist-cnn-always-one"]["labels"] is None
