"""What every drill needs: camera frames, the daemon as a subprocess, and the tally of seqs.

The daemon runs exactly as `digitcam run` on a device, configured by DIGITCAM_* variables
(an empty config file keeps /etc/digitcam out of it), its log written to a file the drill
reads. The tally compares the readings the daemon stored (its SQLite history, seq 1..N)
with what a subscriber received.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from tests.conftest import Broker, Subscriber, poll_until, wait_until
from training.mnist import load_split

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "fixtures" / "mnist_sample"
DEVICE = "drill"
READING_TOPIC = f"digitcam/{DEVICE}/reading"
STATS_TOPIC = f"digitcam/{DEVICE}/stats"


def paper_frame(digit: np.ndarray) -> np.ndarray:
    """One MNIST digit as dark ink on light paper, 640x480 grey, about 150 px tall."""
    frame = np.full((480, 640), 225, np.uint8)
    big = cv2.resize(255 - digit, (150, 150), interpolation=cv2.INTER_CUBIC)
    frame[160:310, 245:395] = np.minimum(frame[160:310, 245:395], big)
    return frame


def sample_digits(count: int) -> tuple[np.ndarray, list[str]]:
    """The first `count` MNIST test digits of the fixture sample and their labels."""
    images, labels = load_split(SAMPLE, "test")
    return images[:count], [str(v) for v in labels[:count]]


def write_frames(folder: Path, count: int = 6) -> list[str]:
    """A folder of JPEG camera frames, one digit each; returns the true values in file order."""
    folder.mkdir(parents=True, exist_ok=True)
    images, values = sample_digits(count)
    for i, image in enumerate(images):
        ok, data = cv2.imencode(".jpg", paper_frame(image), [cv2.IMWRITE_JPEG_QUALITY, 90])
        assert ok
        (folder / f"frame{i:02d}.jpg").write_bytes(data.tobytes())
    return values


def persistent_broker(factory: Any) -> Broker:
    """A broker that keeps sessions on disk, saved every second, so a SIGKILL loses at most 1 s.

    Without the autosave, mosquitto writes its sessions only on a clean stop: a crash would
    forget the subscriber's subscription, and what the daemon resends after the restart
    would reach nobody. The queue for an offline subscriber is unbounded (default 1000).
    """
    broker: Broker = factory(persistence=True, start=False)
    with broker.config_path.open("a") as config:
        config.write("autosave_interval 1\nmax_queued_messages 0\n")
    broker.start()
    return broker


def saved(broker: Broker, timeout_s: float = 10.0) -> None:
    """Wait until a persistent broker has written its sessions to disk since this call.

    A broker in service saved its subscribers' sessions long before it crashes; a drill's
    broker may be killed within its first second, before its first autosave, and then come
    back knowing no subscriber: what the daemon resends is acknowledged and reaches nobody.
    """
    since = time.time()
    db = broker.workdir / "mosquitto.db"
    wait_until(
        lambda: db.exists() and db.stat().st_mtime > since,
        timeout_s=timeout_s,
        what="the broker's autosave",
    )


def durable_subscriber(make: Any, broker: Broker) -> Subscriber:
    """QoS 1 with a persistent session: messages wait at the broker while it is offline."""
    return make(
        broker, [READING_TOPIC, STATS_TOPIC], client_id="drill-subscriber", clean_session=False
    )


class Daemon:
    """`digitcam run` as a subprocess; start/kill/stop keep the same storage and log file."""

    def __init__(self, workdir: Path, source: Path, broker: Broker | None, **settings: str) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        config = workdir / "empty.toml"
        config.write_text("# every setting comes from DIGITCAM_* variables\n")
        self.db_path = workdir / "state.sqlite"
        self.log_path = workdir / "daemon.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITCAM_")}
        self.env.update(
            {
                "DIGITCAM_CONFIG": str(config),
                "DIGITCAM_DEVICE_ID": DEVICE,
                "DIGITCAM_CAMERA__SOURCE": str(source),
                "DIGITCAM_CAMERA__FPS": "20",
                "DIGITCAM_CAMERA__LOOP": "true",
                "DIGITCAM_CAMERA__REOPEN_BACKOFF_MAX_S": "1",
                "DIGITCAM_STORAGE__PATH": str(self.db_path),
                "DIGITCAM_MQTT__KEEPALIVE_S": "5",
                "DIGITCAM_MQTT__STATS_INTERVAL_S": "0.5",
            }
        )
        if broker is not None:
            self.env.update(
                {"DIGITCAM_MQTT__HOST": broker.host, "DIGITCAM_MQTT__PORT": str(broker.port)}
            )
        self.env.update({f"DIGITCAM_{k.upper()}": v for k, v in settings.items()})
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "daemon already running"
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "edge.cli", "run"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=log,
            )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: a power cut, as far as the daemon can tell."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, timeout_s: float = 60.0) -> int:
        """SIGTERM (flushes the outbox for up to 10 s) and the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout_s)

    def ensure_stopped(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def status_kb(self, key: str) -> int:
        """VmRSS / VmHWM of the running daemon in kB, from /proc."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        raise KeyError(key)

    def fd_count(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def stored_seqs(self) -> list[int]:
        """Every reading's seq in the daemon's history, ascending."""
        with sqlite3.connect(self.db_path, timeout=10) as db:
            return [row[0] for row in db.execute("SELECT seq FROM readings ORDER BY seq")]

    def stored_count(self) -> int:
        """Readings stored so far; 0 while the daemon has not yet made its database."""
        if not self.db_path.exists():  # connecting would create the file under the daemon
            return 0
        try:
            return len(self.stored_seqs())
        except sqlite3.OperationalError:  # the tables are not there yet
            return 0


def settle(sub: Subscriber, daemon: Daemon, timeout_s: float = 30.0) -> Tally:
    """After the daemon stopped: wait for every stored reading to arrive, then count."""
    produced = daemon.stored_seqs()
    poll_until(lambda: set(produced) <= set(live_seqs(sub)), timeout_s)
    return Tally(produced, live_seqs(sub))


def live_seqs(sub: Subscriber) -> list[int]:
    """Seqs delivered live or from the persistent queue, in arrival order.

    Retained copies are left out: the broker replays the last reading on every (re)subscribe,
    which is MQTT's retain working, not the daemon sending anything twice.
    """
    return [json.loads(m.payload)["seq"] for m in sub.on(READING_TOPIC) if not m.retain]


def last_stats(sub: Subscriber) -> dict[str, Any]:
    stats = sub.on(STATS_TOPIC)
    return json.loads(stats[-1].payload) if stats else {}


@dataclass
class Tally:
    """Readings the daemon stored against readings the subscriber received."""

    produced: list[int]
    arrived: list[int]
    lost: list[int] = field(init=False)
    duplicates: int = field(init=False)
    out_of_order: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.lost = sorted(set(self.produced) - set(self.arrived))
        self.duplicates = len(self.arrived) - len(set(self.arrived))
        # At least once, in order: each seq's first arrival comes after every smaller seq's.
        seen: set[int] = set()
        highest, self.out_of_order = 0, []
        for seq in self.arrived:
            if seq in seen:
                continue
            seen.add(seq)
            if seq < highest:
                self.out_of_order.append(seq)
            highest = max(highest, seq)

    @property
    def received(self) -> int:
        return len(set(self.arrived) & set(self.produced))

    def duplicated(self) -> set[int]:
        counts: dict[int, int] = {}
        for seq in self.arrived:
            counts[seq] = counts.get(seq, 0) + 1
        return {seq for seq, n in counts.items() if n > 1}
