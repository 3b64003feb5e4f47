"""Each counter region's plausibility state (edge.meter.plausible), one JSON row per region."""

from __future__ import annotations

import json
from typing import Any

from edge.store.db import Db


class MeterStates:
    """Read and write the last accepted value of each counter region."""

    def __init__(self, db: Db) -> None:
        self._db = db

    def get(self, region: str) -> dict[str, Any] | None:
        rows = self._db.read("SELECT state FROM meter_state WHERE region = ?", (region,))
        return json.loads(rows[0]["state"]) if rows else None

    def put(self, region: str, state: dict[str, Any]) -> None:
        with self._db.tx() as conn:
            conn.execute(
                "INSERT INTO meter_state (region, state) VALUES (?, ?) "
                "ON CONFLICT (region) DO UPDATE SET state = excluded.state",
                (region, json.dumps(state)),
            )
