"""The store's MQTT outbox: messages that must survive a broker outage or a restart.

Rows are sent oldest first and removed when the broker acknowledges them. The outbox is
bounded by storage.outbox_max: a full outbox drops its oldest rows and counts them for the
life of the file, never silently. Its depth and drop count live in the meta table, updated in
the same transactions as the rows, so every process sharing the file sees exact figures.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass

from edge.reading import utc_timestamp
from edge.store.db import Db, meta_value

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


class Outbox:
    """The outbox table of one Db, bounded by outbox_max; thread-safe."""

    def __init__(self, db: Db, outbox_max: int) -> None:
        self._db = db
        self.outbox_max = outbox_max
        self._last_drop_log = float("-inf")

    def enqueue(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> int:
        """Queue a message that must survive a broker outage or a restart; returns its id."""
        data = payload.encode() if isinstance(payload, str) else payload
        with self._db.tx() as conn:
            return self.add(conn, [topic], data, qos, retain)[0]

    def add(
        self,
        conn: sqlite3.Connection,
        topics: Sequence[str],
        payload: bytes,
        qos: int,
        retain: bool,
    ) -> list[int]:
        """Within the caller's transaction: queue payload once per topic; returns the ids."""
        ids = [
            int(
                conn.execute(
                    "INSERT INTO outbox (topic, payload, qos, retain, created)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (topic, payload, qos, int(retain), utc_timestamp()),
                ).lastrowid
                or 0
            )
            for topic in topics
        ]
        self._grow(conn, len(ids))
        return ids

    def pending(self, limit: int = 100, after_id: int = 0) -> list[OutboxItem]:
        """Unacknowledged messages, oldest first, with id > after_id."""
        rows = self._db.read(
            "SELECT id, topic, payload, qos, retain, created FROM outbox WHERE id > ?"
            " ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [
            OutboxItem(
                r["id"], r["topic"], bytes(r["payload"]), r["qos"], bool(r["retain"]), r["created"]
            )
            for r in rows
        ]

    def ack(self, *item_ids: int) -> None:
        """Remove messages the broker has acknowledged (an already dropped id is ignored)."""
        if not item_ids:
            return
        with self._db.tx() as conn:
            removed = conn.executemany(
                "DELETE FROM outbox WHERE id = ?", [(i,) for i in item_ids]
            ).rowcount
            conn.execute("UPDATE meta SET value = value - ? WHERE key = 'outbox_depth'", (removed,))

    def depth(self) -> int:
        """Messages waiting for the broker."""
        return self._meta("outbox_depth")

    def dropped_count(self) -> int:
        """Messages dropped because the outbox was full, over the life of this file."""
        return self._meta("outbox_dropped")

    def _meta(self, key: str) -> int:
        rows = self._db.read("SELECT value FROM meta WHERE key = ?", (key,))
        return int(rows[0][0]) if rows else 0

    def _grow(self, conn: sqlite3.Connection, added: int) -> None:
        """Count `added` new rows; beyond outbox_max drop the oldest and count the drop."""
        conn.execute("UPDATE meta SET value = value + ? WHERE key = 'outbox_depth'", (added,))
        excess = meta_value(conn, "outbox_depth") - self.outbox_max
        if excess <= 0:
            return
        dropped = conn.execute(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT ?)", (excess,)
        ).rowcount
        conn.execute("UPDATE meta SET value = value - ? WHERE key = 'outbox_depth'", (dropped,))
        conn.execute("UPDATE meta SET value = value + ? WHERE key = 'outbox_dropped'", (dropped,))
        now = time.monotonic()
        # A full outbox during a long outage drops on every reading; one line a minute is enough.
        if now - self._last_drop_log >= _DROP_LOG_INTERVAL_S:
            self._last_drop_log = now
            logger.warning(
                "outbox full (%s messages): dropping the oldest; %s dropped so far",
                self.outbox_max,
                meta_value(conn, "outbox_dropped"),
            )
