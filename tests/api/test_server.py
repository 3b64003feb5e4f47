"""`digitcam serve` as a user runs it, and ApiServer's start/stop as the daemon uses it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from edge.api.server import ApiError, ApiServer, serve
from edge.config import CONFIG_ERROR_EXIT
from tests.api.conftest import ROOT
from tests.conftest import free_port, wait_until


def serve_process(tmp_path: Path, port: int, **env: str) -> subprocess.Popen:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DIGITCAM_")}
    environ.update(
        {
            "DIGITCAM_API__PORT": str(port),
            "DIGITCAM_STORAGE__PATH": str(tmp_path / "state.sqlite"),
            **env,
        }
    )
    return subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "serve"],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_digitcam_serve_answers_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    proc = serve_process(tmp_path, port)
    try:

        def healthy() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[1]
                return False

        wait_until(healthy, timeout_s=30, what="digitcam serve to answer")
        assert "DigitCam" in httpx.get(f"http://127.0.0.1:{port}/").text
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err


def test_serve_without_its_model_exits_78_naming_the_file(
    make_settings: Callable, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(model={"path": str(tmp_path / "gone.onnx")})
    assert serve(settings) == CONFIG_ERROR_EXIT
    assert "gone.onnx" in capsys.readouterr().err


def test_a_taken_port_is_a_clear_start_error(make_settings: Callable) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = ApiServer(make_settings(api={"port": port}))
        with pytest.raises(ApiError, match=f"127.0.0.1:{port}"):
            server.start()


def test_stop_closes_the_socket(live_server: Callable[..., ApiServer]) -> None:
    server = live_server()
    url = server.url
    assert httpx.get(f"{url}/health").status_code == 200
    server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health", timeout=2)


def test_a_missing_extra_is_named_with_its_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    import edge.api

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "fastapi" else real(name, *a)
    )
    with pytest.raises(ApiError, match=r"pip install 'digitcam\[api\]' \(missing: fastapi\)"):
        edge.api.require_api_extra()
