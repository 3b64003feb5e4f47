"""SQLite store: reading history, the MQTT outbox, the seq counter, digit crops and labels.

One file (`storage.path`), WAL mode, one connection behind a lock: the capture thread writes,
the publisher drains the outbox, the HTTP API reads history. Every public method raises
StoreError naming the file when SQLite fails, so the daemon can log it and carry on.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

import numpy as np

from edge.reading import Reading, utc_timestamp

logger = logging.getLogger(__name__)

CROP_SHAPE = (28, 28)
LabelSource = Literal["drawing", "correction"]
_DROP_LOG_INTERVAL_S = 60.0

# Schema version N is reached by running _MIGRATIONS[N - 1]; append, never edit, old entries.
_MIGRATIONS: list[list[str]] = [
    [
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
        # outbox_depth is kept here, in the same transactions as the rows, so it is exact for
        # every process sharing the file and costs no COUNT(*) scan of a full outbox.
        """INSERT INTO meta (key, value)
            VALUES ('seq', 0), ('outbox_depth', 0), ('outbox_dropped', 0)""",
        """CREATE TABLE readings (
            seq INTEGER PRIMARY KEY, ts TEXT NOT NULL, region TEXT NOT NULL, value TEXT,
            status TEXT NOT NULL, confidence REAL, payload TEXT NOT NULL,
            corrected_value TEXT, corrected_at TEXT)""",
        "CREATE INDEX readings_ts ON readings (ts)",
        # AUTOINCREMENT: ids never come back, so "oldest first" is simply "lowest id first".
        """CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, payload BLOB NOT NULL,
            qos INTEGER NOT NULL, retain INTEGER NOT NULL, created TEXT NOT NULL)""",
        """CREATE TABLE crops (
            seq INTEGER NOT NULL REFERENCES readings (seq) ON DELETE CASCADE,
            digit INTEGER NOT NULL, image BLOB NOT NULL, png BLOB, created TEXT NOT NULL,
            PRIMARY KEY (seq, digit))""",
        "CREATE INDEX crops_created ON crops (created)",
        """CREATE TABLE labels (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
            source TEXT NOT NULL CHECK (source IN ('drawing', 'correction')),
            image BLOB NOT NULL, png BLOB, created TEXT NOT NULL)""",
    ],
]
SCHEMA_VERSION = len(_MIGRATIONS)


class StoreError(Exception):
    """The database file cannot be opened, read or written; the message names the file."""


@dataclass(frozen=True)
class OutboxItem:
    id: int
    topic: str
    payload: bytes
    qos: int
    retain: bool
    created: str


@dataclass(frozen=True)
class Crop:
    seq: int
    digit: int
    image: np.ndarray  # 28x28 uint8, the classifier's input
    png: bytes | None  # the crop as cut from the frame
    created: str


@dataclass(frozen=True)
class Label:
    id: int
    label: int
    source: LabelSource
    image: np.ndarray
    png: bytes | None
    created: str


class Store:
    """History, outbox and seq counter in one SQLite file; safe to share between threads."""

    def __init__(self, path: Path, outbox_max: int) -> None:
        self.path = Path(path)
        self.outbox_max = outbox_max
        self._lock = threading.RLock()
        self._last_drop_log = float("-inf")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, timeout=10, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"storage.path {self.path}: cannot open: {exc}") from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a reading's seq may already be published when power fails; NORMAL could
            # roll the commit back and hand the same seq to a different reading after reboot.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except (sqlite3.Error, StoreError) as exc:
            self._db.close()
            if isinstance(exc, StoreError):
                raise
            raise StoreError(
                f"storage.path {self.path}: cannot use it ({exc}); check that the file and its "
                "folder are writable, or move a damaged file aside to start a fresh one"
            ) from None

    # ---- schema -------------------------------------------------------------------------
    def _migrate(self) -> None:
        version = self._scalar("PRAGMA user_version")
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"storage.path {self.path}: schema version {version} was written by a newer "
                f"DigitCam (this one knows {SCHEMA_VERSION}); upgrade DigitCam"
            )
        for number in range(version + 1, SCHEMA_VERSION + 1):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for statement in _MIGRATIONS[number - 1]:
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number}")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            logger.info("storage %s: schema now at version %s", self.path, number)

    # ---- plumbing -----------------------------------------------------------------------
    def _scalar(self, sql: str, args: Sequence[Any] = ()) -> int:
        row = self._db.execute(sql, args).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the lock; SQLite errors become StoreError."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise StoreError(f"storage.path {self.path}: {exc}") from None

    def _read(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                cursor = self._db.execute(sql, args)
                cursor.row_factory = sqlite3.Row
                return cursor.fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"storage.path {self.path}: {exc}") from None

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
        blobs = [(_crop_bytes(image), png) for image, png in crops or []]
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
        created = utc_timestamp()
        db.executemany(
            "INSERT INTO crops (seq, digit, image, png, created) VALUES (?, ?, ?, ?, ?)",
            [(seq, index, image, png, created) for index, (image, png) in enumerate(blobs)],
        )
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

    # ---- crops and labels ---------------------------------------------------------------
    def crops(self, seq: int) -> list[Crop]:
        """The digit crops kept for one reading, left to right."""
        rows = self._read("SELECT * FROM crops WHERE seq = ? ORDER BY digit", (seq,))
        return [Crop(r["seq"], r["digit"], _crop_array(r["image"]), _opt_bytes(r["png"]),
                     r["created"]) for r in rows]

    def delete_crops(self, seq: int) -> int:
        """Forget the crops of one reading; returns how many."""
        with self._tx() as db:
            return db.execute("DELETE FROM crops WHERE seq = ?", (seq,)).rowcount

    def add_label(
        self, label: int, source: LabelSource, image: np.ndarray, png: bytes | None = None
    ) -> int:
        """Keep a labelled 28x28 digit for training; returns its id."""
        if source not in ("drawing", "correction"):
            raise ValueError(f"label source must be 'drawing' or 'correction', got {source!r}")
        if not 0 <= int(label) <= 9:
            raise ValueError(f"label must be a digit 0-9, got {label!r}")
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO labels (label, source, image, png, created) VALUES (?, ?, ?, ?, ?)",
                (int(label), source, _crop_bytes(image), png, utc_timestamp()),
            )
            return int(cursor.lastrowid or 0)

    def labels(
        self, limit: int = 1000, offset: int = 0, source: LabelSource | None = None
    ) -> list[Label]:
        """Labelled digits, oldest first, optionally of one source."""
        sql, args = "SELECT * FROM labels", []
        if source is not None:
            sql, args = sql + " WHERE source = ?", [source]
        rows = self._read(sql + " ORDER BY id LIMIT ? OFFSET ?", [*args, limit, offset])
        return [Label(r["id"], r["label"], r["source"], _crop_array(r["image"]),
                      _opt_bytes(r["png"]), r["created"]) for r in rows]

    def delete_label(self, label_id: int) -> bool:
        """Forget one labelled digit; True when it existed."""
        with self._tx() as db:
            return db.execute("DELETE FROM labels WHERE id = ?", (label_id,)).rowcount > 0

    def close(self) -> None:
        """Close the file; later calls raise StoreError."""
        with self._lock:
            self._db.close()


def _ts(moment: str | datetime | None) -> str | None:
    return utc_timestamp(moment) if isinstance(moment, datetime) else moment


def _history_entry(row: sqlite3.Row) -> dict[str, Any]:
    entry: dict[str, Any] = json.loads(row["payload"])
    entry["corrected_value"] = row["corrected_value"]
    entry["corrected_at"] = row["corrected_at"]
    return entry


def _crop_bytes(image: np.ndarray) -> bytes:
    if image.shape != CROP_SHAPE or image.dtype != np.uint8:
        raise ValueError(f"a crop must be a {CROP_SHAPE} uint8 array, "
                         f"got {image.shape} {image.dtype}")
    return image.tobytes()


def _crop_array(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.uint8).reshape(CROP_SHAPE).copy()


def _opt_bytes(blob: bytes | None) -> bytes | None:
    return None if blob is None else bytes(blob)


__all__ = ["SCHEMA_VERSION", "Crop", "Label", "OutboxItem", "Store", "StoreError"]
