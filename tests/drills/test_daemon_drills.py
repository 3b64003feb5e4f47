"""Drill: the daemon is killed (SIGKILL, as by a power cut or the OOM killer) and restarted.

The outbox on disk must be intact, seq must continue where it stopped, and only messages
that were still unacknowledged at the kill may reach the subscriber twice (QoS 1).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.drills.conftest import wait_count
from tests.drills.harness import (
    READING_TOPIC,
    durable_subscriber,
    live_seqs,
    poll_until,
    settle,
)

pytestmark = pytest.mark.drill


def outbox_on_disk(db_path: Path) -> dict[str, object]:
    """What a restarted daemon will find: integrity, the depth counter, unacknowledged seqs."""
    with sqlite3.connect(db_path, timeout=10) as db:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        depth = db.execute("SELECT value FROM meta WHERE key = 'outbox_depth'").fetchone()[0]
        rows = db.execute("SELECT topic, payload FROM outbox").fetchall()
        last_seq = db.execute("SELECT MAX(seq) FROM readings").fetchone()[0]
    pending = {json.loads(payload)["seq"] for topic, payload in rows if topic == READING_TOPIC}
    return {
        "integrity": integrity,
        "depth": depth,
        "rows": len(rows),
        "pending": pending,
        "last_seq": last_seq,
    }


def test_daemon_killed_mid_replay_and_restarted(
    frames: Path, daemon, mosquitto_factory, subscriber, drill_record
) -> None:
    """Daemon SIGKILLed mid-replay, broker stalled, restarted."""
    broker = mosquitto_factory()
    sub = durable_subscriber(subscriber, broker)
    d = daemon(frames, broker)
    d.start()
    wait_count(sub, 40)
    # A broker that stops answering for a second makes sure the kill finds messages sent but
    # not acknowledged; it reads them once it runs again and delivers them.
    broker.freeze()
    time.sleep(1)
    d.kill()
    assert broker.proc is not None
    os.kill(broker.proc.pid, signal.SIGCONT)
    disk = outbox_on_disk(d.db_path)
    d.start()
    resumed = poll_until(
        lambda: max(live_seqs(sub), default=0) > disk["last_seq"] + 30, timeout_s=30
    )
    assert d.stop() == 0
    tally = settle(sub, d)
    drill_record.tally(tally)
    twice = tally.duplicated()
    drill_record.notes.append(
        f"killed at seq {disk['last_seq']} with {len(disk['pending'])} readings unacknowledged; "
        f"{len(twice)} of them arrived twice"
    )
    assert disk["integrity"] == "ok"
    assert disk["depth"] == disk["rows"], "the outbox depth counter matches its rows"
    assert resumed, "the restarted daemon publishes new readings"
    assert tally.produced == list(range(1, len(tally.produced) + 1)), "seq has no gap or reuse"
    assert tally.produced[-1] > disk["last_seq"] + 30, "seq continues after the restart"
    assert tally.lost == []
    assert tally.out_of_order == []
    assert disk["pending"], "the kill found readings not yet acknowledged"
    assert twice <= disk["pending"], "only unacknowledged readings are sent again"
