"""`digitcam serve` with a folder as the camera: each capture is the folder's next frame."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import httpx
import pytest

from edge.api.server import ApiServer
from edge.config import Settings
from tests.api.conftest import ROOT, on_paper
from tests.conftest import free_port, wait_until

CAPTURE = {"use_camera": "true"}


def camera_folder(tmp_path: Path, first_of: Callable, digits: list[int]) -> Path:
    frames = tmp_path / "frames"
    frames.mkdir()
    for i, digit in enumerate(digits, start=1):
        cv2.imwrite(str(frames / f"{i:04d}.png"), on_paper(first_of(digit)))
    return frames


def capture(server: ApiServer) -> httpx.Response:
    return httpx.post(f"{server.url}/api/v1/predict", params=CAPTURE, timeout=60)


def test_each_capture_reads_the_next_frame_and_wraps_around(
    live_server: Callable[..., ApiServer], tmp_path: Path, first_of: Callable
) -> None:
    frames = camera_folder(tmp_path, first_of, [4, 1, 7])
    server = live_server(camera={"source": str(frames)})
    readings = [capture(server).json() for _ in range(4)]
    assert [r["value"] for r in readings] == ["4", "1", "7", "4"]
    assert [r["frame"]["source"] for r in readings] == [
        "0001.png",
        "0002.png",
        "0003.png",
        "0001.png",
    ]


def test_without_loop_the_end_of_the_folder_is_a_503_that_says_so(
    live_server: Callable[..., ApiServer], tmp_path: Path, first_of: Callable
) -> None:
    frames = camera_folder(tmp_path, first_of, [2, 3])
    server = live_server(camera={"source": str(frames), "loop": False})
    assert [capture(server).json()["value"] for _ in range(2)] == ["2", "3"]
    answer = capture(server)
    assert answer.status_code == 503
    assert "camera.loop" in answer.json()["detail"]


def test_a_folder_that_appears_later_is_read_from_its_first_frame(
    live_server: Callable[..., ApiServer], tmp_path: Path, first_of: Callable
) -> None:
    server = live_server(camera={"source": str(tmp_path / "frames")})
    missing = capture(server)
    assert missing.status_code == 503
    assert "camera.source" in missing.json()["detail"]
    camera_folder(tmp_path, first_of, [3, 8])
    assert [capture(server).json()["value"] for _ in range(2)] == ["3", "8"]


@pytest.mark.skipif(Path("/dev/video0").exists(), reason="this machine has a camera at /dev/video0")
def test_with_no_camera_configured_the_503_says_which_key_to_set(tmp_path: Path) -> None:
    # camera.source left at its default, /dev/video0
    settings = Settings(
        device_id="testcam", storage={"path": tmp_path / "s.sqlite"}, api={"port": 0}
    )
    server = ApiServer(settings)
    server.start()
    try:
        answer = capture(server)
    finally:
        server.stop()
    assert answer.status_code == 503
    detail = answer.json()["detail"]
    assert "no camera is configured" in detail
    assert "camera.source" in detail and "DIGITCAM_CAMERA__SOURCE" in detail
    assert 'source = "mock_frames/numbers"' in detail, "an example a person can copy"


def test_digitcam_serve_with_the_demo_config_steps_through_its_frames(tmp_path: Path) -> None:
    """The README's `digitcam serve --config config/demo.toml`."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DIGITCAM_")}
    environ.update(
        {"DIGITCAM_API__PORT": str(port), "DIGITCAM_STORAGE__PATH": str(tmp_path / "s.sqlite")}
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "serve", "--config", "config/demo.toml"],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/api/v1/predict"
    try:

        def listening() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code > 0
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[1]
                return False

        wait_until(listening, timeout_s=30, what="digitcam serve to answer")
        sources = [
            httpx.post(url, params=CAPTURE, timeout=60).json()["frame"]["source"] for _ in range(3)
        ]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    expected = sorted(p.name for p in (ROOT / "mock_frames" / "numbers").glob("*.jpg"))[:3]
    assert sources == expected
