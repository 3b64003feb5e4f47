"""Idle and slow clients cannot use up the daemon's file descriptors or stop its camera.

Before the connection cap and deadlines, 300 sockets that never sent a request used up a
256-descriptor limit: the camera failed with "Too many open files", readings stopped, and
asyncio logged the failed accept 16,000 times a second.
"""

from __future__ import annotations

import os
import resource
import select
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from edge.api import server as api_server
from edge.api.connections import FD_RESERVE, FDS_PER_CONNECTION, ConnectionLimits
from edge.api.server import ApiServer
from tests.api.conftest import ROOT
from tests.conftest import free_port, wait_until
from tests.systemd import UNIT_FILE, unit_directives

FD_LIMIT = 160  # the daemon's own use is about 10; the cap must fit the rest
CLIENTS = 300
PARTIAL_HEAD = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"  # never finished


@dataclass
class Daemon:
    proc: subprocess.Popen[bytes]
    port: int
    stdout: Path
    stderr: Path

    def readings(self) -> int:
        return self.stdout.read_bytes().count(b"\n")

    def health(self) -> int | None:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=5).status_code
        except httpx.TransportError:
            assert self.proc.poll() is None, self.stderr.read_text()[-2000:]
            return None


@pytest.fixture
def daemon_with_few_fds(tmp_path: Path) -> Iterator[Daemon]:
    """`digitcam run` on looping mock frames with the API on, under RLIMIT_NOFILE=160."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITCAM_")}
    env.update(
        DIGITCAM_DEVICE_ID="fdtest",
        DIGITCAM_CAMERA__SOURCE=str(ROOT / "mock_frames" / "numbers"),
        DIGITCAM_CAMERA__FPS="10",
        DIGITCAM_CAMERA__LOOP="true",
        DIGITCAM_API__ENABLED="true",
        DIGITCAM_API__PORT=str(port),
        DIGITCAM_STORAGE__PATH=str(tmp_path / "state.sqlite"),
    )

    def limit_fds() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))

    stdout, stderr = tmp_path / "stdout.jsonl", tmp_path / "stderr.log"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "edge.cli", "run"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=err,
            preexec_fn=limit_fds,
        )
    daemon = Daemon(proc, port, stdout, stderr)
    try:
        yield daemon
    finally:
        daemon.proc.terminate()
        daemon.proc.wait(30)


def hold_connections(port: int, count: int) -> list[socket.socket]:
    """`count` clients: half connect and send nothing, half send an unfinished request."""
    held = []
    for i in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if i % 2:
            sock.sendall(PARTIAL_HEAD)
        held.append(sock)
    return held


def answers_until_closed(socks: list[socket.socket], timeout_s: float) -> list[bytes]:
    """Read every socket until the server closes it; what each one received."""
    received = {sock: b"" for sock in socks}
    open_ = set(socks)
    deadline = time.monotonic() + timeout_s
    while open_ and time.monotonic() < deadline:
        readable, _, _ = select.select(list(open_), [], [], 1.0)
        for sock in readable:
            try:
                chunk = sock.recv(4096)
            except ConnectionResetError:
                chunk = b""
            received[sock] += chunk
            if not chunk:
                open_.discard(sock)
    assert not open_, f"{len(open_)} connections still open after {timeout_s} s"
    return [received[sock] for sock in socks]


def test_idle_clients_beyond_the_fd_limit_neither_stop_readings_nor_flood_the_log(
    daemon_with_few_fds: Daemon,
) -> None:
    daemon = daemon_with_few_fds
    wait_until(lambda: daemon.health() == 200, timeout_s=60, what="the daemon's API")
    wait_until(lambda: daemon.readings() >= 1, timeout_s=30, what="a first reading")
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < CLIENTS + 100:
        pytest.skip("this test process may not open 300 sockets")

    held = hold_connections(daemon.port, CLIENTS)
    try:
        before = daemon.readings()
        wait_until(
            lambda: daemon.readings() >= before + 20,
            timeout_s=30,
            what="readings while 300 idle clients are connected",
        )
        answers = answers_until_closed(held, timeout_s=60)
    finally:
        for sock in held:
            sock.close()

    statuses = [answer.split(b" ", 2)[1] if answer else b"closed" for answer in answers]
    assert statuses.count(b"503") >= CLIENTS - 64, "connections over the cap are refused"
    assert set(statuses) <= {b"503", b"408", b"closed"}
    assert b"408" in statuses, "idle connections inside the cap time out"
    wait_until(lambda: daemon.health() == 200, timeout_s=30, what="the API to serve again")

    log = daemon.stderr.read_bytes()
    assert b"Too many open files" not in log
    assert b"open-file limit is 160" in log  # the cap was fitted to the limit
    assert len(log) < 20_000, log[-3000:]


@pytest.fixture
def tight_limits(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Lower the server's connection limits for an in-process server started afterwards."""

    def set_limits(**limits: float) -> None:
        monkeypatch.setattr(api_server, "CONNECTION_LIMITS", ConnectionLimits(**limits))  # type: ignore[arg-type]

    return set_limits


def health(url: str) -> int | None:
    try:
        return httpx.get(f"{url}/health", timeout=5).status_code
    except httpx.TransportError:  # refused while the server had not yet seen the close
        return None


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (fails on the socket's timeout)."""
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    return data


def test_headers_that_never_finish_get_408_and_the_connection_closes(
    live_server: Callable[..., ApiServer], tight_limits: Callable[..., None]
) -> None:
    tight_limits(header_timeout_s=0.5)
    server = live_server()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(PARTIAL_HEAD)
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"request headers did not arrive within 0.5 s" in answer


def test_a_trickle_of_header_bytes_does_not_keep_a_connection_open(
    live_server: Callable[..., ApiServer], tight_limits: Callable[..., None]
) -> None:
    tight_limits(header_timeout_s=1.0)
    server = live_server()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sent = 0
        try:
            for byte in PARTIAL_HEAD * 10:  # one byte every 0.1 s: each restarts keep-alive
                sock.send(bytes([byte]))
                sent += 1
                if select.select([sock], [], [], 0.1)[0]:
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = read_all(sock)
    assert sent < len(PARTIAL_HEAD * 10)
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_a_body_that_stops_arriving_gets_408(
    live_server: Callable[..., ApiServer], tight_limits: Callable[..., None]
) -> None:
    tight_limits(body_timeout_s=0.5)
    server = live_server()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"PUT /api/v1/readings/1/correction HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
        )
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"request body did not arrive within 0.5 s" in answer


def test_connections_over_the_cap_get_503_and_a_freed_slot_serves_again(
    live_server: Callable[..., ApiServer], tight_limits: Callable[..., None]
) -> None:
    tight_limits(max_connections=3)
    server = live_server()
    held = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(3)]
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as extra:
            answer = read_all(extra)
        assert answer.startswith(b"HTTP/1.1 503 ")
        assert b"too many connections" in answer
        held.pop().close()
        wait_until(lambda: health(server.url) == 200, what="a request in the freed slot")
    finally:
        for sock in held:
            sock.close()


def test_the_service_unit_leaves_room_for_every_connection_the_api_serves() -> None:
    """With systemd's LimitNOFILE the API keeps its full connection cap (it never shrinks it)."""
    limit = [
        value for _, key, value in unit_directives(UNIT_FILE.read_text()) if key == "LimitNOFILE"
    ]
    limits = ConnectionLimits()
    needed = FD_RESERVE + limits.backlog + FDS_PER_CONNECTION * limits.max_connections
    assert limit and int(limit[0]) >= needed
