"""The camera side of the daemon: a grabber thread that keeps the newest frame of a source.

How the daemon uses it (`once` is `run --once`):

    source = open_source(settings.camera, pace=not once)
    grabber = FrameGrabber(source, stop, settings.camera.reopen_backoff_max_s, lossless=once)
    grabber.start()
    while not stop.is_set():
        frame = grabber.get(timeout_s=1.0)
        if frame is None:
            if grabber.done:  # a finite source was exhausted and every frame handed over
                break
            continue
        ...
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from edge.camera.capture import DeviceSource, StreamSource, VideoFileSource
from edge.camera.sources import (
    IMAGE_EXTENSIONS,
    STREAM_SCHEMES,
    VIDEO_EXTENSIONS,
    FolderSource,
    Frame,
    FrameSource,
    ImageFileSource,
    SourceError,
)
from edge.config import CameraSettings

logger = logging.getLogger(__name__)

GrabberState = Literal["opening", "open", "reopening", "finished", "stopped"]
# Live cameras adjust exposure and white balance over their first frames.
WARMUP_FRAMES = 5
# The exponent stops growing here: 2.0 ** 1024 overflows after a long enough outage.
_MAX_BACKOFF_EXPONENT = 16


class FrameGrabber:
    """Reads a FrameSource on its own thread and hands frames to one consumer.

    By default the newest frame wins: a frame the consumer has not taken when the next one
    arrives is replaced and counted in `dropped`, so a slow consumer never makes frames pile
    up. With lossless=True the reader waits for the consumer instead (`run --once`).
    A failing source is closed and reopened after 1 s, 2 s, 4 s ... up to backoff_max_s.
    """

    def __init__(
        self,
        source: FrameSource,
        stop: threading.Event,
        backoff_max_s: float = 30.0,
        *,
        lossless: bool = False,
    ) -> None:
        self.source = source
        self._stop = stop
        self._backoff_max_s = backoff_max_s
        self._lossless = lossless
        self._cond = threading.Condition()
        self._slot: Frame | None = None  # the frame waiting for the consumer
        self._latest: Frame | None = None
        self._thread = threading.Thread(target=self._run, name="frame-grabber", daemon=True)
        self.state: GrabberState = "opening"
        self.frames = 0  # read from the source, bad ones included
        self.dropped = 0  # replaced before the consumer took them
        self.failures = 0  # open or read failures, each followed by a reopen
        self.last_error: str | None = None
        self.retry_delay_s = 0.0  # the wait before the next reopen, while reopening

    def start(self) -> None:
        """Start reading; opens the source unless the caller already did."""
        self._thread.start()

    def join(self, timeout_s: float | None = None) -> bool:
        """Wait for the thread to end after stop is set (or the source finished); True if it did."""
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def get(self, timeout_s: float) -> Frame | None:
        """Take the waiting frame; None after timeout_s, or at once when nothing more will come."""
        with self._cond:
            self._cond.wait_for(
                lambda: self._slot is not None or self.state in ("finished", "stopped"), timeout_s
            )
            frame, self._slot = self._slot, None
            self._cond.notify_all()  # a lossless reader may be waiting for the free slot
            return frame

    def latest(self) -> Frame | None:
        """The newest frame read, without taking it from the consumer (for cmd/capture)."""
        return self._latest

    @property
    def done(self) -> bool:
        """True once a finite source is exhausted and the consumer has taken every frame."""
        with self._cond:
            return self.state == "finished" and self._slot is None

    def stats(self) -> dict[str, Any]:
        """Counters for the stats message and the health endpoint."""
        return {
            "source": self.source.name,
            "state": self.state,
            "frames": self.frames,
            "dropped": self.dropped,
            "failures": self.failures,
            "last_error": self.last_error,
        }

    def _run(self) -> None:
        failures_in_row = 0
        next_due = time.monotonic()
        try:
            while not self._stop.is_set():
                try:
                    if not self.source.is_open:
                        self.source.open()
                    self._set_state("open")
                    frame = self.source.read()
                    if frame is None and not self.source.finite:
                        raise SourceError(f"{self.source.name}: delivered no frame")
                except Exception as exc:
                    failures_in_row += 1
                    self._record_failure(exc, failures_in_row)
                    self._stop.wait(self.retry_delay_s)
                    continue
                if frame is None:
                    logger.info("camera %s finished after %d frames", self.source.name, self.frames)
                    self._set_state("finished")
                    return
                failures_in_row = 0
                self._hand_over(frame)
                next_due = self._pace(next_due)
        finally:
            self._close_source()
            with self._cond:
                if self.state != "finished":
                    self.state = "stopped"
                self._cond.notify_all()

    def _record_failure(self, exc: Exception, failures_in_row: int) -> None:
        self.failures += 1
        self.last_error = str(exc) or type(exc).__name__
        exponent = min(failures_in_row - 1, _MAX_BACKOFF_EXPONENT)
        self.retry_delay_s = min(2.0**exponent, self._backoff_max_s)
        self._set_state("reopening")
        logger.warning(
            "camera %s failed: %s; reopening in %.1f s",
            self.source.name,
            self.last_error,
            self.retry_delay_s,
            exc_info=not isinstance(exc, SourceError),  # an unexpected error shows its trace
        )
        self._close_source()

    def _hand_over(self, frame: Frame) -> None:
        with self._cond:
            self.frames += 1
            self._latest = frame
            if self._lossless:
                # Wake up now and then to notice the stop event, which cannot notify us.
                while self._slot is not None and not self._stop.is_set():
                    self._cond.wait(0.2)
            elif self._slot is not None:
                self.dropped += 1
            self._slot = frame
            self._cond.notify_all()

    def _pace(self, next_due: float) -> float:
        interval_s = self.source.interval_s
        if interval_s <= 0:
            return next_due
        # By deadline, so the time spent reading does not slow the rate; after a stall the
        # schedule restarts from now instead of bursting to catch up.
        next_due = max(next_due + interval_s, time.monotonic())
        self._stop.wait(next_due - time.monotonic())
        return next_due

    def _set_state(self, state: GrabberState) -> None:
        if self.state == state:
            return
        with self._cond:
            self.state = state
            self._cond.notify_all()

    def _close_source(self) -> None:
        try:
            self.source.close()
        except Exception:  # closing must not stop the retry loop
            logger.debug("camera %s: error while closing", self.source.name, exc_info=True)


def open_source(camera: CameraSettings, *, pace: bool = True) -> FrameSource:
    """The source named by camera.source, not yet opened (its open() may fail and be retried).

    pace=False reads file sources as fast as the consumer takes them (`run --once`), as
    does camera.fps 0 (replays in CI); a device at camera.fps 0 keeps its own rate.
    """
    source = _source_for(camera, pace)
    source.turn_deg = camera.rotate
    return source


def _source_for(camera: CameraSettings, pace: bool) -> FrameSource:
    spec = camera.source.strip()
    if not spec:
        raise SourceError("camera.source: empty (set a folder, file, device, index or URL)")
    if urlsplit(spec).scheme.lower() in STREAM_SCHEMES:
        return StreamSource(spec)
    if spec.isdigit():
        return DeviceSource(int(spec), camera.fps)
    if spec.startswith("/dev/"):
        return DeviceSource(spec, camera.fps)
    path = Path(spec).expanduser()
    interval_s = 1.0 / camera.fps if pace and camera.fps > 0 else 0.0
    suffix = path.suffix.lower()
    if path.is_dir():
        return FolderSource(path, loop=camera.loop, interval_s=interval_s)
    if suffix in IMAGE_EXTENSIONS:
        return ImageFileSource(path, loop=camera.loop, interval_s=interval_s)
    if path.is_file() or suffix in VIDEO_EXTENSIONS:
        return VideoFileSource(path, loop=camera.loop, interval_s=interval_s)
    # Not there yet and no file suffix: a folder still to be mounted or filled.
    return FolderSource(path, loop=camera.loop, interval_s=interval_s)


def capture_one(camera: CameraSettings) -> Frame:
    """One frame from camera.source now (a folder gives its first image); raises SourceError.

    Opens the source itself: while the daemon's grabber holds a camera device, use
    FrameGrabber.latest() instead, as a device cannot be opened twice.
    """
    source = open_source(camera, pace=False)
    source.open()
    try:
        frame = source.read()
        if source.live:
            for _ in range(WARMUP_FRAMES - 1):
                frame = source.read()
    finally:
        source.close()
    if frame is None:
        raise SourceError(f"camera {source.name}: delivered no frame")
    if frame.error:
        raise SourceError(frame.error)
    return frame
