"""Running totals of the readings stored since the API started, for Prometheus counters.

Counting rows in the history would go down when old readings are pruned, which Prometheus
takes for a restart; instead each scrape adds the readings with a seq above the last one seen.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from edge.store import Store

logger = logging.getLogger(__name__)

STATUSES = ("ok", "no_digit", "low_confidence")
# Upper bounds in milliseconds: a Pi 4 reads a frame in a few ms, a Pi Zero in tens.
PAGE_ROWS = 10_000
LATENCY_BUCKETS_MS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0)


@dataclass
class Histogram:
    bounds: tuple[float, ...] = LATENCY_BUCKETS_MS
    counts: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BUCKETS_MS))
    total: int = 0
    sum: float = 0.0

    def observe(self, value: float) -> None:
        self.total += 1
        self.sum += value
        for i, bound in enumerate(self.bounds):
            if value <= bound:
                self.counts[i] += 1

    def cumulative(self) -> list[tuple[str, int]]:
        """(le, count) pairs as Prometheus wants them, +Inf last."""
        pairs = zip(self.bounds, self.counts, strict=True)
        return [(_bound_text(b), c) for b, c in pairs] + [("+Inf", self.total)]


class ReadingTally:
    """Readings by status and a latency histogram, brought up to date on each scrape."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._last_seq: int | None = None
        self.by_status: dict[str, int] = dict.fromkeys(STATUSES, 0)
        self.latency = Histogram()

    def start(self) -> None:
        """Count from here on: readings already stored belong to an earlier run."""
        with self._lock:
            self._last_seq = self._store.last_seq()

    def update(self) -> None:
        """Add the readings stored since the last update."""
        with self._lock:
            if self._last_seq is None:
                self._last_seq = self._store.last_seq()
                return
            while True:
                rows = self._store.since_seq(self._last_seq, PAGE_ROWS)
                for seq, status, latency_ms in rows:
                    self.by_status[status] = self.by_status.get(status, 0) + 1
                    if latency_ms is not None:
                        self.latency.observe(latency_ms)
                    self._last_seq = seq
                if len(rows) < PAGE_ROWS:
                    return


def _bound_text(bound: float) -> str:
    return f"{bound:g}"
