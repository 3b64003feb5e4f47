"""The store's reading history: the seq counter, stored readings, corrections and retention.

`seq` increases by one per reading for the life of the file. A reading, its outbox rows and
its digit crops are written in one transaction, so a crash never leaves a seq published but
not stored, nor a seq used twice.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from edge.reading import Reading, utc_timestamp
from edge.store.db import Db, meta_value
from edge.store.frames import Frames, RegionFrame
from edge.store.labels import CropsAndLabels, crop_bytes
from edge.store.outbox import Outbox

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CorrectionResult:
    """A corrected reading as in History.find(), and the training examples made from it."""

    entry: dict[str, Any]
    labels_added: list[int]
    labels_note: str | None  # why no examples were made, when none were


class History:
    """The readings table of one Db; record() also fills the outbox and the crops."""

    def __init__(self, db: Db, outbox: Outbox, crops: CropsAndLabels) -> None:
        self._db = db
        self._outbox = outbox
        self._crops = crops

    def record(
        self,
        reading: Reading,
        topics: str | Sequence[str],
        qos: int,
        crops: list[tuple[np.ndarray, bytes]] | None = None,
        frame: RegionFrame | None = None,
    ) -> int:
        """Store the reading under the next seq with its outbox rows and crops; returns the seq.

        The reading given is left as it is: the stored and queued JSON carry the seq, and the
        caller gives it to its own copy (`dataclasses.replace(reading, seq=seq)`).
        """
        topic_list = [topics] if isinstance(topics, str) else list(topics)
        # Checked before the transaction, so a bad crop writes nothing and uses no seq.
        blobs = [(crop_bytes(image), png) for image, png in crops or []]
        with self._db.tx() as conn:
            seq = self._next_seq(conn)
            stored = replace(reading, seq=seq)
            payload = stored.to_json()
            conn.execute(
                "INSERT INTO readings (seq, ts, region, value, status, confidence, payload)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    seq,
                    stored.ts,
                    stored.region,
                    stored.value,
                    stored.status,
                    stored.confidence,
                    payload,
                ),
            )
            self._outbox.add(conn, topic_list, payload.encode(), qos, True)
            self._crops.insert_crops(conn, seq, blobs)
            if frame is not None:
                Frames.insert(conn, seq, frame)
        return seq

    def _next_seq(self, conn: sqlite3.Connection) -> int:
        conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'seq'")
        return meta_value(conn, "seq")

    def find(
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
        for clause, arg in (
            ("ts >= ?", _ts(since)),
            ("ts < ?", _ts(until)),
            ("region = ?", region),
            ("status = ?", status),
            ("value = ?", value),
        ):
            if arg is not None:
                where.append(clause)
                args.append(arg)
        sql = "SELECT payload, corrected_value, corrected_at FROM readings"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._db.read(sql + " ORDER BY seq DESC LIMIT ? OFFSET ?", [*args, limit, offset])
        return [_history_entry(row) for row in rows]

    def get(self, seq: int) -> dict[str, Any] | None:
        """One reading as in find(), or None."""
        rows = self._db.read(
            "SELECT payload, corrected_value, corrected_at FROM readings WHERE seq = ?", (seq,)
        )
        return _history_entry(rows[0]) if rows else None

    def delete(self, seq: int) -> bool:
        """Forget a reading and its crops; True when it existed."""
        with self._db.tx() as conn:
            return conn.execute("DELETE FROM readings WHERE seq = ?", (seq,)).rowcount > 0

    def correct(
        self,
        seq: int,
        value: str | None,
        drawn: list[tuple[np.ndarray, bytes]] | None = None,
    ) -> CorrectionResult | None:
        """Record the value a person says is right (None clears it); None when seq is unknown.

        The correction, the training examples it makes from the reading's crops and the
        entry returned are one transaction: simultaneous corrections of one reading cannot
        add its examples twice, and the examples always say the correction that stands.
        """
        with self._db.tx() as conn:
            cursor = conn.execute(
                "UPDATE readings SET corrected_value = ?, corrected_at = ? WHERE seq = ?",
                (value, None if value is None else utc_timestamp(), seq),
            )
            if cursor.rowcount == 0:
                return None
            if drawn is not None:  # digits a person boxed replace the ones the reader found
                conn.execute("DELETE FROM crops WHERE seq = ?", (seq,))
                self._crops.insert_crops(conn, seq, [(crop_bytes(i), p) for i, p in drawn])
            added, note = self._crops.relabel(conn, seq, value, fresh=drawn is not None)
            cursor = conn.execute(
                "SELECT payload, corrected_value, corrected_at FROM readings WHERE seq = ?", (seq,)
            )
            cursor.row_factory = sqlite3.Row
            return CorrectionResult(_history_entry(cursor.fetchone()), added, note)

    def prune(self, history_days: float, crop_days: float) -> tuple[int, int]:
        """Delete readings and crops as old as their retention or older; returns (readings,
        crops). Timestamps have milliseconds: with a retention of 0 days, a crop stored in the
        same millisecond as the prune is as old as the retention, and goes too."""
        now = datetime.now(timezone.utc)
        history_cut = utc_timestamp(now - timedelta(days=history_days))
        crop_cut = utc_timestamp(now - timedelta(days=crop_days))
        with self._db.tx() as conn:
            crops = conn.execute("DELETE FROM crops WHERE created <= ?", (crop_cut,)).rowcount
            readings = conn.execute("DELETE FROM readings WHERE ts <= ?", (history_cut,)).rowcount
        if readings or crops:
            logger.info("pruned %s readings and %s crops from %s", readings, crops, self._db.path)
        return readings, crops


def _ts(moment: str | datetime | None) -> str | None:
    return utc_timestamp(moment) if isinstance(moment, datetime) else moment


def _history_entry(row: sqlite3.Row) -> dict[str, Any]:
    entry: dict[str, Any] = json.loads(row["payload"])
    entry["corrected_value"] = row["corrected_value"]
    entry["corrected_at"] = row["corrected_at"]
    return entry
