"""SQLite store: reading history, the MQTT outbox, the seq counter, digit crops and labels.

Store is assembled from parts that share one file, one write connection and one lock:
edge.store.db (schema, connections, transactions), edge.store.labels (crops and labels),
edge.store.reports (counts for /metrics and the performance page) and, here, the readings
and the outbox. The capture thread writes, the publisher drains the outbox, the HTTP API
reads history. Every public method raises StoreError naming the file when SQLite fails, so
the daemon can log it and carry on.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from edge.reading import Reading, utc_timestamp
from edge.store.db import SCHEMA_VERSION, StoreError
from edge.store.labels import CROP_SHAPE, Crop, CropsAndLabels, Label, LabelSource, crop_bytes
from edge.store.reports import HistoryReports

logger = logging.getLogger(__name__)

_DROP_LOG_INTERVAL_S = 60.0


@dataclass(frozen=True)
class OutboxItem:
    id: int
    topic: str
    payload: bytes
    qos: int
    retain: bool
    created: str


class Store(CropsAndLabels, HistoryReports):
    """History, outbox, seq counter, crops and labels in one SQLite file; thread-safe."""

    def __init__(self, path: Path, outbox_max: int) -> None:
        super().__init__(path)
        self.outbox_max = outbox_max
        self._last_drop_log = float("-inf")

    # ---- readings -----------------------------------------------------------------------
    def record(
        self,
        reading: Reading,
        topics: str | Sequence[str],
        qos: int,
        crops: list[tuple[np.ndarray, bytes]] | None = None,
    ) -> int:
        """Give the reading the next seq; write history, outbox rows and crops atomically."""
        topic_list = [topics] if isinstance(topics, str) else list(topics)
        blobs = [(crop_bytes(image), png) for image, png in crops or []]
        previous_seq = reading.seq
        try:
            with self._tx() as db:
                seq = self._insert_reading(db, reading, topic_list, qos, blobs)
                self._grow_outbox(db, len(topic_list))
        except BaseException:
            reading.seq = previous_seq  # nothing was written, so no seq was used
            raise
        return seq

    def _insert_reading(
        self,
        db: sqlite3.Connection,
        reading: Reading,
        topics: list[str],
        qos: int,
        blobs: list[tuple[bytes, bytes]],
    ) -> int:
        db.execute("UPDATE meta SET value = value + 1 WHERE key = 'seq'")
        seq = self._scalar("SELECT value FROM meta WHERE key = 'seq'")
        reading.seq = seq
        payload = reading.to_json()
        db.execute(
            "INSERT INTO readings (seq, ts, region, value, status, confidence, payload)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (seq, reading.ts, reading.region, reading.value, reading.status, reading.confidence,
             payload),
        )
        for topic in topics:
            self._insert_outbox(db, topic, payload.encode(), qos, True)
        self._insert_crops(db, seq, blobs)
        return seq

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
        where, args = [], []
        for clause, arg in (("ts >= ?", _ts(since)), ("ts < ?", _ts(until)), ("region = ?", region),
                            ("status = ?", status), ("value = ?", value)):
            if arg is not None:
                where.append(clause)
                args.append(arg)
        sql = "SELECT payload, corrected_value, corrected_at FROM readings"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._read(sql + " ORDER BY seq DESC LIMIT ? OFFSET ?", [*args, limit, offset])
        return [_history_entry(row) for row in rows]

    def get(self, seq: int) -> dict[str, Any] | None:
        """One reading as in history(), or None."""
        rows = self._read(
            "SELECT payload, corrected_value, corrected_at FROM readings WHERE seq = ?", (seq,)
        )
        return _history_entry(rows[0]) if rows else None

    def delete(self, seq: int) -> bool:
        """Forget a reading and its crops; True when it existed."""
        with self._tx() as db:
            return db.execute("DELETE FROM readings WHERE seq = ?", (seq,)).rowcount > 0

    def correct(self, seq: int, value: str | None) -> bool:
        """Record the value a person says is right (None clears it); True when seq exists."""
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE readings SET corrected_value = ?, corrected_at = ? WHERE seq = ?",
                (value, None if value is None else utc_timestamp(), seq),
            )
            return cursor.rowcount > 0

    def prune(self, history_days: float, crop_days: float) -> tuple[int, int]:
        """Delete readings and crops older than their retention; returns (readings, crops)."""
        now = datetime.now(timezone.utc)
        history_cut = utc_timestamp(now - timedelta(days=history_days))
        crop_cut = utc_timestamp(now - timedelta(days=crop_days))
        with self._tx() as db:
            crops = db.execute("DELETE FROM crops WHERE created < ?", (crop_cut,)).rowcount
            readings = db.execute("DELETE FROM readings WHERE ts < ?", (history_cut,)).rowcount
        if readings or crops:
            logger.info("pruned %s readings and %s crops from %s", readings, crops, self.path)
        return readings, crops

    # ---- outbox -------------------------------------------------------------------------
    def enqueue(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> int:
        """Queue a message that must survive a broker outage or a restart; returns its id."""
        data = payload.encode() if isinstance(payload, str) else payload
        with self._tx() as db:
            item_id = self._insert_outbox(db, topic, data, qos, retain)
            self._grow_outbox(db, 1)
        return item_id

    def pending(self, limit: int = 100, after_id: int = 0) -> list[OutboxItem]:
        """Unacknowledged messages, oldest first, with id > after_id."""
        rows = self._read(
            "SELECT id, topic, payload, qos, retain, created FROM outbox WHERE id > ?"
            " ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [OutboxItem(r["id"], r["topic"], bytes(r["payload"]), r["qos"], bool(r["retain"]),
                           r["created"]) for r in rows]

    def ack(self, *item_ids: int) -> None:
        """Remove messages the broker has acknowledged (an already dropped id is ignored)."""
        if not item_ids:
            return
        with self._tx() as db:
            removed = db.executemany(
                "DELETE FROM outbox WHERE id = ?", [(i,) for i in item_ids]
            ).rowcount
            db.execute("UPDATE meta SET value = value - ? WHERE key = 'outbox_depth'", (removed,))

    def outbox_depth(self) -> int:
        """Messages waiting for the broker."""
        return self._meta("outbox_depth")

    def dropped_count(self) -> int:
        """Messages dropped because the outbox was full, over the life of this file."""
        return self._meta("outbox_dropped")

    def _meta(self, key: str) -> int:
        rows = self._read("SELECT value FROM meta WHERE key = ?", (key,))
        return int(rows[0][0]) if rows else 0

    def _insert_outbox(
        self, db: sqlite3.Connection, topic: str, payload: bytes, qos: int, retain: bool
    ) -> int:
        cursor = db.execute(
            "INSERT INTO outbox (topic, payload, qos, retain, created) VALUES (?, ?, ?, ?, ?)",
            (topic, payload, qos, int(retain), utc_timestamp()),
        )
        return int(cursor.lastrowid or 0)

    def _grow_outbox(self, db: sqlite3.Connection, added: int) -> None:
        """Count `added` new rows; beyond outbox_max drop the oldest and count the drop."""
        db.execute("UPDATE meta SET value = value + ? WHERE key = 'outbox_depth'", (added,))
        excess = self._scalar("SELECT value FROM meta WHERE key = 'outbox_depth'") - self.outbox_max
        if excess <= 0:
            return
        dropped = db.execute(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT ?)", (excess,)
        ).rowcount
        db.execute("UPDATE meta SET value = value - ? WHERE key = 'outbox_depth'", (dropped,))
        db.execute("UPDATE meta SET value = value + ? WHERE key = 'outbox_dropped'", (dropped,))
        now = time.monotonic()
        if now - self._last_drop_log >= _DROP_LOG_INTERVAL_S:
            self._last_drop_log = now
            logger.warning("outbox full (%s messages): dropping the oldest; %s dropped so far",
                           self.outbox_max,
                           self._scalar("SELECT value FROM meta WHERE key = 'outbox_dropped'"))


def _ts(moment: str | datetime | None) -> str | None:
    return utc_timestamp(moment) if isinstance(moment, datetime) else moment


def _history_entry(row: sqlite3.Row) -> dict[str, Any]:
    entry: dict[str, Any] = json.loads(row["payload"])
    entry["corrected_value"] = row["corrected_value"]
    entry["corrected_at"] = row["corrected_at"]
    return entry


__all__ = ["CROP_SHAPE", "SCHEMA_VERSION", "Crop", "Label", "LabelSource", "OutboxItem", "Store",
           "StoreError"]
