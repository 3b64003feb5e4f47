"""Live counters of this process, and the one snapshot the stats message, /health and /metrics show.

The capture loop (and, under `digitcam serve`, the API's own reads) record frames, readings,
bad frames, errors and latencies into one Stats. snapshot() copies those counters and gathers
the camera, MQTT and outbox figures in one place, so the three views never disagree.

These counters start at zero with the process and only go up, as Prometheus expects. The
reading history in SQLite (what the performance page summarises) is a different thing: it
survives restarts and shrinks when old readings are pruned; it lives in edge.store.
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

from edge.reading import STATUSES, Reading
from edge.store import StoreError, StoreHealth

logger = logging.getLogger(__name__)

# Upper bounds in milliseconds: a Pi 4 reads a frame in a few ms, a Pi Zero in tens.
LATENCY_BUCKETS_MS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0)
LATENCY_WINDOW = 200  # the capture loop's recent readings whose median the stats message shows
FPS_WINDOW = 50  # the recent frames the frame rate is measured over


class CameraSource(Protocol):
    def stats(self) -> dict[str, Any]: ...


class MqttSource(Protocol):
    @property
    def state(self) -> str: ...

    def counters(self) -> dict[str, Any]: ...


class OutboxSource(Protocol):
    def outbox_depth(self) -> int: ...

    def dropped_count(self) -> int: ...

    def health(self) -> StoreHealth: ...


@dataclass(frozen=True)
class LatencyHistogram:
    """Reading latencies in Prometheus' shape: counts per upper bound are cumulative."""

    bounds: tuple[float, ...]
    counts: tuple[int, ...]
    total: int
    sum_ms: float

    def cumulative(self, unit_ms: float = 1.0) -> list[tuple[str, int]]:
        """(le, count) pairs as Prometheus wants them, +Inf last; bounds in units of unit_ms."""
        pairs = zip(self.bounds, self.counts, strict=True)
        return [(f"{b / unit_ms:g}", c) for b, c in pairs] + [("+Inf", self.total)]


@dataclass(frozen=True)
class OutboxFigures:
    depth: int | None
    dropped: int | None
    error: str | None = None  # why depth and dropped are unknown


@dataclass(frozen=True)
class StatsSnapshot:
    """Everything the stats message, /health and /metrics report, taken at one moment."""

    running: bool  # a capture loop runs (`digitcam run`); False under `digitcam serve`
    uptime_s: float
    frames: int  # taken from the camera by the capture loop, bad ones included
    readings: int  # read by the capture loop
    unstored: int  # of those, printed and published but not stored (the store failed)
    bad_frames: int
    errors: int
    fps: float
    latency_ms: float | None  # median of the capture loop's recent readings
    by_status: Mapping[str, int]  # readings stored since start, the API's own reads included
    latency: LatencyHistogram  # of the same readings as by_status
    camera: Mapping[str, Any] | None  # the grabber's figures; None when no camera was started
    mqtt: Mapping[str, Any] | None  # the publisher's figures; None when MQTT is off
    outbox: OutboxFigures
    storage: StoreHealth | None  # None when no store was opened
    model: str

    def message(self) -> dict[str, Any]:
        """The MQTT `stats` payload: uptime, frames, fps, latency, errors, outbox depth."""
        return {
            "uptime_s": round(self.uptime_s, 1),
            "frames": self.frames,
            "readings": self.readings,
            "bad_frames": self.bad_frames,
            "errors": self.errors,
            "fps": round(self.fps, 2),
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 3),
            "camera": dict(self.camera or {}),
            "mqtt": dict(self.mqtt) if self.mqtt is not None else {"state": "disabled"},
            "outbox_depth": self.outbox.depth,
            "outbox_dropped": self.outbox.dropped,
            "storage": storage_message(self.storage, self.unstored),
            "model": self.model,
        }


class Stats:
    """The live counters; thread-safe (the capture loop writes, API threads read and write)."""

    def __init__(self) -> None:
        self.started_at = time.monotonic()
        self._lock = threading.Lock()
        self._frames = self._readings = self._bad_frames = self._errors = self._unstored = 0
        self._frame_times: deque[float] = deque(maxlen=FPS_WINDOW)
        self._recent_ms: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self._by_status: dict[str, int] = dict.fromkeys(STATUSES, 0)
        self._bucket_counts = [0] * len(LATENCY_BUCKETS_MS)
        self._latency_total = 0
        self._latency_sum_ms = 0.0

    def frame(self) -> None:
        """The capture loop took a frame (good or bad)."""
        with self._lock:
            self._frames += 1
            self._frame_times.append(time.monotonic())

    def bad_frame(self) -> None:
        """A frame that could not be decoded."""
        with self._lock:
            self._bad_frames += 1

    def read_error(self) -> None:
        """A frame whose reading failed."""
        with self._lock:
            self._errors += 1

    def unstored(self) -> None:
        """A reading of the capture loop the store could not take (sent and printed only)."""
        with self._lock:
            self._unstored += 1

    def reading(self, reading: Reading, *, camera: bool = True) -> None:
        """A stored reading; camera=False for the API's own reads, which the stats message omits."""
        # The latency as the reading carries it (rounded), so the histogram matches the history.
        latency_ms = round(reading.latency_ms, 3)
        with self._lock:
            self._by_status[reading.status] = self._by_status.get(reading.status, 0) + 1
            self._latency_total += 1
            self._latency_sum_ms += latency_ms
            for i, bound in enumerate(LATENCY_BUCKETS_MS):
                if latency_ms <= bound:
                    self._bucket_counts[i] += 1
            if camera:
                self._readings += 1
                self._recent_ms.append(reading.latency_ms)

    def snapshot(
        self,
        *,
        model: str,
        store: OutboxSource | None,
        camera: CameraSource | None = None,
        mqtt: MqttSource | None = None,
        running: bool = True,
    ) -> StatsSnapshot:
        """The counters now, with the camera, MQTT and outbox figures read once each."""
        with self._lock:
            frame_times = list(self._frame_times)
            recent_ms = list(self._recent_ms)
            counts = (self._frames, self._readings, self._bad_frames, self._errors)
            unstored = self._unstored
            by_status = MappingProxyType(dict(self._by_status))
            latency = LatencyHistogram(
                LATENCY_BUCKETS_MS,
                tuple(self._bucket_counts),
                self._latency_total,
                self._latency_sum_ms,
            )
        outbox = outbox_figures(store)
        frames, readings, bad_frames, errors = counts
        return StatsSnapshot(
            running=running,
            uptime_s=time.monotonic() - self.started_at,
            frames=frames,
            readings=readings,
            unstored=unstored,
            bad_frames=bad_frames,
            errors=errors,
            fps=frame_rate(frame_times),
            latency_ms=statistics.median_high(recent_ms) if recent_ms else None,
            by_status=by_status,
            latency=latency,
            camera=MappingProxyType(camera.stats()) if camera is not None else None,
            mqtt=MappingProxyType(mqtt_figures(mqtt, outbox)) if mqtt is not None else None,
            outbox=outbox,
            storage=store.health() if store is not None else None,
            model=model,
        )


def frame_rate(times: list[float]) -> float:
    """Frames per second over monotonic frame times, oldest first; 0 for fewer than two."""
    if len(times) < 2 or times[-1] == times[0]:
        return 0.0
    return (len(times) - 1) / (times[-1] - times[0])


def storage_message(health: StoreHealth | None, unstored: int) -> dict[str, Any]:
    """The store's part of the stats message: state, failed writes, readings not stored."""
    if health is None:
        return {"state": "not open", "errors": 0, "unstored": unstored}
    return {"state": health.state, "errors": health.errors, "unstored": unstored}


def outbox_figures(store: OutboxSource | None) -> OutboxFigures:
    """The outbox's depth and drop count; unknown, with the reason, when the store fails."""
    if store is None:
        return OutboxFigures(None, None, "history store not open")
    try:
        return OutboxFigures(store.outbox_depth(), store.dropped_count())
    except StoreError as exc:
        return OutboxFigures(None, None, str(exc))


def mqtt_figures(mqtt: MqttSource, outbox: OutboxFigures) -> dict[str, Any]:
    """The publisher's state and counters, with the snapshot's own outbox figures."""
    try:
        figures = mqtt.counters()
    except StoreError:  # the publisher reads the outbox too; its state is still worth showing
        return {"state": mqtt.state}
    # The publisher reports the outbox as well: one read per snapshot keeps the two equal.
    for key, value in (("outbox_depth", outbox.depth), ("outbox_dropped", outbox.dropped)):
        if key in figures:
            figures[key] = value
    return figures
