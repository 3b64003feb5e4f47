"""POST /api/v1/predict with kind counter or display: a meter read through the API."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import cv2
from fastapi.testclient import TestClient

from tests.api.conftest import upload

ROOT = Path(__file__).resolve().parents[2]
COUNTER = ROOT / "mock_frames" / "meter"


def counter_window() -> tuple[bytes, str]:
    """The counter window of the first meter frame as PNG, and the value it shows."""
    name, want = sorted(json.loads((COUNTER / "expected.json").read_text()).items())[0]
    x, y, w, h = want["region"]["box"]
    window = cv2.imread(str(COUNTER / name))[y : y + h, x : x + w]
    ok, png = cv2.imencode(".png", window)
    assert ok
    return png.tobytes(), want["value"].replace(".", "")


def test_a_counter_window_is_read_wheel_by_wheel_and_kept_with_its_positions(
    client: TestClient,
) -> None:
    image, value = counter_window()
    response = upload(client, image, "window.png", path="/api/v1/predict", kind="counter", digits=6)
    assert response.status_code == 200, response.text
    reading = response.json()
    assert reading["value"] == value and reading["model"].startswith("printed-cnn-")
    assert [round(d["position"]) % 10 for d in reading["digits"]][:3] == [0, 0, 1]
    stored = client.get("/api/v1/readings").json()["items"][0]
    assert stored["seq"] == reading["seq"] and stored["digits"][5]["position"] is not None


def test_digits_with_the_digit_kind_is_refused(client: TestClient) -> None:
    image, _ = counter_window()
    response = upload(client, image, path="/api/v1/predict", kind="digit", digits=6)
    assert response.status_code == 400
    assert "a digit is one digit" in response.json()["detail"]


def test_a_wrong_printed_model_is_a_503_naming_it_and_handwriting_still_reads(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    broken = tmp_path / "printed.onnx"
    broken.write_bytes(b"not a model")
    client = make_client(model={"printed_path": str(broken)})
    image, _ = counter_window()
    response = upload(client, image, path="/api/v1/predict", kind="counter")
    assert response.status_code == 503 and str(broken) in response.json()["detail"]
    assert upload(client, image, path="/api/v1/predict").status_code == 200


def test_a_wrong_display_model_is_a_503_for_displays_only(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    broken = tmp_path / "display.onnx"
    broken.write_bytes(b"not a model")
    client = make_client(model={"display_path": str(broken)})
    image, value = counter_window()
    response = upload(client, image, path="/api/v1/predict", kind="display", digits=6)
    assert response.status_code == 503 and "model.display_path" in response.json()["detail"]
    counter = upload(client, image, path="/api/v1/predict", kind="counter", digits=6)
    assert counter.status_code == 200 and counter.json()["value"] == value


def test_a_wrong_run_reader_is_a_503_for_numbers_naming_it_and_digits_still_read(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    broken = tmp_path / "runs.onnx"
    broken.write_bytes(b"not a model")
    client = make_client(model={"runs_path": str(broken)})
    image, _ = counter_window()
    response = upload(client, image, path="/api/v1/predict", kind="number")
    assert response.status_code == 503 and "model.runs_path" in response.json()["detail"]
    assert upload(client, image, path="/api/v1/predict", kind="digit").status_code == 200
    # Without one, numbers are read as always.
    plain = make_client()
    assert upload(plain, image, path="/api/v1/predict", kind="number").status_code == 200


def test_a_wrong_row_reader_is_a_503_for_numbers_and_digits_naming_it(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    broken = tmp_path / "rows.onnx"
    broken.write_bytes(b"not a model")
    client = make_client(model={"rows_path": str(broken)})
    image, _ = counter_window()
    for kind in ("number", "digit"):
        response = upload(client, image, path="/api/v1/predict", kind=kind)
        assert response.status_code == 503 and "model.rows_path" in response.json()["detail"]
    assert upload(client, image, path="/api/v1/predict", kind="counter").status_code == 200
    # Switched off, nothing is loaded and both read as always.
    off = make_client(model={"rows_path": str(broken), "row_reader": False})
    for kind in ("number", "digit"):
        assert upload(off, image, path="/api/v1/predict", kind=kind).status_code == 200
