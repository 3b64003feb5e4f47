"""The store's reports: counts over the reading history, for /metrics and the performance page.

History.find() pages through whole JSON rows, which cannot count a day of readings at two
frames a second in reasonable time; these let SQLite do the counting. They run on the
read-only report connection, so a long count never holds up the capture thread.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from edge.store.db import Db

logger = logging.getLogger(__name__)


class HistoryReports:
    """Counting queries over the readings table of one Db, on its report connection."""

    def __init__(self, db: Db) -> None:
        self._db = db

    def last_seq(self) -> int:
        """The highest seq stored, 0 for an empty history."""
        rows = self._db.report("SELECT COALESCE(MAX(seq), 0) FROM readings")
        return int(rows[0][0])

    def since_seq(self, seq: int, limit: int = 10_000) -> list[tuple[int, str, float | None]]:
        """(seq, status, latency_ms) of readings after `seq`, oldest first."""
        rows = self._db.report(
            "SELECT seq, status, json_extract(payload, '$.latency_ms') FROM readings"
            " WHERE seq > ? ORDER BY seq LIMIT ?",
            (seq, limit),
        )
        return [(int(s), str(st), None if lat is None else float(lat)) for s, st, lat in rows]

    def per_hour(self, since_ts: str) -> dict[str, int]:
        """Readings per UTC hour ('YYYY-MM-DDTHH') from since_ts on."""
        rows = self._db.report(
            "SELECT substr(ts, 1, 13) AS hour, COUNT(*) FROM readings WHERE ts >= ? GROUP BY hour",
            (since_ts,),
        )
        return {str(hour): int(count) for hour, count in rows}

    def latencies(self, limit: int) -> list[float]:
        """latency_ms of the newest `limit` readings."""
        rows = self._db.report(
            "SELECT json_extract(payload, '$.latency_ms') FROM readings ORDER BY seq DESC LIMIT ?",
            (limit,),
        )
        return [float(lat) for (lat,) in rows if lat is not None]

    def readings_per_model(self) -> dict[str, int]:
        """How many stored readings each model version made."""
        rows = self._db.report(
            "SELECT json_extract(payload, '$.model'), COUNT(*) FROM readings GROUP BY 1"
        )
        return {str(model): int(count) for model, count in rows if model is not None}

    def corrected(self, limit: int) -> list[dict[str, Any]]:
        """The newest `limit` corrected readings: Reading JSON plus corrected_value."""
        rows = self._db.report(
            "SELECT payload, corrected_value FROM readings WHERE corrected_value IS NOT NULL"
            " ORDER BY seq DESC LIMIT ?",
            (limit,),
        )
        return [{**json.loads(payload), "corrected_value": value} for payload, value in rows]
