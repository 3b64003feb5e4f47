"""Drills: the broker crashes mid-replay, and the broker is down when the daemon starts.

What a user cares about: every reading from the first seq to the last reaches a subscriber
that was away meanwhile, at least once and in order, and the daemon never stops reading.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.drills.conftest import wait_count
from tests.drills.harness import (
    durable_subscriber,
    last_stats,
    live_seqs,
    persistent_broker,
    poll_until,
    saved,
    settle,
)

pytestmark = pytest.mark.drill


def test_broker_killed_mid_replay(
    frames: Path, daemon, mosquitto_factory, subscriber, drill_record
) -> None:
    """Broker SIGKILLed mid-replay, restarted after 3 s."""
    broker = persistent_broker(mosquitto_factory)
    sub = durable_subscriber(subscriber, broker)
    saved(broker)  # the subscriber's session is on disk, as on a broker long in service
    d = daemon(frames, broker)
    d.start()
    wait_count(sub, 30)
    broker.kill()
    stored_at_kill = len(d.stored_seqs())
    time.sleep(3)  # the daemon goes on reading into its outbox
    made_offline = len(d.stored_seqs()) - stored_at_kill
    alive = d.alive()
    broker.start()
    flowing = poll_until(
        lambda: max(live_seqs(sub), default=0) > stored_at_kill + made_offline, timeout_s=30
    )
    # Stats are QoS 0 and not queued while the broker is away: wait for a fresh one.
    poll_until(lambda: last_stats(sub)["mqtt"]["reconnects"] >= 1, timeout_s=10)
    stats = last_stats(sub)
    assert d.stop() == 0
    tally = settle(sub, d)
    drill_record.tally(tally)
    drill_record.notes.append(
        f"{made_offline} readings made while the broker was down; "
        f"daemon reconnects {stats.get('mqtt', {}).get('reconnects')}"
    )
    assert alive, "the daemon survives its broker"
    assert made_offline >= 20, "the daemon keeps reading while the broker is away"
    assert flowing, "readings flow again after the broker restarts"
    assert stats["mqtt"]["reconnects"] >= 1, "stats count the reconnect"
    assert tally.lost == []
    assert tally.out_of_order == []


@pytest.mark.parametrize(
    "outage_s",
    [
        pytest.param(5, id="5s"),
        pytest.param(30, id="30s", marks=[pytest.mark.slow_drill]),
    ],
)
def test_broker_down_when_the_daemon_starts(
    outage_s: int, frames: Path, daemon, mosquitto_factory, subscriber, drill_record
) -> None:
    """Broker down when the daemon starts, up later."""
    drill_record.drill = f"Broker down when the daemon starts, up {outage_s} s later"
    broker = persistent_broker(mosquitto_factory)
    sub = durable_subscriber(subscriber, broker)
    broker.stop()  # a clean stop saves the subscriber's session, as on a real broker
    d = daemon(frames, broker)
    d.start()
    started = time.monotonic()
    # Down for outage_s and until readings were made: on a busy machine the daemon's start
    # (imports, the model) can take most of a short outage.
    poll_until(lambda: d.stored_count() >= 10, timeout_s=60)
    time.sleep(max(0.0, outage_s - (time.monotonic() - started)))
    made_offline = len(d.stored_seqs())
    alive = d.alive()
    broker.start()
    caught_up = poll_until(
        lambda: set(range(1, made_offline + 1)) <= set(live_seqs(sub)), timeout_s=90
    )
    assert d.stop() == 0
    tally = settle(sub, d)
    drill_record.tally(tally)
    drill_record.notes.append(f"{made_offline} readings made before the broker came up")
    assert alive, "a missing broker does not stop the daemon"
    assert made_offline >= 10, "frames are read while the broker is down"
    assert caught_up, "the backlog reaches the subscriber once the broker is up"
    assert tally.lost == []
    assert tally.out_of_order == []
