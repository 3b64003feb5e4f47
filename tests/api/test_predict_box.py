"""POST /api/v1/predict with `box`: one part of an image read, as a configured region reads it.

What a person setting up a region needs: draw the box on a camera frame, see what the device
reads there, copy the box into the configuration, and get the same reading from the daemon.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from fastapi.testclient import TestClient

from edge.config_load import load_settings
from edge.meter.printed import printed_models
from edge.model import DigitModel
from edge.reader import FrameReader
from tests.api.conftest import encoded, on_paper, upload

ROOT = Path(__file__).resolve().parents[2]
METER = ROOT / "mock_frames" / "meter"


def meter_frame() -> tuple[Path, dict]:
    name, want = sorted(json.loads((METER / "expected.json").read_text()).items())[0]
    return METER / name, want


def test_a_box_reads_a_meter_frame_s_counter_as_the_daemon_s_region_does(
    client: TestClient, model: DigitModel
) -> None:
    path, want = meter_frame()
    box = want["region"]["box"]
    image = path.read_bytes()
    whole = upload(client, image, "meter.jpg", "/api/v1/predict", kind="counter", digits=6)
    assert whole.status_code == 200 and whole.json()["region_box"] is None
    assert whole.json()["value"] != want["value"].replace(".", "")  # the faceplate is no counter
    boxed = upload(
        client, image, "meter.jpg", "/api/v1/predict", kind="counter", digits=6,
        box=",".join(map(str, box)),
    )  # fmt: skip
    assert boxed.status_code == 200, boxed.text
    reading = boxed.json()
    assert reading["value"] == want["value"].replace(".", "")
    assert reading["region_box"] == box and reading["image_size"] == [640, 480]
    x, y, w, h = box
    for digit in reading["digits"]:  # frame pixels, inside the box
        dx, dy, dw, dh = digit["box"]
        assert x <= dx and dx + dw <= x + w + 1 and y <= dy and dy + dh <= y + h + 1
    # The configuration's region with that box reads the frame the same, wheel by wheel.
    settings = load_settings(ROOT / "config" / "meter.toml")
    printed, display = printed_models(settings.model, ["counter"])
    reader = FrameReader.configured(settings, model, printed=printed, display=display)
    daemon = reader.read(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), path.name, 0)[0]
    assert [d["digit"] for d in reading["digits"]] == [d.digit for d in daemon.digits]
    assert [d["box"] for d in reading["digits"]] == [list(d.box) for d in daemon.digits]


def test_a_box_picks_one_number_of_a_page(
    client: TestClient, first_of: Callable[[int], np.ndarray]
) -> None:
    top = on_paper(first_of(1), first_of(2), height_px=80)
    bottom = on_paper(first_of(3), first_of(4), first_of(5), height_px=80)
    page = np.full((top.shape[0] + bottom.shape[0], bottom.shape[1]), 255, np.uint8)
    page[: top.shape[0], : top.shape[1]] = top
    page[top.shape[0] :] = bottom
    below = f"[0, {top.shape[0]}, {bottom.shape[1]}, {bottom.shape[0]}]"  # as TOML writes it
    above = f"0,0,{top.shape[1]},{top.shape[0]}"
    image = encoded(page)
    assert upload(client, image, path="/api/v1/predict", box=below).json()["value"] == "345"
    # As a form field too, as the page sends it.
    response = client.post(
        "/api/v1/predict",
        files={"file": ("page.png", image, "image/png")},
        data={"box": above, "kind": "number"},
    )
    assert response.status_code == 200 and response.json()["value"] == "12"


def test_a_box_past_the_image_s_edge_is_cut_to_it(client: TestClient) -> None:
    path, want = meter_frame()
    x, y, w, h = want["region"]["box"]
    response = upload(
        client, path.read_bytes(), "meter.jpg", "/api/v1/predict", kind="counter", digits=6,
        box=f"{x},{y},{w + 1000},{h}",
    )  # fmt: skip
    assert response.status_code == 200
    assert response.json()["region_box"] == [x, y, 640 - x, h]


def test_a_box_that_cannot_be_read_is_refused_with_the_reason(client: TestClient) -> None:
    path, _ = meter_frame()
    image = path.read_bytes()
    for box, code, says in [
        ("149,173,338", 422, "four whole numbers x,y,w,h"),
        ("149;173;338;99", 422, "four whole numbers x,y,w,h"),
        ("-1,0,50,50", 422, "four whole numbers x,y,w,h"),
        ("0,0,1,1", 422, "at least 8 pixels"),
        ("700,100,50,50", 400, "lies outside the 640x480 image"),
        ("636,100,50,50", 400, "lies outside the 640x480 image"),  # 4 px of it on the image
    ]:
        response = upload(client, image, path="/api/v1/predict", box=box)
        assert response.status_code == code, (box, response.text)
        detail = response.json()["detail"]
        if code == 422:  # FastAPI's validation format, naming the field
            assert detail[0]["loc"] == ["query", "box"] and detail[0]["input"] == box
            detail = detail[0]["msg"]
        assert says in detail, box
    form = client.post("/api/v1/predict", files={"file": ("m.jpg", image)}, data={"box": "1,2"})
    assert form.status_code == 422 and form.json()["detail"][0]["loc"] == ["body", "box"]
    pixels = client.post("/api/v1/predict?box=0,0,28,28", json={"pixels": [0] * 784})
    assert pixels.status_code == 400 and "not with pixels" in pixels.json()["detail"]
    assert client.get("/api/v1/readings").json()["items"] == []  # nothing stored


def test_a_camera_capture_reads_the_box(make_client: Callable[..., TestClient]) -> None:
    _, want = meter_frame()
    client = make_client(camera={"source": str(METER), "loop": True})
    box = ",".join(map(str, want["region"]["box"]))
    response = client.post(
        "/api/v1/predict", data={"use_camera": "true", "kind": "counter", "digits": "6", "box": box}
    )
    assert response.status_code == 200, response.text
    reading = response.json()
    assert reading["region_box"] == want["region"]["box"]
    assert reading["image"].startswith("data:image/jpeg;base64,")  # the whole frame, to draw on
    assert reading["value"] is not None and len(reading["digits"]) == 6


def test_a_camera_mounted_upside_down_is_boxed_and_read_upright(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    path, want = meter_frame()
    upside_down = cv2.rotate(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), cv2.ROTATE_180)
    cv2.imwrite(str(tmp_path / "frame.png"), upside_down)
    client = make_client(camera={"source": str(tmp_path), "loop": True, "rotate": 180})
    box = ",".join(map(str, want["region"]["box"]))  # set on the upright frame
    response = client.post(
        "/api/v1/predict", data={"use_camera": "true", "kind": "counter", "digits": "6", "box": box}
    )
    assert response.status_code == 200, response.text
    reading = response.json()
    assert reading["value"] == want["value"].replace(".", "")
    assert reading["image_size"] == [640, 480]
    # The capture the page draws on is the upright frame.
    data = base64.b64decode(reading["image"].split(",", 1)[1])
    shown = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    upright = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE).astype(int)
    assert np.abs(shown.astype(int) - upright).mean() < 3  # the same picture, after JPEG
