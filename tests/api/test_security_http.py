"""What a hostile web page or client can no longer do through the HTTP API.

A page in the user's browser reaching the API by DNS rebinding or a cross-site post, a
client without the token uploading a body before being refused, an open redirect through
the Host header, non-finite JSON numbers answered with 500, and a 405 without `Allow`.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient

from edge.api.server import ApiServer
from tests.api.conftest import TOKEN, encoded, on_paper

ATTACKER = "attacker.example"


# --- Host allow-list (DNS rebinding) --------------------------------------------------------
@pytest.mark.parametrize("path", ["/health", "/api/v1/readings", "/"])
def test_a_host_name_the_api_does_not_answer_to_is_refused(client: TestClient, path: str) -> None:
    response = client.get(path, headers={"Host": f"{ATTACKER}:8080"})
    assert response.status_code == 400
    assert "api.allowed_hosts" in response.json()["detail"]
    assert ATTACKER in response.json()["detail"]


def test_a_rebound_page_cannot_write_either(client: TestClient, first_of: Callable) -> None:
    response = client.post(
        "/predict",
        headers={"Host": ATTACKER},
        files={"file": ("seven.png", encoded(on_paper(first_of(7))))},
    )
    assert response.status_code == 400
    assert client.get("/api/v1/readings").json()["items"] == []


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "localhost:8080",
        "LOCALHOST.",
        "127.0.0.1:8080",
        "[::1]:8080",
        "192.168.1.20",
        "[fe80::1]",
        socket.gethostname(),
        f"{socket.gethostname()}.local:8080",
    ],
)
def test_loopback_ip_addresses_and_the_device_name_are_answered(
    client: TestClient, host: str
) -> None:
    assert client.get("/health", headers={"Host": host}).status_code == 200


def test_names_added_to_allowed_hosts_are_answered(make_client: Callable) -> None:
    client = make_client(api={"allowed_hosts": ["digitcam.home.arpa"]})
    assert client.get("/health", headers={"Host": "digitcam.home.arpa:8080"}).status_code == 200
    assert client.get("/health", headers={"Host": "localhost"}).status_code == 400
    assert client.get("/health", headers={"Host": "127.0.0.1"}).status_code == 200
    anything = make_client(api={"allowed_hosts": ["*"]})
    assert anything.get("/health", headers={"Host": ATTACKER}).status_code == 200


def test_a_real_server_refuses_a_rebound_host(live_server: Callable[..., ApiServer]) -> None:
    server = live_server()
    response = httpx.get(f"{server.url}/api/v1/readings", headers={"Host": ATTACKER})
    assert response.status_code == 400
    assert httpx.get(f"{server.url}/api/v1/readings").status_code == 200


# --- cross-site writes ----------------------------------------------------------------------
@pytest.mark.parametrize("token", ["", TOKEN])
@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": f"http://{ATTACKER}"},
        {"Origin": "http://localhost:3000"},  # another port is another origin
        {"Origin": "https://localhost"},  # and another scheme
        {"Origin": "null"},  # a sandboxed frame or a file:// page
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_writes_from_another_origin_are_refused(
    make_client: Callable, first_of: Callable, token: str, headers: dict[str, str]
) -> None:
    client = make_client(api={"token": token})
    if token:
        headers = {**headers, "Authorization": f"Bearer {TOKEN}"}
    response = client.post(
        "/api/v1/predict",
        headers=headers,
        files={"file": ("seven.png", encoded(on_paper(first_of(7))))},
    )
    assert response.status_code == 403
    assert "another site" in response.json()["detail"]
    assert client.get("/api/v1/readings").json()["items"] == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://localhost"},
        {"Origin": "http://localhost:80"},
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},  # typed in the address bar, a bookmark
        {},  # curl, scripts, Home Assistant
    ],
)
def test_writes_from_the_same_origin_and_from_scripts_are_let_through(
    client: TestClient, first_of: Callable, headers: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/predict",
        headers=headers,
        files={"file": ("seven.png", encoded(on_paper(first_of(7))))},
    )
    assert response.status_code == 200


def test_reads_from_another_origin_are_not_refused(client: TestClient) -> None:
    # The browser keeps their answers from the other page (no CORS headers are sent).
    response = client.get("/api/v1/readings", headers={"Origin": f"http://{ATTACKER}"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


# --- image size limits agree with the decoder ---------------------------------------------
@pytest.mark.parametrize(
    "header",
    [b"P5\n#comment\r8000 8000\n1 1\n255\n", b"P5 #\r8000\r#1 1\n8000 255 "],
)
def test_a_pnm_hiding_its_size_behind_a_comment_is_413(client: TestClient, header: bytes) -> None:
    response = client.post(
        "/api/v1/predict", files={"file": ("tiny.pgm", header + bytes(4096), "image/x-pgm")}
    )
    assert response.status_code == 413
    assert "8000x8000 pixels, over the limit" in response.json()["detail"]


# --- the token comes before the body -------------------------------------------------------
PART_HEAD = (
    b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
    b"Content-Type: image/png\r\n\r\n"
)


def test_without_the_token_an_upload_is_refused_before_its_body_is_read(
    live_server: Callable[..., ApiServer],
) -> None:
    server = live_server(api={"token": TOKEN})
    declared = 4 * 1024 * 1024  # under api.max_upload_bytes: only the token can refuse it
    head = (
        f"POST /api/v1/predict HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head + PART_HEAD + b"\0" * 1024)
        # The server must answer now, with 4 MB still unsent: it never waits for them.
        assert select.select([sock], [], [], 20)[0], "no answer before the body was sent"
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 401 ")
    assert b"www-authenticate: Bearer" in answer
    assert b"connection: close" in answer


def test_with_the_token_the_upload_is_read(make_client: Callable, first_of: Callable) -> None:
    client = make_client(api={"token": TOKEN})
    response = client.post(
        "/api/v1/predict",
        headers={"Authorization": f"Bearer {TOKEN}", "Origin": "http://localhost"},
        files={"file": ("seven.png", encoded(on_paper(first_of(7))))},
    )
    assert response.status_code == 200 and response.json()["value"] == "7"


# --- redirects never take their address from the Host header -------------------------------
@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/api/v1/readings/", "/api/v1/readings"),
        ("/api/v1/readings/?limit=5", "/api/v1/readings?limit=5"),
        ("/static", "/static/"),
    ],
)
def test_a_trailing_slash_redirect_stays_on_the_same_site(
    make_client: Callable, path: str, location: str
) -> None:
    client = make_client(api={"allowed_hosts": ["*"]})
    response = client.get(path, headers={"Host": ATTACKER}, follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == location


def test_paths_that_match_nothing_are_404_not_redirects(client: TestClient) -> None:
    response = client.get("/api/v1/readings/7/nope/", follow_redirects=False)
    assert response.status_code == 404
    assert "location" not in response.headers


def test_a_path_that_looks_like_another_site_is_never_a_redirect_to_it(
    live_server: Callable[..., ApiServer],
) -> None:
    server = live_server(api={"allowed_hosts": ["*"]})
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET //attacker.example/ HTTP/1.1\r\nHost: attacker.example\r\n\r\n")
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 404 ")
    assert b"location:" not in answer.lower()


def test_a_404_from_a_handler_keeps_its_message(client: TestClient) -> None:
    response = client.get("/api/v1/readings/12345", follow_redirects=False)
    assert response.status_code == 404
    assert "12345" in response.json()["detail"]


# --- JSON numbers must be finite ------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    ['{"value": NaN}', '{"value": Infinity}', '{"value": -Infinity}', '{"value": 1e999}',
     '{"value": "3", "extra": [1, {"deep": -1e400}]}'],
)  # fmt: skip
@pytest.mark.parametrize("content_type", ["application/json", "application/merge+json", None])
def test_non_finite_json_numbers_are_422_not_500(
    client: TestClient, body: str, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.put("/api/v1/readings/1/correction", content=body, headers=headers)
    assert response.status_code == 422
    assert "finite" in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"value": "\\ud800"}', "valid Unicode"),  # a lone surrogate: not encodable as UTF-8
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_json_that_cannot_be_echoed_back_is_422_not_500(
    client: TestClient, body: str, message: str
) -> None:
    response = client.put(
        "/api/v1/readings/1/correction", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert message in response.json()["detail"][0]["msg"]


def test_the_refusal_names_where_the_number_is(client: TestClient) -> None:
    body = '{"value": "3", "extra": [1, {"deep": -1e400}]}'
    response = client.put("/api/v1/readings/1/correction", content=body)
    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert error["loc"] == ["body", "extra", 1, "deep"] and error["input"] == "-1e400"


def test_finite_json_still_reaches_the_handler(client: TestClient) -> None:
    response = client.put("/api/v1/readings/1/correction", json={"value": "3"})
    assert response.status_code == 404  # no reading 1 yet: the body was read as usual


# --- 405 says what is allowed ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/health", "GET"),
        ("DELETE", "/api/v1/readings", "GET"),
        ("GET", "/api/v1/draw", "POST"),
        ("PATCH", "/api/v1/readings/1", "DELETE, GET"),
        ("POST", "/static/app.js", "GET, HEAD"),
        ("GET", "/api/v1/readings/1/correction", "POST, PUT"),
    ],
)
def test_405_lists_the_allowed_methods(
    client: TestClient, method: str, path: str, allowed: str
) -> None:
    response = client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert response.json()["detail"] == f"{method} is not allowed here; use {allowed}"
