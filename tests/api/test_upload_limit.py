"""A 100 MB upload to a real uvicorn is refused while it streams, without being buffered."""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.api.server import ApiServer

LIMIT = 1024 * 1024
UPLOAD = 100 * 1024 * 1024
CHUNK = 64 * 1024
BOUNDARY = "digitcamboundary"


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


class PeakMemory:
    """Samples this process's resident memory (the server runs in it) every few ms."""

    def __init__(self) -> None:
        self.baseline = rss_bytes()
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_bytes())

    def stop(self) -> int:
        """The growth over the baseline, in bytes."""
        self._stop.set()
        self._thread.join()
        return self.peak - self.baseline


def request_head(port: int, chunked: bool) -> bytes:
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {UPLOAD}"
    return (
        f"POST /api/v1/predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n{framing}\r\n\r\n"
    ).encode()


def part_head() -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="huge.jpg"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8'
    ).encode("latin-1")


def stream_until_answered(server: ApiServer, chunked: bool) -> tuple[bytes, int]:
    """Send up to 100 MB in chunks, reading between chunks; (response, body bytes sent)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sent, answer = 0, b""
    try:
        sock.sendall(request_head(server.port, chunked))
        payload = part_head() + b"\0" * (CHUNK - len(part_head()))
        while sent < UPLOAD:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            data = payload if sent == 0 else b"\0" * CHUNK
            try:
                sock.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked else data)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(data)
        if sent >= UPLOAD and chunked:
            sock.sendall(b"0\r\n\r\n")  # the whole body went through: end it properly
        sock.settimeout(10)
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            piece = sock.recv(65536)
            if not piece:
                break
            answer += piece
    finally:
        sock.close()
    return answer, sent


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_a_100mb_upload_gets_413_before_it_is_all_sent(
    live_server: Callable[..., ApiServer], chunked: bool
) -> None:
    server = live_server(api={"max_upload_bytes": LIMIT})
    memory = PeakMemory()
    started = time.monotonic()
    answer, sent = stream_until_answered(server, chunked)
    growth = memory.stop()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"api.max_upload_bytes" in answer
    # Answered soon after the limit, not after the whole 100 MB.
    assert sent < 20 * LIMIT, f"sent {sent:,} bytes before the answer"
    assert growth < 30 * 1024 * 1024, f"server memory grew by {growth:,} bytes"
    assert time.monotonic() - started < 10


def test_the_server_still_answers_after_refusing(live_server: Callable[..., ApiServer]) -> None:
    import httpx

    server = live_server(api={"max_upload_bytes": LIMIT})
    stream_until_answered(server, chunked=True)
    assert httpx.get(f"{server.url}/health", timeout=5).status_code == 200
