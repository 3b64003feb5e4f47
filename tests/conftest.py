"""Shared fixtures: a real Mosquitto broker on a free loopback port, and a collecting subscriber."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

MOSQUITTO = shutil.which("mosquitto") or next(
    (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)),
    None,
)
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd")


def poll_until(condition: Callable[[], Any], timeout_s: float = 5.0) -> Any:
    """Poll `condition` until it returns something truthy (returned); None after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            return None
        time.sleep(0.02)


def wait_until(condition: Callable[[], Any], timeout_s: float = 10.0, what: str = "") -> Any:
    """Like poll_until, but fail the test on timeout, naming what was awaited."""
    result = poll_until(condition, timeout_s)
    if not result:
        pytest.fail(f"timed out after {timeout_s} s waiting for {what or condition}")
    return result


def load_script(name: str, path: Path) -> ModuleType:
    """A script that is not in a package (mock_frames/*.py), loaded from its path.

    Registered in sys.modules (dataclasses look their module up by name); sys.path, which the
    script may extend to find its neighbours, is put back afterwards.
    """
    saved = list(sys.path)
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path[:] = saved


def digitcam_cli(storage_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`digitcam ARGS` as a user runs it, its store in `storage_dir`, no DIGITCAM_* leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITCAM_")}
    env["DIGITCAM_STORAGE__PATH"] = str(storage_dir / "state.sqlite")
    return subprocess.run(
        [sys.executable, "-m", "edge.cli", *args],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Broker:
    """One mosquitto process; start/stop/kill/restart keep the same port and files."""

    def __init__(
        self, workdir: Path, users: dict[str, str] | None, persistence: bool, tls: bool = False
    ) -> None:
        self.host, self.port = "127.0.0.1", free_port()
        self.workdir = workdir
        self.log_path = workdir / "mosquitto.log"
        self.ca_file = workdir / "ca.crt"  # exists when tls=True
        self.proc: subprocess.Popen[bytes] | None = None
        lines = [
            f"listener {self.port} 127.0.0.1",
            *(self._make_certificates() if tls else []),
            f"allow_anonymous {'false' if users else 'true'}",
            f"persistence {'true' if persistence else 'false'}",
            f"persistence_location {workdir}/",
            f"log_dest file {self.log_path}",
        ]
        if os.geteuid() == 0:
            lines.append("user root")  # otherwise mosquitto drops to a user who cannot write here
        if users:
            password_file = workdir / "passwords"
            for index, (name, password) in enumerate(users.items()):
                create = ["-c"] if index == 0 else []
                subprocess.run(
                    [
                        MOSQUITTO_PASSWD or "mosquitto_passwd",
                        *create,
                        "-b",
                        str(password_file),
                        name,
                        password,
                    ],
                    check=True,
                )
            lines.append(f"password_file {password_file}")
        self.config_path = workdir / "mosquitto.conf"
        self.config_path.write_text("\n".join(lines) + "\n")

    def _make_certificates(self) -> list[str]:
        """A throwaway CA and a server certificate for 127.0.0.1; returns the listener lines."""
        if shutil.which("openssl") is None:
            pytest.skip("openssl is not installed")
        d = self.workdir
        key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
        for command in (
            [
                "req",
                "-x509",
                *key,
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "2",
                "-subj",
                "/CN=DigitCam test CA",
            ],
            ["req", *key, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"],
            [
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.crt",
                "-days",
                "2",
                "-extfile",
                "san.ext",
            ],
        ):
            subprocess.run(["openssl", *command], cwd=d, check=True, capture_output=True)
        return [
            f"cafile {d / 'ca.crt'}",
            f"certfile {d / 'server.crt'}",
            f"keyfile {d / 'server.key'}",
        ]

    def start(self) -> None:
        assert self.proc is None, "broker already running"
        self.proc = subprocess.Popen(
            [str(MOSQUITTO), "-c", str(self.config_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                self.proc = None
                raise RuntimeError(f"mosquitto exited at start: {err}\n{self.log()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"mosquitto never listened on {self.port}\n{self.log()}"
                    ) from None
                time.sleep(0.02)

    def stop(self) -> None:
        """SIGTERM: a clean shutdown (persistence is saved when enabled)."""
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL: the broker vanishes as in a crash or power cut."""
        self._signal(signal.SIGKILL)

    def freeze(self) -> None:
        """SIGSTOP: connections stay open but nothing is read or acknowledged."""
        assert self.proc is not None, "broker not running"
        os.kill(self.proc.pid, signal.SIGSTOP)

    def restart(self) -> None:
        self.stop()
        self.start()

    def _signal(self, sig: signal.Signals) -> None:
        if self.proc is None:
            return
        os.kill(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        if self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def refused_count(self) -> int:
        """Connections the broker turned away for bad credentials so far."""
        return self.log().count("not authorised")


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[Callable[..., Broker]]:
    """Make brokers: `make(users={"name": "password"}, persistence=True, tls=True, start=True)`."""
    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto mosquitto-clients)")
    brokers: list[Broker] = []

    def make(
        users: dict[str, str] | None = None,
        persistence: bool = False,
        tls: bool = False,
        start: bool = True,
    ) -> Broker:
        workdir = tmp_path / f"broker{len(brokers)}"
        workdir.mkdir()
        broker = Broker(workdir, users, persistence, tls)
        brokers.append(broker)
        if start:
            broker.start()
        return broker

    yield make
    for broker in brokers:
        broker.kill()


@pytest.fixture
def mosquitto(mosquitto_factory: Callable[..., Broker]) -> Broker:
    """A running anonymous broker without persistence, fresh for each test."""
    return mosquitto_factory()


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    retain: bool
    qos: int


class Subscriber:
    """A paho client that collects messages and resubscribes after every reconnect."""

    def __init__(
        self,
        broker: Broker,
        topics: list[str],
        client_id: str = "",
        clean_session: bool = True,
        **credentials: str,
    ) -> None:
        self.messages: list[Message] = []
        self.subscribed = 0  # SUBACKs received, one per (re)connect
        self._lock = threading.Lock()
        self._topics = topics
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean_session
        )
        if credentials:
            self.client.username_pw_set(credentials["username"], credentials.get("password"))
        self.client.reconnect_delay_set(1, 1)
        self.client.on_connect = lambda c, *_: c.subscribe([(t, 1) for t in self._topics])
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port, keepalive=5)
        self.client.loop_start()
        wait_until(lambda: self.subscribed, what="the test subscriber's SUBACK")

    def _on_subscribe(self, *_: Any) -> None:
        self.subscribed += 1

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(Message(msg.topic, bytes(msg.payload), bool(msg.retain), msg.qos))

    def on(self, topic: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m.topic == topic]

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def subscriber() -> Iterator[Callable[..., Subscriber]]:
    """Make subscribers: `subscriber(broker, ["digitcam/#"], client_id=..., clean_session=...)`."""
    made: list[Subscriber] = []

    def make(broker: Broker, topics: list[str], **kwargs: Any) -> Subscriber:
        made.append(Subscriber(broker, topics, **kwargs))
        return made[-1]

    yield make
    for sub in made:
        sub.close()
