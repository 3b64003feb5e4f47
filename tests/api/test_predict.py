"""POST /predict and /api/v1/draw with real image files, good and bad, and the camera."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import encoded, on_paper, upload


def decode_data_url(url: str) -> np.ndarray:
    import base64

    header, data = url.split(",", 1)
    assert header == "data:image/png;base64"
    image = cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), cv2.IMREAD_UNCHANGED)
    assert image is not None
    return image


@pytest.mark.parametrize("digit", [1, 2, 4, 7, 9])
def test_a_handwritten_digit_on_paper_is_read(
    client: TestClient, first_of: Callable, digit: int
) -> None:
    response = upload(client, encoded(on_paper(first_of(digit)), ".jpg"), "photo.jpg")
    assert response.status_code == 200, response.text
    reading = response.json()
    assert reading["value"] == str(digit)
    assert reading["status"] == "ok"
    assert reading["region"] == "upload"
    assert reading["frame"]["source"] == "photo.jpg"
    assert reading["model"].startswith("mnist-cnn-")


def test_a_number_is_read_left_to_right_with_top3_and_the_models_view(
    client: TestClient, first_of: Callable
) -> None:
    response = upload(client, encoded(on_paper(first_of(4), first_of(1), first_of(7))))
    reading = response.json()
    assert reading["value"] == "417"
    assert [d["digit"] for d in reading["digits"]] == [4, 1, 7]
    xs = [d["box"][0] for d in reading["digits"]]
    assert xs == sorted(xs)
    for digit in reading["digits"]:
        assert digit["top3"][0]["digit"] == digit["digit"]
        assert len({alt["digit"] for alt in digit["top3"]}) == 3
        confidences = [alt["confidence"] for alt in digit["top3"]]
        assert confidences == sorted(confidences, reverse=True)
        seen = decode_data_url(digit["input"])
        assert seen.shape == (28, 28)
        # MNIST convention: white digit on a black field.
        assert seen[0, :].max() < 30 and seen.max() > 200


def test_a_number_the_row_reader_read_whole_says_so_and_its_correction_teaches_nothing(
    client: TestClient, mnist: tuple[np.ndarray, np.ndarray]
) -> None:
    """MNIST's 0, 1 and 8 (sample indices 297, 40, 181): the finder takes the 0 and the 1,
    which touch, for one unsure 0; the row reader is sure of 018. Its digits keep no views of
    the finder's cuts."""
    from tests.edge.test_rows import write

    images, _ = mnist
    frame = write(images, [297, 40, 181], [100, 174, 248], [200] * 3, [70] * 3)
    reading = upload(client, encoded(frame), path="/api/v1/predict", kind="number").json()
    assert (reading["value"], reading["status"], reading["read_whole"]) == ("018", "ok", True)
    assert reading["row_reader"].startswith("rows-ctc-")
    assert [d["input"] for d in reading["digits"]] == [None] * 3
    assert [d["top3"][0]["digit"] for d in reading["digits"]] == [0, 1, 8]
    stored = client.get(f"/api/v1/readings/{reading['seq']}").json()
    assert stored["read_whole"] is True and stored["value"] == "018"
    result = client.put(
        f"/api/v1/readings/{reading['seq']}/correction", json={"value": "018"}
    ).json()
    assert result["labels_added"] == [] and "another count" in result["labels_note"]
    # A number read digit by digit says nothing of it.
    plain = upload(client, encoded(on_paper(images[0], images[1])), path="/api/v1/predict")
    assert plain.json()["value"] == "72"
    assert plain.json()["read_whole"] is None, "null, as every key a reading leaves out"


def test_a_number_of_a_known_length_is_published_only_at_that_length(
    client: TestClient, first_of: Callable
) -> None:
    image = encoded(on_paper(first_of(4), first_of(1), first_of(7)))
    assert upload(client, image, path="/api/v1/predict", digits=3).json()["value"] == "417"
    short = client.post(
        "/api/v1/predict", files={"file": ("n.png", image)}, data={"digits": "4"}
    ).json()  # a form's four-digit field where only three were found
    assert (short["status"], short["value"], short["confidence"]) == ("low_confidence", None, 0)
    assert [d["digit"] for d in short["digits"]] == [4, 1, 7]


def test_kind_digit_reads_only_the_most_prominent_digit(
    client: TestClient, first_of: Callable
) -> None:
    image = encoded(on_paper(first_of(4), first_of(1), first_of(7)))
    by_query = upload(client, image, kind="digit").json()
    by_form = client.post(
        "/api/v1/predict", files={"file": ("n.png", image)}, data={"kind": "digit"}
    ).json()
    assert len(by_query["digits"]) == 1 and len(by_form["digits"]) == 1


def test_what_the_api_reads_goes_into_the_history_unless_asked_not_to(
    client: TestClient, first_of: Callable
) -> None:
    kept = upload(client, encoded(on_paper(first_of(7)))).json()
    assert kept["recorded"] is True and kept["seq"] == 1
    not_kept = upload(client, encoded(on_paper(first_of(7))), record="false").json()
    assert not_kept["recorded"] is False and not_kept["seq"] is None
    history = client.get("/api/v1/readings").json()["items"]
    assert [r["seq"] for r in history] == [1]
    assert history[0]["value"] == "7"


def test_a_drawing_is_read_as_one_digit(client: TestClient) -> None:
    canvas = np.full((280, 280, 4), (255, 255, 255, 255), np.uint8)
    for a, b in (((70, 56), (210, 56)), ((210, 56), (126, 238))):  # a '7' in two strokes
        cv2.line(canvas, a, b, (17, 17, 17, 255), 20, cv2.LINE_AA)
    response = upload(client, encoded(canvas), "drawing.png", path="/api/v1/draw")
    reading = response.json()
    assert reading["value"] == "7"
    assert reading["region"] == "drawing"
    assert client.get("/api/v1/readings", params={"region": "drawing"}).json()["items"]


@pytest.mark.parametrize(
    ("payload", "status", "words"),
    [
        (None, 400, "no image"),
        (b"", 400, "empty"),
        (b"digit: 7\nthis is a text file\n", 415, "not an image"),
        (b"GIF89a\x01\x00\x01\x00", 415, "not an image"),
    ],
)
def test_bad_uploads_get_a_message_a_person_understands(
    client: TestClient, payload: bytes | None, status: int, words: str
) -> None:
    files = None if payload is None else {"file": ("upload.bin", payload)}
    response = client.post("/api/v1/predict", files=files)
    assert response.status_code == status
    assert words in response.json()["detail"]


def test_a_truncated_jpeg_is_refused_as_truncated(client: TestClient, first_of: Callable) -> None:
    jpeg = encoded(on_paper(first_of(3)), ".jpg")
    response = upload(client, jpeg[: len(jpeg) // 2], "cut.jpg")
    assert response.status_code == 400
    assert "truncated JPEG" in response.json()["detail"]


def test_an_upload_over_the_limit_is_refused_with_413(make_client: Callable) -> None:
    client = make_client(api={"max_upload_bytes": 2048})
    response = upload(client, b"\xff\xd8" + b"\0" * 10_000, "big.jpg")
    assert response.status_code == 413
    assert "2,048 bytes" in response.json()["detail"]
    assert client.get("/api/v1/readings").json()["items"] == []


def test_an_image_of_too_many_pixels_is_refused_before_decoding(client: TestClient) -> None:
    blank = encoded(np.full((4100, 4100), 255, np.uint8))  # 16.8 MP in a few kB of PNG
    assert len(blank) < 100_000
    response = upload(client, blank, "huge.png")
    assert response.status_code == 413
    assert "4100x4100 pixels" in response.json()["detail"]


def test_no_camera_answers_503_saying_why(client: TestClient) -> None:
    for response in (
        client.post("/api/v1/predict", params={"use_camera": "true"}),
        client.post("/predict", data={"use_camera": "true"}),
    ):
        assert response.status_code == 503
        assert "camera unavailable" in response.json()["detail"]
        assert "no-camera-here" in response.json()["detail"]


def test_the_camera_is_read_and_its_frame_returned(
    make_client: Callable, tmp_path: Path, first_of: Callable
) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "0001.png"), on_paper(first_of(4), first_of(2)))
    client = make_client(camera={"source": str(frames)})
    reading = client.post("/api/v1/predict", data={"use_camera": "true"}).json()
    assert reading["value"] == "42"
    assert reading["region"] == "camera"
    assert reading["frame"]["source"].endswith("0001.png")
    assert reading["image"].startswith("data:image/jpeg;base64,")
    assert reading["image_size"] == [520, 280]


def test_file_and_camera_together_is_a_usage_error(client: TestClient, first_of: Callable) -> None:
    response = upload(client, encoded(on_paper(first_of(1))), use_camera="true")
    assert response.status_code == 400
    assert "not both" in response.json()["detail"]


CAMERA = {"use_camera": "true"}


@pytest.mark.parametrize(
    ("params", "form", "field", "words"),
    [
        (CAMERA, [("kind", "")], "kind", "empty"),
        (CAMERA, [("kind", "bogus"), ("kind", "digit")], "kind", "2 times"),
        ({**CAMERA, "kind": ["bogus", "digit"]}, [], "kind", "2 times"),
        ({}, [("use_camera", "bogus"), ("use_camera", "true")], "use_camera", "2 times"),
    ],
    ids=["empty-form-kind", "form-kind-twice", "query-kind-twice", "form-use_camera-twice"],
)
def test_a_parameter_sent_empty_or_twice_is_refused_not_guessed(
    make_client: Callable,
    tmp_path: Path,
    first_of: Callable,
    params: dict,
    form: list[tuple[str, str]],
    field: str,
    words: str,
) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "0001.png"), on_paper(first_of(4), first_of(2)))
    client = make_client(camera={"source": str(frames)})  # a camera that works
    response = client.post(
        "/api/v1/predict", params=params, files=[(name, (None, value)) for name, value in form]
    )
    assert response.status_code == 422, response.text
    error = response.json()["detail"][0]
    assert error["loc"][-1] == field and words in error["msg"]
    assert client.get("/api/v1/readings").json()["items"] == [], "nothing was read or stored"
