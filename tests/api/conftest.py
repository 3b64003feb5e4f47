"""Fixtures for the API tests: real MNIST digits on paper, the real app, a real uvicorn."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from edge.api.factory import create_app
from edge.api.server import ApiServer
from edge.api.services import Services
from edge.config import Settings
from edge.model import DigitModel, load_model
from training.mnist import read_idx

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "fixtures" / "mnist_sample"
TOKEN = "s3cret-token"


@pytest.fixture(scope="session")
def mnist() -> tuple[np.ndarray, np.ndarray]:
    """The first 1,000 MNIST test images (uint8 [N,28,28], white on black) and labels."""
    return (
        read_idx(SAMPLE / "t10k-images-idx3-ubyte.gz"),
        read_idx(SAMPLE / "t10k-labels-idx1-ubyte.gz"),
    )


@pytest.fixture(scope="session")
def model() -> DigitModel:
    """The bundled model, loaded once: every app in these tests shares it."""
    return load_model(None)


def on_paper(*digits: np.ndarray, height_px: int = 200) -> np.ndarray:
    """MNIST digits as a camera would see them: dark ink on white paper, side by side."""
    gap = height_px // 5
    width = gap + len(digits) * (height_px + gap)
    page = np.full((height_px + 2 * gap, width), 255, np.uint8)
    for i, digit in enumerate(digits):
        big = cv2.resize(255 - digit, (height_px, height_px), interpolation=cv2.INTER_CUBIC)
        x = gap + i * (height_px + gap)
        page[gap : gap + height_px, x : x + height_px] = big
    return page


def encoded(image: np.ndarray, ext: str = ".png") -> bytes:
    ok, data = cv2.imencode(ext, image)
    assert ok
    return data.tobytes()


@pytest.fixture
def first_of(mnist: tuple[np.ndarray, np.ndarray]) -> Callable[[int], np.ndarray]:
    """The first MNIST test image of a digit."""
    images, labels = mnist
    return lambda digit: images[int(np.flatnonzero(labels == digit)[0])]


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings for one test: its own history file and a camera folder that does not exist."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "device_id": "testcam",
            "storage": {"path": tmp_path / "state.sqlite"},
            "camera": {"source": str(tmp_path / "no-camera-here")},
            "api": {"port": 0},
        }
        for key, value in overrides.items():
            values[key] = {**values.get(key, {}), **value} if isinstance(value, dict) else value
        return Settings(**values)

    return make


@pytest.fixture
def make_client(
    make_settings: Callable[..., Settings], model: DigitModel
) -> Iterator[Callable[..., TestClient]]:
    """Start the real app (lifespan included) with settings overrides; closed after the test."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        services = Services(make_settings(**overrides), model=model)
        # The API answers only host names it knows (api.allowed_hosts); not 'testserver'.
        client = TestClient(create_app(services), base_url="http://localhost")
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.fixture
def live_server(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., ApiServer]]:
    """A real uvicorn on a free loopback port, as `digitcam serve` runs it."""
    servers: list[ApiServer] = []

    def start(**overrides: Any) -> ApiServer:
        server = ApiServer(make_settings(**overrides))
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def upload(
    client: TestClient,
    image: bytes,
    name: str = "digits.png",
    path: str = "/predict",
    **params: Any,
) -> Any:
    """POST an image file as the multipart field `file`."""
    return client.post(
        path, files={"file": (name, image, "application/octet-stream")}, params=params
    )
