"""The page and its files are served from the package; MNIST samples are shipped and credited."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from edge.api.routes.pages import static_dir
from edge.api.samples import SAMPLES_NAME, load_samples
from tests.api.conftest import ROOT, encoded, on_paper
from training.mnist import read_idx

FULL_TEST_SET = ROOT.parent / "shared" / "data" / "mnist" / "t10k-images-idx3-ubyte.gz"


def test_the_page_is_served_at_the_root_with_a_strict_policy(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert '<canvas id="pad"' in response.text


def test_every_file_the_page_loads_is_served(client: TestClient) -> None:
    html = client.get("/").text
    scripts = [p.name for p in static_dir().glob("*.js")]
    assert "/static/app.js" in html and "/static/style.css" in html
    for name in [*scripts, "style.css", SAMPLES_NAME]:
        assert client.get(f"/static/{name}").status_code == 200, name
    for script in scripts:
        source = (static_dir() / script).read_text()
        for module in re.findall(r'from "\./([a-z]+\.js)"', source):
            assert module in scripts, f"{script} imports {module}, which is not shipped"


def test_nothing_is_fetched_from_elsewhere() -> None:
    for path in static_dir().iterdir():
        if path.suffix in {".html", ".js", ".css"}:
            text = path.read_text()
            assert not re.search(r'(src|href)=["\']https?:', text), path.name
            assert "url(http" not in text and 'import("http' not in text, path.name


def test_the_shipped_samples_are_the_first_1000_mnist_test_images(mnist: tuple) -> None:
    """Rebuild with edge.api.samples.write_samples(path, images, labels)."""
    images, labels = load_samples()
    assert np.array_equal(images, mnist[0]) and np.array_equal(labels, mnist[1])
    if FULL_TEST_SET.exists():  # unchanged from the MNIST distribution itself
        assert np.array_equal(images, read_idx(FULL_TEST_SET)[:1000])
    notice = (static_dir() / "MNIST-NOTICE.txt").read_text()
    assert SAMPLES_NAME in notice and "CC BY-SA 3.0" in notice


def test_samples_of_one_digit_with_the_credit(client: TestClient, mnist: tuple) -> None:
    images, labels = mnist
    data = client.get("/api/v1/dataset/samples", params={"digit": 3, "count": 5}).json()
    assert data["source"] == "mnist"
    assert "LeCun" in data["credit"] and "CC BY-SA 3.0" in data["credit"]
    assert [item["digit"] for item in data["items"]] == [3] * 5
    first = base64.b64decode(data["items"][0]["input"].split(",", 1)[1])
    image = cv2.imdecode(np.frombuffer(first, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert np.array_equal(image, images[int(np.flatnonzero(labels == 3)[0])])


def test_all_digits_and_the_cap_per_digit(client: TestClient, mnist: tuple) -> None:
    data = client.get("/api/v1/dataset/samples", params={"count": 100}).json()
    # All of each digit's samples up to 100: the first 1,000 hold 85 zeros and 126 ones.
    expected = sum(min(100, n) for n in np.bincount(mnist[1]))
    assert len(data["items"]) == expected


def test_the_1000_samples_page_by_page_in_test_set_order(client: TestClient, mnist: tuple) -> None:
    images, labels = mnist
    seen: list[int] = []
    offset: int | None = 0
    while offset is not None:
        page = client.get("/api/v1/dataset/mnist", params={"offset": offset, "limit": 100}).json()
        assert page["total"] == 1000 and "LeCun" in page["credit"]
        seen += [item["index"] for item in page["items"]]
        offset = page["next_offset"]
    assert seen == list(range(1000))
    last = client.get("/api/v1/dataset/mnist", params={"offset": 990, "limit": 100}).json()
    assert [item["digit"] for item in last["items"]] == [int(d) for d in labels[990:]]
    assert np.array_equal(decode(last["items"][-1]["input"]), images[999])


def test_a_page_of_one_digit(client: TestClient, mnist: tuple) -> None:
    labels = mnist[1]
    fives = [int(i) for i in np.flatnonzero(labels == 5)]
    page = client.get("/api/v1/dataset/mnist", params={"digit": 5, "limit": 50}).json()
    assert page["total"] == len(fives) == 87
    assert [item["index"] for item in page["items"]] == fives[:50]
    assert {item["digit"] for item in page["items"]} == {5}
    assert page["next_offset"] == 50


def decode(url: str) -> np.ndarray:
    data = base64.b64decode(url.split(",", 1)[1])
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)


def test_the_users_labelled_examples_are_samples_too(
    client: TestClient, first_of: Callable
) -> None:
    client.post(
        "/api/v1/labels",
        data={"label": "2"},
        files={"file": ("d.png", encoded(on_paper(first_of(2))))},
    )
    mine = client.get("/api/v1/dataset/samples", params={"source": "labels"}).json()
    assert [item["digit"] for item in mine["items"]] == [2]
    assert (
        client.get("/api/v1/dataset/samples", params={"source": "labels", "digit": 5}).json()[
            "items"
        ]
        == []
    )


@pytest.mark.parametrize("params", [{"digit": 10}, {"count": 0}, {"source": "cifar"}])
def test_bad_sample_queries_are_422(client: TestClient, params: dict) -> None:
    assert client.get("/api/v1/dataset/samples", params=params).status_code == 422


@pytest.mark.parametrize(
    "params", [{"digit": -1}, {"offset": -1}, {"offset": 10**30}, {"limit": 0}, {"limit": 201}]
)
def test_bad_mnist_page_queries_are_422(client: TestClient, params: dict) -> None:
    assert client.get("/api/v1/dataset/mnist", params=params).status_code == 422
