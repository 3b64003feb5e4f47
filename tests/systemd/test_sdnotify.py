"""edge.sdnotify against real AF_UNIX datagram sockets, as systemd would listen on them."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.sdnotify import Notifier


def _receive_all(sock: socket.socket) -> list[str]:
    messages = []
    sock.settimeout(0.2)
    while True:
        try:
            messages.append(sock.recv(4096).decode())
        except TimeoutError:
            return messages


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """A datagram socket bound in the file system, like /run/systemd/notify."""
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    yield sock, str(path)
    sock.close()


def test_messages_arrive_in_order(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = Notifier({"NOTIFY_SOCKET": path})
    assert notifier.enabled
    notifier.ready()
    notifier.status("fps 2.0, last 417, broker connected, outbox 0")
    notifier.watchdog()
    notifier.stopping()
    assert _receive_all(sock) == [
        "READY=1",
        "STATUS=fps 2.0, last 417, broker connected, outbox 0",
        "WATCHDOG=1",
        "STOPPING=1",
    ]


def test_abstract_socket() -> None:
    name = f"digitcam-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    try:
        Notifier({"NOTIFY_SOCKET": "@" + name}).ready()
        assert _receive_all(sock) == ["READY=1"]
    finally:
        sock.close()


def test_multiline_status_stays_one_field(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    Notifier({"NOTIFY_SOCKET": path}).status("camera lost\nreopening in 4 s")
    # A raw newline would make systemd read "reopening in 4 s" as a separate, invalid field.
    assert _receive_all(sock) == ["STATUS=camera lost reopening in 4 s"]


def test_without_systemd_every_call_is_a_no_op() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    notifier.ready()
    notifier.status("x")
    notifier.watchdog()
    notifier.stopping()
    assert notifier.watchdog_interval_s() is None


def test_vanished_socket_is_logged_once_and_never_raises(
    listener: tuple[socket.socket, str], caplog: pytest.LogCaptureFixture
) -> None:
    sock, path = listener
    notifier = Notifier({"NOTIFY_SOCKET": path})
    notifier.ready()
    sock.close()
    os.unlink(path)  # systemd went away (or was restarted) under the daemon
    with caplog.at_level(logging.WARNING, logger="edge.sdnotify"):
        for _ in range(3):
            notifier.watchdog()
            notifier.status("still running")
    warnings = [r for r in caplog.records if r.name == "edge.sdnotify"]
    assert len(warnings) == 1 and path in warnings[0].getMessage()


def test_watchdog_interval_is_half_of_watchdog_usec() -> None:
    usec = {"WATCHDOG_USEC": "30000000"}
    assert Notifier(usec).watchdog_interval_s() == 15.0
    assert Notifier({**usec, "WATCHDOG_PID": str(os.getpid())}).watchdog_interval_s() == 15.0
    # Meant for another process (systemd sets WATCHDOG_PID to the main PID only).
    assert Notifier({**usec, "WATCHDOG_PID": "1"}).watchdog_interval_s() is None
    assert Notifier({"WATCHDOG_USEC": "garbage"}).watchdog_interval_s() is None
    assert Notifier({"WATCHDOG_USEC": "0"}).watchdog_interval_s() is None


def test_reads_the_process_environment_by_default(
    listener: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sock, path = listener
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "10000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    notifier = Notifier()
    notifier.watchdog()
    assert notifier.watchdog_interval_s() == 5.0
    assert _receive_all(sock) == ["WATCHDOG=1"]
