"""Drill: ten minutes at full replay speed with MQTT on; memory and file descriptors stay flat.

Only in `make drill` (marker slow_drill). DRILL_SOAK_S shortens it for a trial run.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.drills.conftest import wait_count
from tests.drills.harness import durable_subscriber, settle

SOAK_S = float(os.environ.get("DRILL_SOAK_S", "600"))
WARMUP_S = min(60.0, SOAK_S / 10)
SAMPLE_EVERY_S = 10.0

pytestmark = [pytest.mark.drill, pytest.mark.slow_drill]


@pytest.mark.timeout(SOAK_S + 300)
def test_soak_at_full_replay_speed(
    frames: Path, daemon, mosquitto_factory, subscriber, drill_record
) -> None:
    """Soak at full replay speed (camera.fps 120, MQTT on)."""
    drill_record.drill = f"Soak {SOAK_S / 60:g} min at full replay speed (camera.fps 120, MQTT on)"
    broker = mosquitto_factory()
    sub = durable_subscriber(subscriber, broker)
    d = daemon(frames, broker, camera__fps="120")
    d.start()
    wait_count(sub, 20)
    time.sleep(WARMUP_S)  # caches, SQLite pages and onnxruntime arenas settle first
    rss0, fds0 = d.status_kb("VmRSS"), d.fd_count()
    samples = [(rss0, fds0)]
    started = time.monotonic()
    while time.monotonic() - started < SOAK_S and d.alive():
        time.sleep(min(SAMPLE_EVERY_S, max(0.0, SOAK_S - (time.monotonic() - started))))
        if d.alive():
            samples.append((d.status_kb("VmRSS"), d.fd_count()))
    alive = d.alive()
    assert d.stop() == 0
    tally = settle(sub, d, timeout_s=120)
    drill_record.tally(tally)
    rss_max = max(s[0] for s in samples)
    drill_record.notes.append(
        f"{len(tally.produced) / (SOAK_S + WARMUP_S):.0f} readings/s; RSS {rss0 // 1024} MB "
        f"after warm-up, max {rss_max // 1024} MB, last {samples[-1][0] // 1024} MB; "
        f"fds {fds0} -> {samples[-1][1]} (max {max(s[1] for s in samples)})"
    )
    assert alive, "the daemon ran the whole soak"
    assert rss_max <= rss0 * 1.10, "RSS stays within 10 % of its warmed-up size"
    # A frame file or the folder scan may be open at the moment of a sample: allow two.
    assert samples[-1][1] <= fds0 + 2, "no file descriptor leak"
    assert tally.lost == []
    assert tally.out_of_order == []
