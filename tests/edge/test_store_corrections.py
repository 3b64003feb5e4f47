"""Corrections that teach: the reading's training examples always say its latest correction."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from edge.reading import Digit, Reading
from edge.store import Store
from edge.store.schema import MIGRATIONS

THREADS = 12


def reading_with_crops(store: Store, value: str) -> int:
    digits = [Digit(int(c), 0.9, (10 * i, 0, 8, 12)) for i, c in enumerate(value)]
    reading = Reading("pi-test", "upload", value, "ok", 0.9, digits, 1.0, "m", "f.png", 0)
    crops = [(np.full((28, 28), 10 * i, np.uint8), b"png%d" % i) for i in range(len(value))]
    return store.record(reading, [], 1, crops=crops)


def test_threads_correcting_one_reading_leave_one_set_of_examples(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.sqlite", outbox_max=100)
    seq = reading_with_crops(store, "12")
    start = threading.Barrier(THREADS)

    def correct(value: str) -> None:
        start.wait()
        store.correct_reading(seq, value)

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(correct, ["12", "17", "42"] * (THREADS // 3)))

    final = store.get(seq)
    assert final is not None
    labels = store.labels(source="correction")
    assert "".join(str(lb.label) for lb in labels) == final["corrected_value"]
    assert [lb.png for lb in labels] == [b"png0", b"png1"], "each crop once, left to right"


def test_examples_outlive_their_crops_and_follow_a_later_correction(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.sqlite", outbox_max=100)
    seq = reading_with_crops(store, "5")
    first = store.correct_reading(seq, "3")
    assert first is not None and len(first.labels_added) == 1
    store.delete_crops(seq)  # as storage.crop_days does
    again = store.correct_reading(seq, "5")
    assert again is not None and len(again.labels_added) == 1
    assert [(lb.label, lb.png) for lb in store.labels()] == [(5, b"png0")]
    assert store.correct_reading(999, "5") is None


def test_a_file_of_the_first_schema_keeps_its_labels(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        for statement in MIGRATIONS[0]:
            db.execute(statement)
        db.execute("PRAGMA user_version = 1")
        db.execute(
            "INSERT INTO labels (label, source, image, created) VALUES (4, 'drawing', ?, 'x')",
            (bytes(784),),
        )
    db.close()
    store = Store(path, outbox_max=100)
    seq = reading_with_crops(store, "7")
    assert store.correct(seq, "7") is True
    assert [(lb.label, lb.source) for lb in store.labels()] == [(4, "drawing"), (7, "correction")]
