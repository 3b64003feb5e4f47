"""The daemon as a user runs it: `digitcam run` in a subprocess, real frames, a real broker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import Broker, wait_until
from training.mnist import load_split

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "fixtures" / "mnist_sample"


def camera_frame(digits: np.ndarray) -> np.ndarray:
    """Dark MNIST digits on light paper, 640x480, each about 150 px tall."""
    frame = np.full((480, 640), 225, np.uint8)
    for i, digit in enumerate(digits):
        big = cv2.resize(255 - digit, (150, 150), interpolation=cv2.INTER_CUBIC)
        x = 60 + i * 160
        frame[160:310, x : x + 150] = np.minimum(frame[160:310, x : x + 150], big)
    return frame


@pytest.fixture
def frames(tmp_path: Path) -> tuple[Path, list[str]]:
    """A folder of six single-digit frames and one corrupt file, with the true values."""
    images, labels = load_split(SAMPLE, "test")
    folder = tmp_path / "frames"
    folder.mkdir()
    values = []
    for i in range(6):
        cv2.imwrite(str(folder / f"frame{i:02d}.png"), camera_frame(images[i : i + 1]))
        values.append(str(labels[i]))
    (folder / "frame99.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    return folder, values


def run_daemon(
    tmp_path: Path,
    source: Path,
    broker: Broker | None,
    *args: str,
    extra_env: dict[str, str] | None = None,
    **popen: object,
) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITCAM_")}
    env.update(
        {
            "DIGITCAM_DEVICE_ID": "testcam",
            "DIGITCAM_CAMERA__SOURCE": str(source),
            "DIGITCAM_CAMERA__FPS": "20",
            "DIGITCAM_STORAGE__PATH": str(tmp_path / "state.sqlite"),
            "DIGITCAM_MQTT__KEEPALIVE_S": "5",
        }
    )
    if broker is not None:
        env.update({"DIGITCAM_MQTT__HOST": broker.host, "DIGITCAM_MQTT__PORT": str(broker.port)})
    env.update(extra_env or {})
    return subprocess.Popen(
        [sys.executable, "-m", "edge.cli", "run", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def readings_of(sub, device: str = "testcam") -> list[dict]:
    return [json.loads(m.payload) for m in sub.on(f"digitcam/{device}/reading")]


def test_once_reads_every_frame_publishes_and_exits_zero(
    tmp_path: Path, frames, mosquitto: Broker, subscriber
) -> None:
    folder, values = frames
    sub = subscriber(mosquitto, ["digitcam/#"])
    proc = run_daemon(tmp_path, folder, mosquitto, "--once")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    printed = [json.loads(line) for line in out.splitlines()]
    assert [r["value"] for r in printed] == values
    assert [r["seq"] for r in printed] == list(range(1, 7))
    assert "frame99.jpg" in err, "the corrupt frame is logged by name"
    wait_until(lambda: len(readings_of(sub)) == 6, what="six readings at the subscriber")
    assert [r["value"] for r in readings_of(sub)] == values
    assert sub.on("digitcam/testcam/status")[-1].payload == b"offline"
    reading = readings_of(sub)[0]
    assert reading["device_id"] == "testcam" and reading["model"].startswith("mnist-cnn-")
    assert reading["frame"]["source"].endswith("frame00.png")
    assert reading["digits"][0]["box"][3] > 100, "boxes are in frame pixels"


def test_seq_continues_across_restarts(tmp_path: Path, frames) -> None:
    folder, _ = frames
    for expected_first in (1, 7):
        proc = run_daemon(tmp_path, folder, None, "--once")
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert json.loads(out.splitlines()[0])["seq"] == expected_first


def test_broker_down_at_start_loses_nothing(
    tmp_path: Path, frames, mosquitto_factory, subscriber
) -> None:
    folder, values = frames
    broker = mosquitto_factory(start=False)
    proc = run_daemon(tmp_path, folder, broker, "--once")
    time.sleep(3)  # the daemon reads every frame into its outbox meanwhile
    broker.start()
    sub = subscriber(broker, ["digitcam/testcam/reading"])
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    wait_until(lambda: len(readings_of(sub)) >= 1, what="the retained reading")
    # The subscriber joined late: it sees the retained last reading; the daemon's exit 0
    # means the broker acknowledged every one of the six.
    assert readings_of(sub)[-1]["value"] == values[-1]
    assert readings_of(sub)[-1]["seq"] == 6


def test_clean_stop_and_kill_both_leave_status_offline(
    tmp_path: Path, frames, mosquitto: Broker, subscriber
) -> None:
    folder, _ = frames
    sub = subscriber(mosquitto, ["digitcam/testcam/status"])
    for sig in (signal.SIGTERM, signal.SIGKILL):
        sub.clear()
        proc = run_daemon(tmp_path, folder, mosquitto)
        wait_until(
            lambda: any(m.payload == b"online" for m in sub.on("digitcam/testcam/status")),
            timeout_s=30,
            what="status online",
        )
        proc.send_signal(sig)
        proc.communicate(timeout=30)
        if sig == signal.SIGTERM:
            assert proc.returncode == 0
        # SIGKILL: the broker publishes the last will once the keepalive (5 s) runs out.
        wait_until(
            lambda: sub.on("digitcam/testcam/status")[-1].payload == b"offline",
            timeout_s=20,
            what=f"status offline after {sig.name}",
        )


def test_mqtt_off_prints_readings_and_keeps_history(tmp_path: Path, frames) -> None:
    folder, values = frames
    proc = run_daemon(tmp_path, folder, None, "--once")
    out, _ = proc.communicate(timeout=60)
    assert [json.loads(line)["value"] for line in out.splitlines()] == values
    from edge.store import Store

    store = Store(tmp_path / "state.sqlite", 100)
    try:
        history = store.history(limit=100)
        assert len(history) == 6
        assert store.outbox_depth() == 0, "no broker configured: nothing waits to be sent"
        # Each digit's model input is kept, so a later correction becomes a training example.
        crops = store.crops(history[0]["seq"])
        assert len(crops) == 1 and crops[0].image.shape == (28, 28)
        assert crops[0].png is not None and crops[0].png[:4] == b"\x89PNG"
    finally:
        store.close()


def test_missing_model_exits_78_naming_the_path(tmp_path: Path, frames) -> None:
    folder, _ = frames
    proc = run_daemon(
        tmp_path,
        folder,
        None,
        "--once",
        extra_env={"DIGITCAM_MODEL__PATH": "/nonexistent/model.onnx"},
    )
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 78
    assert "/nonexistent/model.onnx" in err


def test_once_with_a_missing_folder_fails_at_once(tmp_path: Path) -> None:
    proc = run_daemon(tmp_path, tmp_path / "nowhere", None, "--once")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 78
    assert "nowhere" in err


def fifty_frames(tmp_path: Path) -> Path:
    """A folder of 50 real frames (the mock numbers, repeated), named in replay order."""
    numbers = sorted((ROOT / "mock_frames" / "numbers").glob("*.jpg"))
    folder = tmp_path / "fifty"
    folder.mkdir()
    for i in range(50):
        (folder / f"frame{i:03d}.jpg").symlink_to(numbers[i % len(numbers)])
    return folder


def test_fps_0_once_replays_a_folder_as_fast_as_the_reader_goes(tmp_path: Path) -> None:
    proc = run_daemon(
        tmp_path, fifty_frames(tmp_path), None, "--once", extra_env={"DIGITCAM_CAMERA__FPS": "0"}
    )
    # Generous, but at camera.fps 0.5 fifty frames would take 100 s.
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    assert [json.loads(line)["frame"]["index"] for line in out.splitlines()] == list(range(50))


def test_fps_0_daemon_replays_every_frame_unpaced(tmp_path: Path) -> None:
    proc = run_daemon(
        tmp_path,
        fifty_frames(tmp_path),
        None,
        extra_env={"DIGITCAM_CAMERA__FPS": "0", "DIGITCAM_CAMERA__LOOP": "false"},
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")))
    reader.start()
    try:
        # The daemon stays up after the folder ends; at camera.fps 0.5 this would take 100 s.
        wait_until(lambda: len(lines) >= 50 or proc.poll() is not None, timeout_s=90, what="50")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        reader.join(10)
    assert proc.returncode == 0, err
    # As fast as the reader goes, not faster: no frame was read only to be dropped.
    assert [json.loads(line)["frame"]["index"] for line in lines] == list(range(50))
