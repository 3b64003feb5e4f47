"""The store's training data: digit crops kept with their readings, and labelled digits.

A crop is the 28x28 the classifier saw for one digit of a stored reading (plus the PNG cut
from the frame); it goes when its reading goes or after storage.crop_days. A label is a
28x28 digit whose true value a person gave, drawn on the page, taken from a correction or
imported from a folder of images (`digitcam labels import`).
A correction's labels remember their reading (labels.seq), so they always say what that
reading's latest correction says: correcting it again replaces them, clearing it removes them.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from typing import Literal

import numpy as np

from edge.reading import utc_timestamp
from edge.store.db import Db

logger = logging.getLogger(__name__)

CROP_SHAPE = (28, 28)
LabelSource = Literal["drawing", "correction", "import"]
LABEL_SOURCES: tuple[LabelSource, ...] = ("drawing", "correction", "import")


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


class CropsAndLabels:
    """The crops and labels tables of one Db; thread-safe."""

    def __init__(self, db: Db) -> None:
        self._db = db

    def crops(self, seq: int) -> list[Crop]:
        """The digit crops kept for one reading, left to right."""
        rows = self._db.read("SELECT * FROM crops WHERE seq = ? ORDER BY digit", (seq,))
        return [
            Crop(r["seq"], r["digit"], _crop_array(r["image"]), _opt_bytes(r["png"]), r["created"])
            for r in rows
        ]

    def delete_crops(self, seq: int) -> int:
        """Forget the crops of one reading; returns how many."""
        with self._db.tx() as conn:
            return conn.execute("DELETE FROM crops WHERE seq = ?", (seq,)).rowcount

    def add_label(
        self, label: int, source: LabelSource, image: np.ndarray, png: bytes | None = None
    ) -> int:
        """Keep a labelled 28x28 digit for training; returns its id."""
        if source not in LABEL_SOURCES:
            raise ValueError(f"label source must be one of {LABEL_SOURCES}, got {source!r}")
        if not 0 <= int(label) <= 9:
            raise ValueError(f"label must be a digit 0-9, got {label!r}")
        with self._db.tx() as conn:
            cursor = conn.execute(
                "INSERT INTO labels (label, source, image, png, created) VALUES (?, ?, ?, ?, ?)",
                (int(label), source, crop_bytes(image), png, utc_timestamp()),
            )
            return int(cursor.lastrowid or 0)

    def labels(
        self, limit: int = 1000, offset: int = 0, source: LabelSource | None = None
    ) -> list[Label]:
        """Labelled digits, oldest first, optionally of one source."""
        sql, args = "SELECT * FROM labels", []
        if source is not None:
            sql, args = sql + " WHERE source = ?", [source]
        rows = self._db.read(sql + " ORDER BY id LIMIT ? OFFSET ?", [*args, limit, offset])
        return [
            Label(
                r["id"],
                r["label"],
                r["source"],
                _crop_array(r["image"]),
                _opt_bytes(r["png"]),
                r["created"],
            )
            for r in rows
        ]

    def label_stamp(self, source: LabelSource) -> tuple[int, int]:
        """(count, highest id) of one source's labels: changes whenever they change.

        Labels are only added or deleted and their ids never come back (AUTOINCREMENT), so
        a cache keyed on this pair is invalidated by any change.
        """
        rows = self._db.report(
            "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM labels WHERE source = ?", (source,)
        )
        return int(rows[0][0]), int(rows[0][1])

    def delete_label(self, label_id: int) -> bool:
        """Forget one labelled digit; True when it existed."""
        with self._db.tx() as conn:
            return conn.execute("DELETE FROM labels WHERE id = ?", (label_id,)).rowcount > 0

    def relabel(
        self, conn: sqlite3.Connection, seq: int, value: str | None, fresh: bool = False
    ) -> tuple[list[int], str | None]:
        """Within the correction's transaction: make the reading's examples say `value`.

        `fresh`: the crops were just replaced (digits a person boxed), so the examples are
        made again even for the same value. Returns the ids of the examples made and, when
        none could be, why not.
        """
        earlier = conn.execute(
            "SELECT label, image, png FROM labels WHERE seq = ? AND source = 'correction'"
            " ORDER BY id",
            (seq,),
        ).fetchall()
        digits = [int(c) for c in value or ""]
        if not fresh and value is not None and earlier and [row[0] for row in earlier] == digits:
            return [], None  # the same correction again: its examples already say it
        crops = conn.execute(
            "SELECT image, png FROM crops WHERE seq = ? ORDER BY digit", (seq,)
        ).fetchall()
        # The crops expire after storage.crop_days; the examples made from them keep a copy.
        images = [(row[0], row[1]) for row in crops] or [(row[1], row[2]) for row in earlier]
        conn.execute("DELETE FROM labels WHERE seq = ? AND source = 'correction'", (seq,))
        if value is None:
            return [], None
        removed = "; the examples of the earlier correction were removed" if earlier else ""
        if not images:
            return [], (
                "no digit crops are stored for this reading (they expire after "
                "storage.crop_days, and a number the row reader read with another count of "
                "digits than were found keeps none): no training examples made"
            )
        if len(images) != len(digits):
            return [], (
                f"the corrected value has {len(digits)} digits but {len(images)} were found: "
                f"no training examples made{removed}"
            )
        created, ids = utc_timestamp(), []
        for digit, (image, png) in zip(digits, images, strict=True):
            cursor = conn.execute(
                "INSERT INTO labels (label, source, image, png, created, seq)"
                " VALUES (?, 'correction', ?, ?, ?, ?)",
                (digit, image, png, created, seq),
            )
            ids.append(int(cursor.lastrowid or 0))
        return ids, None

    def insert_crops(
        self, conn: sqlite3.Connection, seq: int, blobs: list[tuple[bytes, bytes]]
    ) -> None:
        """Within the reading's transaction: its crops as (crop_bytes(image), png), in order."""
        created = utc_timestamp()
        conn.executemany(
            "INSERT INTO crops (seq, digit, image, png, created) VALUES (?, ?, ?, ?, ?)",
            [(seq, index, image, png, created) for index, (image, png) in enumerate(blobs)],
        )


def crop_bytes(image: np.ndarray) -> bytes:
    """A 28x28 uint8 digit as stored; ValueError for any other shape or type."""
    if image.shape != CROP_SHAPE or image.dtype != np.uint8:
        raise ValueError(
            f"a crop must be a {CROP_SHAPE} uint8 array, got {image.shape} {image.dtype}"
        )
    return image.tobytes()


def _crop_array(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.uint8).reshape(CROP_SHAPE).copy()


def _opt_bytes(blob: bytes | None) -> bytes | None:
    return None if blob is None else bytes(blob)
