"""The region image of the newest readings, so a person can see what was read and correct it.

Each reading of the newest FRAMES_KEPT keeps its region of the frame as a small JPEG (at most
FRAME_SIDE pixels on its long side), with where that region sat in the frame and the scale,
so boxes in frame pixels map onto it. Older ones are deleted in the same transaction that adds
a new one: the table never holds more than FRAMES_KEPT rows, whatever the frame rate.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import cv2
import numpy as np

from edge.reading import Reading, utc_timestamp
from edge.store.db import Db

FRAMES_KEPT = 500  # about 10 MB of JPEGs at FRAME_SIDE
FRAME_SIDE = 480
JPEG_QUALITY = 80


@dataclass(frozen=True)
class RegionFrame:
    jpeg: bytes
    origin: tuple[int, int]  # the region's top-left corner in frame pixels
    scale: float  # frame pixels per stored pixel (>= 1)

    def to_frame(self, x: float, y: float) -> tuple[float, float]:
        """A point of the stored image in frame pixels."""
        return self.origin[0] + x * self.scale, self.origin[1] + y * self.scale

    def decode(self) -> np.ndarray:
        image = cv2.imdecode(np.frombuffer(self.jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise ValueError("the stored frame cannot be decoded")
        return image


def encode_region(gray: np.ndarray, origin: tuple[int, int]) -> RegionFrame | None:
    """The region image as a RegionFrame, shrunk to FRAME_SIDE; None for an empty region."""
    height, width = gray.shape[:2]
    if not height or not width:
        return None
    scale = max(1.0, max(height, width) / FRAME_SIDE)
    if scale > 1.0:
        size = (max(1, round(width / scale)), max(1, round(height / scale)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", gray, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    return RegionFrame(jpeg.tobytes(), origin, scale) if ok else None


def reading_frame(reading: Reading) -> RegionFrame | None:
    """The reading's region of the frame, small, for Store.record (None when there is none)."""
    if reading.region_image is None:
        return None
    return encode_region(reading.region_image, reading.region_origin)


class Frames:
    """The frames table of one Db."""

    def __init__(self, db: Db) -> None:
        self._db = db

    @staticmethod
    def insert(conn: sqlite3.Connection, seq: int, frame: RegionFrame) -> None:
        """Within the reading's transaction: keep its frame, forget frames past FRAMES_KEPT."""
        conn.execute(
            "INSERT OR REPLACE INTO frames (seq, jpeg, x, y, scale, created)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (seq, frame.jpeg, frame.origin[0], frame.origin[1], frame.scale, utc_timestamp()),
        )
        conn.execute("DELETE FROM frames WHERE seq <= ?", (seq - FRAMES_KEPT,))

    def get(self, seq: int) -> RegionFrame | None:
        rows = self._db.read("SELECT jpeg, x, y, scale FROM frames WHERE seq = ?", (seq,))
        if not rows:
            return None
        row = rows[0]
        return RegionFrame(bytes(row["jpeg"]), (int(row["x"]), int(row["y"])), float(row["scale"]))
