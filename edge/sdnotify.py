"""systemd's sd_notify protocol, spoken directly: one datagram per message to $NOTIFY_SOCKET.

No dependency (no libsystemd, no python-systemd): the protocol is a few `KEY=value` lines sent
over an AF_UNIX datagram socket. Outside systemd (a terminal, tests, `make run`) there is no
$NOTIFY_SOCKET and every call is a cheap no-op, so the daemon calls these unconditionally.

With `Type=notify` systemd starts dependants only after `ready()`, shows `status()` in
`systemctl status digitcam`, restarts the service when `watchdog()` stops arriving for
WatchdogSec=, and knows from `stopping()` that a slow stop (the outbox flush) is deliberate.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Mapping

logger = logging.getLogger(__name__)


def socket_address(value: str) -> str | bytes | None:
    """The address to send to: a path, or an abstract name ('@' becomes a leading NUL byte)."""
    if not value:
        return None
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    if value.startswith("/"):
        return value
    # sd_notify(3) also knows vsock addresses (VMs); a device daemon never sees those.
    logger.warning("NOTIFY_SOCKET=%s is not a unix socket path; systemd notifications off", value)
    return None


class Notifier:
    """Tells systemd how the daemon is doing; does nothing when not run by systemd."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self._address = socket_address(env.get("NOTIFY_SOCKET", ""))
        self._watchdog_s = _watchdog_interval(env)
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()  # ready/status/watchdog come from different threads
        self._failed_once = False

    @property
    def enabled(self) -> bool:
        """True when systemd gave us a notification socket."""
        return self._address is not None

    def ready(self) -> None:
        """Start-up is complete (model loaded, camera open): systemd marks the unit active."""
        self.notify("READY=1")

    def status(self, text: str) -> None:
        """One line shown by `systemctl status digitcam`."""
        # A newline would start a new KEY=value field and cut the status short.
        self.notify("STATUS=" + " ".join(text.splitlines()))

    def watchdog(self) -> None:
        """The capture loop is alive; must arrive at least every WatchdogSec=."""
        self.notify("WATCHDOG=1")

    def stopping(self) -> None:
        """Shutdown has begun; the outbox flush that follows is expected."""
        self.notify("STOPPING=1")

    def watchdog_interval_s(self) -> float | None:
        """How often to call watchdog(): half of WatchdogSec=, or None when no watchdog is set."""
        return self._watchdog_s

    def notify(self, *fields: str) -> bool:
        """Send one message of KEY=value fields; False when off or when sending failed."""
        if self._address is None:
            return False
        message = "\n".join(fields).encode()
        with self._lock:
            try:
                if self._sock is None:
                    self._sock = socket.socket(
                        socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
                    )
                self._sock.sendto(message, self._address)
            except OSError as exc:
                # systemd gone or socket removed: worth one line in the log, never a crash.
                if not self._failed_once:
                    self._failed_once = True
                    logger.warning(
                        "systemd notification to %s failed: %s", self._address_text(), exc
                    )
                return False
        return True

    def close(self) -> None:
        """Release the socket; later calls open a new one."""
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None

    def _address_text(self) -> str:
        if isinstance(self._address, bytes):
            return "@" + self._address[1:].decode(errors="replace")
        return str(self._address)


def _watchdog_interval(env: Mapping[str, str]) -> float | None:
    """Half of $WATCHDOG_USEC, the margin sd_watchdog_enabled(3) recommends, when meant for us."""
    pid = env.get("WATCHDOG_PID", "")
    if pid and pid != str(os.getpid()):
        return None  # the watchdog is meant for another process (e.g. our parent)
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 2_000_000 if usec > 0 else None
