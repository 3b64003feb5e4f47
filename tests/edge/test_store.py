"""The SQLite store: seq for life, bounded outbox, history, corrections, crops and labels."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from edge.reading import Digit, Reading, utc_timestamp
from edge.store import SCHEMA_VERSION, Store, StoreError


def make_reading(
    region: str = "main", value: str | None = "417", status: str = "ok", ts: str | None = None
) -> Reading:
    reading = Reading(
        device_id="pi-test",
        region=region,
        value=value,
        status=status,  # type: ignore[arg-type]
        confidence=0.99 if value else None,
        digits=[Digit(4, 0.99, (1, 2, 3, 4))] if value else [],
        latency_ms=1.5,
        model="mnist-cnn-test",
        frame_source="frames",
        frame_index=3,
    )
    if ts is not None:
        reading.ts = ts
    return reading


def days_ago(days: float) -> str:
    return utc_timestamp(datetime.now(timezone.utc) - timedelta(days=days))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "digitcam.sqlite"


def test_seq_continues_after_reopening_the_file(db_path: Path) -> None:
    store = Store(db_path, outbox_max=100)
    first = [store.record(make_reading(), "t", 1) for _ in range(3)]
    store.close()

    store = Store(db_path, outbox_max=100)
    reading = make_reading()
    seq = store.record(reading, "t", 1)

    assert first == [1, 2, 3]
    assert seq == 4 and reading.seq is None  # the seq is returned; the argument is unchanged
    assert json.loads(store.pending(10)[-1].payload)["seq"] == 4
    assert [r["seq"] for r in store.history()] == [4, 3, 2, 1]


def test_full_outbox_drops_the_oldest_and_counts_for_good(db_path: Path) -> None:
    store = Store(db_path, outbox_max=10)
    for _ in range(15):
        store.record(make_reading(), "digitcam/pi-test/reading", 1)

    seqs = [json.loads(item.payload)["seq"] for item in store.pending(100)]
    assert seqs == list(range(6, 16))
    assert store.outbox_depth() == 10
    assert store.dropped_count() == 5
    assert len(store.history(limit=100)) == 15  # history keeps what the outbox dropped
    store.close()

    reopened = Store(db_path, outbox_max=10)
    assert reopened.dropped_count() == 5
    assert reopened.outbox_depth() == 10


def test_a_reading_goes_to_every_topic_in_order_and_ack_removes_it(db_path: Path) -> None:
    store = Store(db_path, outbox_max=100)
    store.record(make_reading("main"), ["p/reading", "p/reading/main"], 1)
    store.record(make_reading("meter"), ["p/reading", "p/reading/meter"], 1)
    extra = store.enqueue("p/other", "x", qos=0, retain=False)

    items = store.pending(10)
    assert [i.topic for i in items] == [
        "p/reading",
        "p/reading/main",
        "p/reading",
        "p/reading/meter",
        "p/other",
    ]
    assert all(i.retain and i.qos == 1 for i in items[:4])
    assert (items[4].id, items[4].qos, items[4].retain) == (extra, 0, False)
    assert [i.id for i in store.pending(10, after_id=items[1].id)] == [i.id for i in items[2:]]

    store.ack(items[0].id, items[1].id)
    store.ack(items[0].id)  # acking twice is harmless
    assert store.outbox_depth() == 3
    assert store.pending(1)[0].id == items[2].id


def test_readings_without_topics_are_kept_in_history_only(db_path: Path) -> None:
    store = Store(db_path, outbox_max=100)
    store.record(make_reading(), [], 1)
    assert store.outbox_depth() == 0
    assert len(store.history()) == 1


def test_history_filters_pages_and_reports_corrections(db_path: Path) -> None:
    store = Store(db_path, outbox_max=100)
    store.record(make_reading("main", "12", ts="2026-01-01T10:00:00.000Z"), [], 1)
    store.record(make_reading("meter", "7", ts="2026-01-02T10:00:00.000Z"), [], 1)
    store.record(make_reading("main", None, "no_digit", ts="2026-01-03T10:00:00.000Z"), [], 1)
    store.record(make_reading("main", "12", ts="2026-01-04T10:00:00.000Z"), [], 1)

    assert [r["seq"] for r in store.history(region="main")] == [4, 3, 1]
    assert [r["seq"] for r in store.history(status="no_digit")] == [3]
    assert [r["seq"] for r in store.history(value="12")] == [4, 1]
    window = store.history(
        since="2026-01-02T00:00:00.000Z", until=datetime(2026, 1, 4, tzinfo=timezone.utc)
    )
    assert [r["seq"] for r in window] == [3, 2]
    assert [r["seq"] for r in store.history(limit=2, offset=1)] == [3, 2]

    assert store.correct(2, "1") is True
    assert store.correct(99, "1") is False
    entry = store.get(2)
    assert entry is not None
    assert (entry["value"], entry["corrected_value"]) == ("7", "1")
    assert entry["corrected_at"].endswith("Z")
    assert entry["digits"] == [{"digit": 4, "confidence": 0.99, "box": [1, 2, 3, 4]}]

    assert store.delete(2) is True
    assert store.get(2) is None and store.delete(2) is False


def test_crops_are_kept_with_their_reading_and_pruned_on_schedule(db_path: Path) -> None:
    store = Store(db_path, outbox_max=100)
    digit = np.arange(28 * 28, dtype=np.uint8).reshape(28, 28)
    old = store.record(make_reading(ts=days_ago(40)), [], 1, crops=[(digit, b"png-old")])
    recent = store.record(
        make_reading(ts=days_ago(2)), [], 1, crops=[(digit, b"png-a"), (255 - digit, b"png-b")]
    )

    crops = store.crops(recent)
    assert [(c.digit, c.png) for c in crops] == [(0, b"png-a"), (1, b"png-b")]
    assert np.array_equal(crops[1].image, 255 - digit)

    readings, _ = store.prune(history_days=30, crop_days=7)
    assert readings == 1
    assert store.get(old) is None and store.crops(old) == []  # crops go with their reading
    assert len(store.crops(recent)) == 2  # stored just now, so within crop_days

    _, crops_pruned = store.prune(history_days=30, crop_days=0)
    assert crops_pruned == 2 and store.crops(recent) == []
    assert store.get(recent) is not None


def test_no_crop_retention_prunes_a_crop_stored_the_same_millisecond(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import edge.store.history as history
    import edge.store.labels as labels

    instant = datetime(2026, 12, 1, 12, 0, 0, 123000, tzinfo=timezone.utc)

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return instant

    monkeypatch.setattr(history, "datetime", Frozen)
    monkeypatch.setattr(labels, "utc_timestamp", lambda moment=None: utc_timestamp(instant))
    store = Store(db_path, outbox_max=100)
    digit = np.zeros((28, 28), np.uint8)
    seq = store.record(make_reading(ts=utc_timestamp(instant)), [], 1, crops=[(digit, b"png")])
    assert store.prune(history_days=30, crop_days=0) == (0, 1)
    assert store.crops(seq) == [] and store.get(seq) is not None


def test_a_bad_crop_writes_nothing_and_uses_no_seq(db_path: Path) -> None:
    store = Store(db_path, outbox_max=100)
    reading = make_reading()
    with pytest.raises(ValueError, match="28"):
        store.record(reading, "t", 1, crops=[(np.zeros((20, 20), np.uint8), b"")])
    assert reading.seq is None
    assert store.history() == [] and store.outbox_depth() == 0
    assert store.record(make_reading(), "t", 1) == 1


def test_labels_can_be_added_listed_and_deleted(db_path: Path) -> None:
    store = Store(db_path, outbox_max=100)
    image = np.full((28, 28), 9, np.uint8)
    drawn = store.add_label(3, "drawing", image, b"png")
    fixed = store.add_label(7, "correction", image)

    assert [(lb.id, lb.label, lb.source) for lb in store.labels()] == [
        (drawn, 3, "drawing"),
        (fixed, 7, "correction"),
    ]
    assert [lb.id for lb in store.labels(source="correction")] == [fixed]
    assert np.array_equal(store.labels()[0].image, image)
    with pytest.raises(ValueError):
        store.add_label(3, "camera", image)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        store.add_label(12, "drawing", image)
    assert store.delete_label(drawn) is True
    assert [lb.id for lb in store.labels()] == [fixed]


def test_capture_and_publisher_threads_can_share_the_store(db_path: Path) -> None:
    store = Store(db_path, outbox_max=10_000)
    seqs: list[int] = []
    lock = threading.Lock()

    def capture() -> None:
        for _ in range(200):
            seq = store.record(make_reading(), "t", 1)
            with lock:
                seqs.append(seq)

    def publisher() -> None:
        for _ in range(300):
            store.ack(*(item.id for item in store.pending(5)))

    threads = [threading.Thread(target=capture) for _ in range(2)] + [
        threading.Thread(target=publisher)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seqs) == list(range(1, 401))
    assert store.outbox_depth() == len(store.pending(10_000))


def test_two_stores_on_one_file_share_seq_and_outbox(db_path: Path) -> None:
    daemon = Store(db_path, outbox_max=100)
    api = Store(db_path, outbox_max=100)  # `digitcam serve` may open the same file
    assert daemon.record(make_reading(), ["a", "b"], 1) == 1
    assert api.record(make_reading(), [], 1) == 2
    assert api.outbox_depth() == 2
    daemon.ack(*(item.id for item in api.pending(10)))
    assert daemon.outbox_depth() == api.outbox_depth() == 0


def test_schema_version_is_recorded_and_a_newer_file_is_refused(db_path: Path) -> None:
    Store(db_path, outbox_max=10).close()
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer"):
        Store(db_path, outbox_max=10)


def test_a_corrupt_file_is_reported_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "digitcam.sqlite"
    path.write_bytes(b"this is not an sqlite database" * 100)
    with pytest.raises(StoreError, match=str(path)):
        Store(path, outbox_max=10)


def test_an_unusable_location_is_reported_with_its_path(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a directory should be")
    path = blocker / "digitcam.sqlite"
    with pytest.raises(StoreError, match=str(path)):
        Store(path, outbox_max=10)


def test_a_closed_store_raises_store_error(db_path: Path) -> None:
    store = Store(db_path, outbox_max=10)
    store.close()
    with pytest.raises(StoreError, match=str(db_path)):
        store.record(make_reading(), "t", 1)


def test_reports_count_the_history_by_seq_hour_latency_and_correction(db_path: Path) -> None:
    store = Store(db_path, outbox_max=100)
    assert store.last_seq() == 0 and store.corrected(10) == []
    store.record(make_reading(ts="2026-01-01T10:05:00.000Z"), [], 1)
    store.record(make_reading(value=None, status="no_digit", ts="2026-01-01T10:55:00.000Z"), [], 1)
    store.record(make_reading(value="12", ts="2026-01-01T11:00:00.000Z"), [], 1)
    store.correct(3, "13")

    assert store.last_seq() == 3
    assert store.since_seq(1) == [(2, "no_digit", 1.5), (3, "ok", 1.5)]
    assert store.since_seq(0, limit=1) == [(1, "ok", 1.5)]
    assert store.per_hour("2026-01-01T10:30:00.000Z") == {"2026-01-01T10": 1, "2026-01-01T11": 1}
    assert store.latencies(2) == [1.5, 1.5]
    [corrected] = store.corrected(10)
    assert (corrected["seq"], corrected["value"], corrected["corrected_value"]) == (3, "12", "13")

    store.close()
    with pytest.raises(StoreError, match=str(db_path)):
        store.last_seq()
