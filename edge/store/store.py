"""SQLite store: reading history, the MQTT outbox, the seq counter, digit crops and labels.

Store opens one Db (edge.store.db: schema, connections, transactions) and hands it to each
of its parts: the outbox (edge.store.outbox), the history (edge.store.history), crops and
labels (edge.store.labels) and the reports for /metrics and the performance page
(edge.store.reports). Its methods are the ones callers use, each passed to its part. The
capture thread writes, the publisher drains the outbox, the HTTP API reads history. Every
public method raises StoreError naming the file when SQLite fails, so the daemon can log it
and carry on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from edge.reading import Reading
from edge.store.condition import StoreHealth
from edge.store.db import Db, StoreError
from edge.store.frames import Frames, RegionFrame
from edge.store.history import CorrectionResult, History
from edge.store.labels import CROP_SHAPE, Crop, CropsAndLabels, Label, LabelSource
from edge.store.meters import MeterStates
from edge.store.outbox import Outbox, OutboxItem
from edge.store.reports import HistoryReports
from edge.store.schema import SCHEMA_VERSION

logger = logging.getLogger(__name__)


class Store:
    """History, outbox, seq counter, crops and labels in one SQLite file; thread-safe."""

    def __init__(self, path: Path, outbox_max: int) -> None:
        self.db = Db(path)
        self.outbox = Outbox(self.db, outbox_max)
        self.crops_and_labels = CropsAndLabels(self.db)
        self.readings = History(self.db, self.outbox, self.crops_and_labels)
        self.reports = HistoryReports(self.db)
        self.meters = MeterStates(self.db)
        self.frames = Frames(self.db)

    @property
    def path(self) -> Path:
        """The SQLite file."""
        return self.db.path

    @property
    def outbox_max(self) -> int:
        """The most messages the outbox keeps before it drops the oldest."""
        return self.outbox.outbox_max

    def close(self) -> None:
        """Close the file; later calls raise StoreError."""
        self.db.close()

    def health(self) -> StoreHealth:
        """Whether the file can be written now (a full or read-only disk says so) and errors."""
        return self.db.health()

    # ---- readings -----------------------------------------------------------------------
    def record(
        self,
        reading: Reading,
        topics: str | Sequence[str],
        qos: int,
        crops: list[tuple[np.ndarray, bytes]] | None = None,
        frame: RegionFrame | None = None,
    ) -> int:
        """Store the reading under the next seq, atomically with its outbox rows, crops and
        region frame. Returns the seq; the reading given is left unchanged.
        """
        return self.readings.record(reading, topics, qos, crops, frame)

    def history(
        self,
        limit: int = 100,
        offset: int = 0,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        region: str | None = None,
        status: str | None = None,
        value: str | None = None,
    ) -> list[dict[str, Any]]:
        """Readings newest first: the Reading JSON plus corrected_value and corrected_at."""
        return self.readings.find(limit, offset, since, until, region, status, value)

    def get(self, seq: int) -> dict[str, Any] | None:
        """One reading as in history(), or None."""
        return self.readings.get(seq)

    def delete(self, seq: int) -> bool:
        """Forget a reading and its crops; True when it existed."""
        return self.readings.delete(seq)

    def correct(self, seq: int, value: str | None) -> bool:
        """Record the value a person says is right (None clears it); True when seq exists."""
        return self.readings.correct(seq, value) is not None

    def correct_reading(
        self,
        seq: int,
        value: str | None,
        drawn: list[tuple[np.ndarray, bytes]] | None = None,
    ) -> CorrectionResult | None:
        """correct(), with the corrected entry and the training examples it made or removed.

        `drawn`: (28x28, PNG) of digits a person boxed on the frame, one per digit of the value;
        they replace the reading's crops and become its examples.
        """
        return self.readings.correct(seq, value, drawn)

    def frame(self, seq: int) -> RegionFrame | None:
        """The region image kept with a reading (the newest FRAMES_KEPT have one)."""
        return self.frames.get(seq)

    def prune(self, history_days: float, crop_days: float) -> tuple[int, int]:
        """Delete readings and crops older than their retention; returns (readings, crops)."""
        return self.readings.prune(history_days, crop_days)

    # ---- outbox -------------------------------------------------------------------------
    def enqueue(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> int:
        """Queue a message that must survive a broker outage or a restart; returns its id."""
        return self.outbox.enqueue(topic, payload, qos, retain)

    def pending(self, limit: int = 100, after_id: int = 0) -> list[OutboxItem]:
        """Unacknowledged messages, oldest first, with id > after_id."""
        return self.outbox.pending(limit, after_id)

    def ack(self, *item_ids: int) -> None:
        """Remove messages the broker has acknowledged (an already dropped id is ignored)."""
        self.outbox.ack(*item_ids)

    def outbox_depth(self) -> int:
        """Messages waiting for the broker."""
        return self.outbox.depth()

    def dropped_count(self) -> int:
        """Messages dropped because the outbox was full, over the life of this file."""
        return self.outbox.dropped_count()

    # ---- counters -----------------------------------------------------------------------
    def meter_state(self, region: str) -> dict[str, Any] | None:
        """A counter region's plausibility state, or None before its first reading."""
        return self.meters.get(region)

    def save_meter_state(self, region: str, state: dict[str, Any]) -> None:
        """Keep a counter region's plausibility state across restarts."""
        self.meters.put(region, state)

    def meter_reference(self, region: str) -> tuple[str, tuple[int, int], np.ndarray] | None:
        """An aligned meter region's reference: (key, origin, grey patch), or None."""
        return self.meters.reference(region)

    def save_meter_reference(
        self, region: str, key: str, origin: tuple[int, int], image: np.ndarray
    ) -> None:
        """Keep an aligned meter region's reference across restarts."""
        self.meters.put_reference(region, key, origin, image)

    def forget_meter_reference(self, region: str) -> None:
        """Drop an aligned meter region's reference (a new one is taken)."""
        self.meters.delete_reference(region)

    # ---- crops and labels ---------------------------------------------------------------
    def crops(self, seq: int) -> list[Crop]:
        """The digit crops kept for one reading, left to right."""
        return self.crops_and_labels.crops(seq)

    def delete_crops(self, seq: int) -> int:
        """Forget the crops of one reading; returns how many."""
        return self.crops_and_labels.delete_crops(seq)

    def add_label(
        self, label: int, source: LabelSource, image: np.ndarray, png: bytes | None = None
    ) -> int:
        """Keep a labelled 28x28 digit for training; returns its id."""
        return self.crops_and_labels.add_label(label, source, image, png)

    def label_stamp(self, source: LabelSource) -> tuple[int, int]:
        """(count, highest id) of one source's labels, for caches keyed on them."""
        return self.crops_and_labels.label_stamp(source)

    def labels(
        self, limit: int = 1000, offset: int = 0, source: LabelSource | None = None
    ) -> list[Label]:
        """Labelled digits, oldest first, optionally of one source."""
        return self.crops_and_labels.labels(limit, offset, source)

    def delete_label(self, label_id: int) -> bool:
        """Forget one labelled digit; True when it existed."""
        return self.crops_and_labels.delete_label(label_id)

    # ---- reports ------------------------------------------------------------------------
    def last_seq(self) -> int:
        """The highest seq stored, 0 for an empty history."""
        return self.reports.last_seq()

    def since_seq(self, seq: int, limit: int = 10_000) -> list[tuple[int, str, float | None]]:
        """(seq, status, latency_ms) of readings after `seq`, oldest first."""
        return self.reports.since_seq(seq, limit)

    def per_hour(self, since_ts: str) -> dict[str, int]:
        """Readings per UTC hour ('YYYY-MM-DDTHH') from since_ts on."""
        return self.reports.per_hour(since_ts)

    def latencies(self, limit: int) -> list[float]:
        """latency_ms of the newest `limit` readings."""
        return self.reports.latencies(limit)

    def corrected(self, limit: int) -> list[dict[str, Any]]:
        """The newest `limit` corrected readings: Reading JSON plus corrected_value."""
        return self.reports.corrected(limit)

    def readings_per_model(self) -> dict[str, int]:
        """How many stored readings each model version made."""
        return self.reports.readings_per_model()


__all__ = [
    "CROP_SHAPE",
    "SCHEMA_VERSION",
    "Crop",
    "Label",
    "LabelSource",
    "OutboxItem",
    "Store",
    "StoreError",
]
