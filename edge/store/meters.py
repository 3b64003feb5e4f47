"""Each meter region's plausibility state (edge.meter.plausible), one JSON row per region, and
the alignment reference of the aligned ones (edge.meter.align), a PNG per region."""

from __future__ import annotations

import json
from typing import Any

import cv2
import numpy as np

from edge.reading import utc_timestamp
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

    def reference(self, region: str) -> tuple[str, tuple[int, int], np.ndarray] | None:
        rows = self._db.read(
            "SELECT key, x, y, png FROM meter_reference WHERE region = ?", (region,)
        )
        if not rows:
            return None
        row = rows[0]
        image = cv2.imdecode(np.frombuffer(row["png"], np.uint8), cv2.IMREAD_GRAYSCALE)
        if image is None:
            return None  # a damaged row: a new reference is taken
        return str(row["key"]), (int(row["x"]), int(row["y"])), image

    def put_reference(
        self, region: str, key: str, origin: tuple[int, int], image: np.ndarray
    ) -> None:
        ok, png = cv2.imencode(".png", image)
        if not ok:
            raise ValueError(f"region {region}: the reference could not be encoded")
        with self._db.tx() as conn:
            conn.execute(
                "INSERT INTO meter_reference (region, key, x, y, png, created) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (region) DO UPDATE SET key = excluded.key, "
                "x = excluded.x, y = excluded.y, png = excluded.png, created = excluded.created",
                (region, key, origin[0], origin[1], png.tobytes(), utc_timestamp()),
            )

    def delete_reference(self, region: str) -> None:
        with self._db.tx() as conn:
            conn.execute("DELETE FROM meter_reference WHERE region = ?", (region,))
