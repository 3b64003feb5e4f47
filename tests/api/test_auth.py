"""With api.token set, every request that changes something needs `Authorization: Bearer`."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import TOKEN, encoded, on_paper

MUTATING = [
    ("POST", "/predict"),
    ("POST", "/api/v1/predict"),
    ("POST", "/api/v1/draw"),
    ("POST", "/api/v1/labels"),
    ("DELETE", "/api/v1/labels/1"),
    ("DELETE", "/api/v1/readings/1"),
    ("PUT", "/api/v1/readings/1/correction"),
    ("POST", "/api/v1/readings/1/correction"),
]
READ_ONLY = [
    "/health",
    "/api/v1/readings",
    "/api/v1/labels",
    "/api/v1/performance",
    "/metrics",
    "/api/v1/dataset/samples",
    "/api/v1/labels/export",
    "/",
]


@pytest.fixture
def guarded(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(api={"token": TOKEN})


@pytest.mark.parametrize(("method", "path"), MUTATING)
@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer"])
def test_changes_without_the_right_token_are_401(
    guarded: TestClient, method: str, path: str, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    response = guarded.request(method, path, headers=headers, json={"value": "1"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "api.token" in response.json()["detail"]


def test_the_right_token_is_let_through(guarded: TestClient, first_of: Callable) -> None:
    response = guarded.post(
        "/api/v1/predict",
        headers={"Authorization": f"Bearer {TOKEN}"},
        files={"file": ("seven.png", encoded(on_paper(first_of(7))))},
    )
    assert response.status_code == 200
    assert response.json()["value"] == "7"


@pytest.mark.parametrize("path", READ_ONLY)
def test_reading_needs_no_token(guarded: TestClient, path: str) -> None:
    assert guarded.get(path).status_code == 200


def test_without_a_token_configured_nothing_is_asked(client: TestClient) -> None:
    assert client.delete("/api/v1/readings/1").status_code == 404
