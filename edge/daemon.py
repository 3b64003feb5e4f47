"""`digitcam run`: the App under signal handlers, and the exit code systemd acts on.

SIGTERM or SIGINT sets the one stop event; a start-up failure a restart cannot fix exits
with CONFIG_ERROR_EXIT so that systemd stops retrying.
"""

from __future__ import annotations

import logging
import signal
import sys

from edge.allocator import keep_frame_memory
from edge.app import START_ERRORS, App
from edge.config import CONFIG_ERROR_EXIT, Settings
from edge.reading import Reading

logger = logging.getLogger(__name__)


def print_reading(reading: Reading) -> None:
    sys.stdout.write(reading.to_json() + "\n")
    sys.stdout.flush()


def run_daemon(settings: Settings, *, once: bool = False) -> int:
    """`digitcam run`: returns the process exit code."""
    keep_frame_memory()  # a frame's buffers stay in the heap for the next frame
    emit = print_reading if (once or not settings.mqtt.host or sys.stdout.isatty()) else None
    app = App(settings, once=once, emit=emit)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: app.stop_event.set())
    try:
        app.start()
    except START_ERRORS as exc:
        app.stop()
        logger.error("cannot start: %s", exc)
        print(f"digitcam: cannot start: {exc}", file=sys.stderr)
        return CONFIG_ERROR_EXIT  # a restart would fail the same way: let systemd give up
    try:
        app.run()
    finally:
        drained = app.stop()
    unstored = app.snapshot().unstored
    if once and unstored:
        print(
            f"digitcam: {unstored} readings were not stored, only printed or published "
            f"(storage.path {settings.storage.path} could not be written)",
            file=sys.stderr,
        )
        return 1
    if once and not drained:
        print(
            "digitcam: some messages are still in the outbox; they are sent on the next start",
            file=sys.stderr,
        )
        return 1
    return 0
