"""Drills on the camera side: a source that goes away and comes back, and hostile files.

The daemon must keep running, say what went wrong (stats and log), resume by itself, and
keep its memory bounded whatever the folder holds.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.drills.conftest import wait_count
from tests.drills.harness import (
    READING_TOPIC,
    durable_subscriber,
    last_stats,
    poll_until,
    settle,
)
from tests.drills.hostile import deep_rgba_png, write_hostile_folder

pytestmark = pytest.mark.drill

# A Pi Zero 2 W has 512 MB of RAM; with the OS and Mosquitto running, about 400 MB is left.
PI_ZERO_BUDGET_MB = 400


def camera(sub) -> dict:
    return last_stats(sub).get("camera", {})


def frames_seen(sub) -> int:
    return int(last_stats(sub).get("frames", 0))


def test_camera_source_goes_away_and_comes_back(
    frames: Path, daemon, mosquitto_factory, subscriber, drill_record
) -> None:
    """Camera folder renamed away for 3 s, then back."""
    broker = mosquitto_factory()
    sub = durable_subscriber(subscriber, broker)
    d = daemon(frames, broker)
    d.start()
    wait_count(sub, 20)
    away = frames.with_name("frames-unmounted")
    frames.rename(away)
    reported = poll_until(lambda: camera(sub).get("state") == "reopening", timeout_s=10)
    time.sleep(3)
    during = camera(sub)
    stored_during = len(d.stored_seqs())
    alive = d.alive()
    away.rename(frames)
    resumed = poll_until(lambda: len(d.stored_seqs()) > stored_during + 10, timeout_s=20)
    # Stats arrive every interval: wait for one sent after the reopen, not the last outage one.
    reopened = poll_until(lambda: camera(sub).get("state") == "open", timeout_s=20)
    assert d.stop() == 0
    tally = settle(sub, d)
    drill_record.tally(tally)
    drill_record.notes.append(
        f"stats during the outage: state {during.get('state')}, "
        f"failures {during.get('failures')}, "
        f"last_error {during.get('last_error')!r}"
    )
    assert alive, "a vanished source does not stop the daemon"
    assert reported, "stats report the camera as reopening"
    assert during["failures"] >= 1 and str(frames) in during["last_error"]
    assert resumed, "readings resume once the folder is back"
    assert reopened, "stats report the camera open again"
    assert f"camera {frames} failed" in d.log(), "the log names the failing source"
    assert tally.lost == []
    assert tally.out_of_order == []


def test_hostile_files_are_counted_and_memory_stays_bounded(
    tmp_path: Path, daemon, mosquitto_factory, subscriber, drill_record
) -> None:
    """Hostile files: broken, empty, text, bombs, 16-bit, RGBA."""
    folder = tmp_path / "hostile"
    refused, readable = write_hostile_folder(folder)
    files = len(list(folder.iterdir()))
    broker = mosquitto_factory()
    sub = durable_subscriber(subscriber, broker)
    # fps 0 replays losslessly: at a fixed rate a slow readable file lets the next pass's
    # first file replace the one after it, and on a busy machine that one is never read.
    d = daemon(folder, broker, camera__fps="0")
    d.start()
    first_pass = poll_until(lambda: frames_seen(sub) >= files, timeout_s=30)
    rss_first_kb = d.status_kb("VmRSS")
    passes = poll_until(lambda: frames_seen(sub) >= 5 * files, timeout_s=60)
    rss_last_kb, hwm_kb = d.status_kb("VmRSS"), d.status_kb("VmHWM")
    stats, alive = last_stats(sub), d.alive()
    assert d.stop() == 0
    tally = settle(sub, d)
    drill_record.tally(tally)
    drill_record.notes.append(
        f"{stats.get('frames')} frames, {stats.get('bad_frames')} refused; RSS "
        f"{rss_first_kb // 1024} MB after one pass, {rss_last_kb // 1024} MB after five, "
        f"peak {hwm_kb // 1024} MB"
    )
    values = {}
    for message in sub.on(READING_TOPIC):
        reading = json.loads(message.payload)
        values.setdefault(reading["frame"]["source"], reading["value"])
    log = d.log()
    assert alive and first_pass and passes, "the daemon keeps going through the hostile folder"
    assert stats["bad_frames"] >= len(refused) * (stats["frames"] // files)
    assert stats["errors"] == 0, "a hostile file is a bad frame, not an error in the reader"
    for name in refused:
        assert f"source={name} reason=" in log, f"{name} is named in the log"
    for name, value in readable.items():
        assert values.get(name) == value, f"{name} is decoded and read"
    assert rss_last_kb <= rss_first_kb * 1.10 + 5 * 1024, "memory does not grow pass after pass"
    assert hwm_kb < PI_ZERO_BUDGET_MB * 1024, "the peak fits a Pi Zero 2 W"
    assert tally.lost == []


def test_bomb_under_the_pixel_limit_fits_a_pi_zero(tmp_path: Path, daemon, drill_record) -> None:
    """16-bit RGBA PNG bomb under the pixel limit (6300x6300)."""
    folder = tmp_path / "deep"
    folder.mkdir()
    (folder / "deep_rgba.png").write_bytes(deep_rgba_png())
    d = daemon(folder, None, camera__fps="2")  # MQTT off: readings go to the log file
    d.start()
    # Under the pixel limit but 317 MB once decoded: refused from its header, by name.
    read = poll_until(lambda: "deep_rgba.png reason=" in d.log(), timeout_s=60)
    refused = "MB to decode" in d.log()
    hwm_mb = d.status_kb("VmHWM") // 1024 if d.alive() else None
    alive = d.alive()
    d.stop()
    drill_record.notes.append(
        f"peak RSS {hwm_mb} MB while reading it (budget {PI_ZERO_BUDGET_MB} MB)"
    )
    assert alive and read, "the daemon names the file and keeps running"
    assert refused, "the reason says how much memory decoding would take"
    assert hwm_mb is not None and hwm_mb < PI_ZERO_BUDGET_MB, "the peak fits a Pi Zero 2 W"
