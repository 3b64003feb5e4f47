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
from edge.api.samples import PER_DIGIT, build_sprite, load_sprite
from tests.api.conftest import encoded, on_paper


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
    for name in [*scripts, "style.css", "mnist-samples.png"]:
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


def test_the_shipped_sprite_is_the_mnist_sample(mnist: tuple) -> None:
    """Rebuild with: cv2.imwrite('edge/static/mnist-samples.png', build_sprite(images, labels))."""
    assert np.array_equal(load_sprite(), build_sprite(*mnist))


def test_samples_of_one_digit_with_the_credit(client: TestClient, mnist: tuple) -> None:
    images, labels = mnist
    data = client.get("/api/v1/dataset/samples", params={"digit": 3, "count": 5}).json()
    assert data["source"] == "mnist"
    assert "LeCun" in data["credit"] and "CC BY-SA 3.0" in data["credit"]
    assert [item["digit"] for item in data["items"]] == [3] * 5
    first = base64.b64decode(data["items"][0]["input"].split(",", 1)[1])
    image = cv2.imdecode(np.frombuffer(first, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert np.array_equal(image, images[int(np.flatnonzero(labels == 3)[0])])


def test_all_digits_and_the_cap_per_digit(client: TestClient) -> None:
    data = client.get("/api/v1/dataset/samples", params={"count": 100}).json()
    assert len(data["items"]) == 10 * PER_DIGIT


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
