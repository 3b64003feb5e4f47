"""The daemon as it runs on a device, measured from outside: cold start, memory, no torch.

`digitcam run` starts as a subprocess configured only by DIGITCAM_* variables (an empty
config file keeps /etc/digitcam out of it), MQTT off so readings arrive on stdout, replaying
a folder of frames in a loop at the highest camera.fps the configuration allows.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

from edge.config import CameraSettings

logger = logging.getLogger(__name__)

# Log lines that end the phases of a cold start (edge.model and edge.app write them).
MODEL_LOADED = "model loaded"
STARTED = "digitcam started"


class DaemonRun:
    """One `digitcam run` subprocess; stdout readings are counted as they arrive."""

    def __init__(
        self,
        workdir: Path,
        source: Path,
        model_path: Path | None,
        fps: float,
        api_port: int | None = None,
    ) -> None:
        config = workdir / "empty.toml"
        config.write_text("# defaults only: the benchmark sets everything through DIGITCAM_*\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITCAM_")}
        env.update(
            {
                "DIGITCAM_CONFIG": str(config),
                "DIGITCAM_DEVICE_ID": "bench",
                "DIGITCAM_LOG_LEVEL": "INFO",
                "DIGITCAM_CAMERA__SOURCE": str(source),
                "DIGITCAM_CAMERA__FPS": str(fps),
                "DIGITCAM_CAMERA__LOOP": "true",
                "DIGITCAM_MQTT__HOST": "",
                "DIGITCAM_API__ENABLED": "false",
                "DIGITCAM_MODEL__THREADS": "1",
                "DIGITCAM_STORAGE__PATH": str(workdir / "bench.sqlite"),
            }
        )
        if model_path is not None:
            env["DIGITCAM_MODEL__PATH"] = str(model_path)
        if api_port is not None:  # the local HTTP API and page in the same process
            env.update({"DIGITCAM_API__ENABLED": "true", "DIGITCAM_API__PORT": str(api_port)})
        self.readings = 0
        self.first_reading_s: float | None = None
        self.marks: dict[str, float] = {}
        self.log_tail: list[str] = []
        self._count_lock = threading.Condition()
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "edge.cli", "run"],
            env=env,
            cwd=workdir,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        threading.Thread(target=self._count_readings, args=(self.proc.stdout,), daemon=True).start()
        threading.Thread(target=self._watch_log, args=(self.proc.stderr,), daemon=True).start()

    def _count_readings(self, stream: IO[str]) -> None:
        for _line in stream:
            with self._count_lock:
                if self.first_reading_s is None:
                    self.first_reading_s = time.monotonic() - self.started
                self.readings += 1
                self._count_lock.notify_all()
        with self._count_lock:
            self._count_lock.notify_all()

    def _watch_log(self, stream: IO[str]) -> None:
        for line in stream:
            for mark in (MODEL_LOADED, STARTED):
                if mark in line and mark not in self.marks:
                    self.marks[mark] = time.monotonic() - self.started
            self.log_tail = [*self.log_tail[-19:], line.rstrip()]

    def wait_readings(self, count: int, timeout_s: float) -> bool:
        """True once `count` readings were printed; False on timeout or when the daemon died."""
        deadline = time.monotonic() + timeout_s
        with self._count_lock:
            while self.readings < count:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    return False
                self._count_lock.wait(min(left, 0.5))
        return True

    def status_field(self, key: str) -> int:
        """A number from /proc/<pid>/status (VmRSS, VmHWM, RssAnon, RssFile in kB, Threads), 0
        once gone."""
        try:
            text = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return 0
        for line in text.splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        return 0

    def mapped(self, name: str) -> bool:
        """Whether a file whose path contains `name` is mapped into the daemon (a library)."""
        try:
            return name in Path(f"/proc/{self.proc.pid}/maps").read_text()
        except OSError:
            return False

    def stop(self) -> int | None:
        """SIGTERM and wait; the exit code (None if it had to be killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                return None
        return self.proc.returncode


def max_camera_fps() -> float:
    """The highest camera.fps the configuration accepts: the replay runs that fast."""
    for constraint in CameraSettings.model_fields["fps"].metadata:
        if getattr(constraint, "le", None) is not None:
            return float(constraint.le)
    return 120.0


def replay_folder(workdir: Path, frames: list[Path]) -> Path:
    """A folder of symbolic links to the given frames: one loop of the replay."""
    folder = workdir / "frames"
    folder.mkdir()
    for i, frame in enumerate(frames):
        (folder / f"frame{i:05d}{frame.suffix.lower()}").symlink_to(frame.resolve())
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mb(kb: int) -> float:
    return round(kb / 1024.0, 1)


def cold_start(run: DaemonRun, timeout_s: float) -> dict[str, Any]:
    """Process start to the first reading on stdout, split at the daemon's own log lines."""
    run.wait_readings(1, timeout_s)
    first = run.first_reading_s
    loaded, started = run.marks.get(MODEL_LOADED), run.marks.get(STARTED)
    phases = {}
    if first is not None and loaded is not None and started is not None:
        phases = {
            "python, imports, config and model": round(loaded, 3),
            "storage and camera": round(started - loaded, 3),
            "first frame read": round(first - started, 3),
        }
    return {"seconds": None if first is None else round(first, 3), "phases": phases}


def measure_daemon(
    frames: list[Path],
    model_path: Path | None,
    total_frames: int,
    warmup_frames: int,
    cold_starts: int,
    fps: float | None = None,
    timeout_s: float = 900.0,
    api: bool = False,
) -> dict[str, Any]:
    """RSS after warm-up and after `total_frames`, cold start (median of runs), torch check.

    With `api` the daemon also serves the HTTP API and page (api.enabled), as `serve` does.
    """
    fps = fps or max_camera_fps()
    with tempfile.TemporaryDirectory(prefix="digitcam-bench-") as tmp:
        workdir = Path(tmp)
        source = replay_folder(workdir, frames)
        port = free_port() if api else None
        run = DaemonRun(workdir, source, model_path, fps, port)
        starts = [cold_start(run, 60.0)]
        try:
            if starts[0]["seconds"] is None or not run.wait_readings(warmup_frames, timeout_s):
                return {"error": "the daemon produced no readings", "log": run.log_tail}
            rss_warm = run.status_field("VmRSS")
            warm_at = time.monotonic()
            reached = run.wait_readings(total_frames, timeout_s)
            elapsed = time.monotonic() - warm_at
            done = run.readings
            rss_after, hwm = run.status_field("VmRSS"), run.status_field("VmHWM")
            # What the RSS is made of: the daemon's own memory (heap, arrays, the models'
            # buffers) and the pages of library files it maps (code and data of OpenCV,
            # onnxruntime, numpy, Python), shared with any process mapping them and dropped by
            # the kernel under pressure. How many of those count depends on the kernel: right
            # after the libraries were installed their files can sit in the page cache in
            # large folios, each mapped whole, and the same daemon reads tens of MB more.
            rss_anon, rss_file = run.status_field("RssAnon"), run.status_field("RssFile")
            threads = run.status_field("Threads")
            torch_loaded = run.mapped("libtorch") or run.mapped("/torch/")
            onnxruntime_loaded = run.mapped("onnxruntime")
        finally:
            exit_code = run.stop()
        for _ in range(1, cold_starts):
            again = DaemonRun(workdir, source, model_path, fps, free_port() if api else None)
            try:
                starts.append(cold_start(again, 60.0))
            finally:
                again.stop()
    timed = sorted((s for s in starts if s["seconds"] is not None), key=lambda s: s["seconds"])
    median_start = timed[len(timed) // 2] if timed else {"seconds": None, "phases": {}}
    return {
        "api": api,
        "camera_fps": fps,
        "frames": done,
        "reached_target": reached,
        "warmup_frames": warmup_frames,
        "replay_fps": round((done - warmup_frames) / elapsed, 1) if elapsed > 0 else None,
        "rss_warm_mb": mb(rss_warm),
        "rss_after_mb": mb(rss_after),
        "rss_anon_mb": mb(rss_anon),
        "rss_file_mb": mb(rss_file),
        "hwm_mb": mb(hwm),
        "threads": threads,
        "torch_loaded": torch_loaded,
        "onnxruntime_loaded": onnxruntime_loaded,
        "cold_start_s": median_start["seconds"],
        "cold_start_phases": median_start["phases"],
        "cold_starts_s": [s["seconds"] for s in starts],
        "exit_code": exit_code,
    }
