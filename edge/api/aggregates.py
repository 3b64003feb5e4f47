"""Read-only aggregate queries on the history file, for /metrics and the performance page.

Store.history() pages through JSON rows, which cannot count a day of readings at two frames
a second in reasonable time. These queries let SQLite do the counting on its own read-only
connection (WAL lets it read while the daemon writes). They depend on the readings table of
schema version 1 and refuse any other version rather than guess.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from edge.store import SCHEMA_VERSION, StoreError

logger = logging.getLogger(__name__)

KNOWN_SCHEMA = 1


class HistoryQueries:
    """Counting queries over the readings table; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    @contextmanager
    def _cursor(self) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            try:
                if self._db is None:
                    self._db = self._connect()
                yield self._db.cursor()
            except sqlite3.Error as exc:
                raise StoreError(f"storage.path {self.path}: {exc}") from None

    def _connect(self) -> sqlite3.Connection:
        uri = self.path.resolve().as_uri() + "?mode=ro"
        db = sqlite3.connect(uri, uri=True, timeout=10, check_same_thread=False)
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version != KNOWN_SCHEMA or SCHEMA_VERSION != KNOWN_SCHEMA:
            db.close()
            raise StoreError(f"storage.path {self.path}: schema version {version}; these "
                             f"queries know version {KNOWN_SCHEMA} only")
        return db

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def last_seq(self) -> int:
        """The highest seq stored, 0 for an empty history."""
        with self._cursor() as cur:
            return int(cur.execute("SELECT COALESCE(MAX(seq), 0) FROM readings").fetchone()[0])

    def since_seq(self, seq: int, limit: int = 10_000) -> list[tuple[int, str, float | None]]:
        """(seq, status, latency_ms) of readings after `seq`, oldest first."""
        with self._cursor() as cur:
            rows = cur.execute(
                "SELECT seq, status, json_extract(payload, '$.latency_ms') FROM readings"
                " WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)).fetchall()
        return [(int(s), str(st), None if lat is None else float(lat)) for s, st, lat in rows]

    def per_hour(self, since_ts: str) -> dict[str, int]:
        """Readings per UTC hour ('YYYY-MM-DDTHH') from since_ts on."""
        with self._cursor() as cur:
            rows = cur.execute(
                "SELECT substr(ts, 1, 13) AS hour, COUNT(*) FROM readings WHERE ts >= ?"
                " GROUP BY hour", (since_ts,)).fetchall()
        return {str(hour): int(count) for hour, count in rows}

    def latencies(self, limit: int) -> list[float]:
        """latency_ms of the newest `limit` readings."""
        with self._cursor() as cur:
            rows = cur.execute(
                "SELECT json_extract(payload, '$.latency_ms') FROM readings"
                " ORDER BY seq DESC LIMIT ?", (limit,)).fetchall()
        return [float(lat) for (lat,) in rows if lat is not None]

    def corrected(self, limit: int) -> list[dict[str, Any]]:
        """The newest `limit` corrected readings: Reading JSON plus corrected_value."""
        with self._cursor() as cur:
            rows = cur.execute(
                "SELECT payload, corrected_value FROM readings WHERE corrected_value IS NOT NULL"
                " ORDER BY seq DESC LIMIT ?", (limit,)).fetchall()
        return [{**json.loads(payload), "corrected_value": value} for payload, value in rows]
