"""Keep a flood of one repeated log message from filling the journal.

A fault that repeats many times a second (asyncio failing to accept connections once the
process is out of file descriptors logged 16,000 identical errors a second) would otherwise
write megabytes of the same lines and push everything useful out of the journal. The filter
lets the first few records of each message through per interval, says on the last one that
more are being counted, and on the first record after the interval says how many were held
back. "The same message" is the same logger, level and format string, whatever its
arguments: a skipped frame with a new index each time is still one flood.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

BURST = 10  # records of one message let through per interval
INTERVAL_S = 60.0
MAX_TRACKED = 1000  # distinct messages remembered; format strings are few, but be safe

_Key = tuple[str, int, str]


@dataclass
class _Window:
    started: float
    shown: int = 0
    held: int = 0


class RepeatFilter(logging.Filter):
    """Let `burst` records of one message through per `interval_s`; count the rest."""

    def __init__(
        self,
        burst: int = BURST,
        interval_s: float = INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.burst, self.interval_s, self.clock = burst, interval_s, clock
        self._windows: dict[_Key, _Window] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        now = self.clock()
        with self._lock:
            window = self._windows.get(key)
            held_before = 0
            if window is None or now - window.started >= self.interval_s:
                held_before = window.held if window is not None else 0
                window = self._windows[key] = _Window(started=now)
                self._forget_expired(now)
            if window.shown >= self.burst:
                window.held += 1
                return False
            window.shown += 1
            last = window.shown == self.burst
        if held_before:
            _append(record, f" [{held_before} more like this were suppressed]")
        elif last:
            _append(
                record,
                f" [repeated {self.burst} times: more like this are counted, not shown, "
                f"for {self.interval_s:.0f} s]",
            )
        return True

    def _forget_expired(self, now: float) -> None:
        if len(self._windows) <= MAX_TRACKED:
            return
        for key in [k for k, w in self._windows.items() if now - w.started >= self.interval_s]:
            del self._windows[key]
        while len(self._windows) > MAX_TRACKED:  # all still live: drop the oldest
            del self._windows[next(iter(self._windows))]


def _append(record: logging.LogRecord, suffix: str) -> None:
    """Add to the record's text; its arguments are merged in first so `%` in them is safe."""
    record.msg = record.getMessage() + suffix
    record.args = None


def install(root: logging.Logger | None = None) -> None:
    """Add one RepeatFilter to each handler of the root logger (call after configuring it)."""
    for handler in (root or logging.getLogger()).handlers:
        if not any(isinstance(f, RepeatFilter) for f in handler.filters):
            handler.addFilter(RepeatFilter())
