"""The MQTT publisher against a real Mosquitto: delivery, retained state, outages, commands."""

from __future__ import annotations

import itertools
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.publish as mqtt_publish
import pytest

from edge.config import MqttSettings
from edge.mqtt.discovery import discovery_configs
from edge.mqtt.publisher import Backoff, MqttError, MqttPublisher
from edge.store import Store
from tests.conftest import Broker, Message, Subscriber, wait_until
from tests.edge.test_store import make_reading

REPO = Path(__file__).resolve().parents[2]
DEVICE = "pi-test"
BASE = f"digitcam/{DEVICE}"
MakePublisher = Callable[..., MqttPublisher]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "digitcam.sqlite", outbox_max=1000)
    yield store
    store.close()


@pytest.fixture
def make_publisher(store: Store) -> Iterator[MakePublisher]:
    """Publishers with test-sized backoff; stopped at teardown."""
    made: list[MqttPublisher] = []

    def make(
        broker: Broker,
        regions: list[str] | None = None,
        start: bool = True,
        use_store: Store | None = None,
        **settings: object,
    ) -> MqttPublisher:
        mqtt_settings = MqttSettings(host=broker.host, port=broker.port, keepalive_s=5, **settings)  # type: ignore[arg-type]
        publisher = MqttPublisher(
            mqtt_settings,
            DEVICE,
            use_store or store,
            threading.Event(),
            regions=regions or ["main"],
            backoff=Backoff(min_s=0.1, max_s=0.5),
            poll_s=0.02,
        )
        made.append(publisher)
        if start:
            publisher.start()
        return publisher

    yield make
    for publisher in made:
        publisher.stop(flush_timeout_s=0)


def record(store: Store, publisher: MqttPublisher, region: str = "main", value: str = "417") -> int:
    return store.record(make_reading(region, value), publisher.reading_topics(region), 1)


def seqs_on(sub: Subscriber, topic: str) -> list[int]:
    return [json.loads(m.payload)["seq"] for m in sub.on(topic)]


def assert_all_in_order(received: list[int], expected: list[int]) -> None:
    """Every seq arrived; a resend after an outage may repeat one but never reorders."""
    first_seen = list(dict.fromkeys(received))
    assert first_seen == expected


def test_readings_arrive_on_both_topics_and_the_latest_stays_retained(
    mosquitto: Broker,
    subscriber: Callable[..., Subscriber],
    store: Store,
    make_publisher: MakePublisher,
) -> None:
    live = subscriber(mosquitto, [f"{BASE}/#"])
    publisher = make_publisher(mosquitto, regions=["main", "meter"])
    wait_until(lambda: publisher.state == "connected", what="connected")
    sent = [
        record(store, publisher, "main", "12"),
        record(store, publisher, "meter", "7"),
        record(store, publisher, "main", "13"),
    ]
    wait_until(lambda: len(live.on(f"{BASE}/reading")) == 3, what="three readings")

    assert seqs_on(live, f"{BASE}/reading") == sent
    assert seqs_on(live, f"{BASE}/reading/main") == [sent[0], sent[2]]
    assert seqs_on(live, f"{BASE}/reading/meter") == [sent[1]]
    last = json.loads(live.on(f"{BASE}/reading")[-1].payload)
    stored = store.get(sent[2])
    assert stored is not None
    assert last == {k: v for k, v in stored.items() if not k.startswith("corrected_")}
    assert {k: last[k] for k in ("device_id", "region", "value", "status")} == {
        "device_id": "pi-test",
        "region": "main",
        "value": "13",
        "status": "ok",
    }
    assert all(m.qos == 1 for m in live.on(f"{BASE}/reading"))
    wait_until(lambda: store.outbox_depth() == 0, what="outbox acked")
    assert publisher.published == 6

    assert publisher.publish_stats({"frames": 3, "fps": 2.0}) is True
    wait_until(lambda: live.on(f"{BASE}/stats"), what="stats")
    assert json.loads(live.on(f"{BASE}/stats")[0].payload) == {"frames": 3, "fps": 2.0}

    late = subscriber(mosquitto, [f"{BASE}/#"])
    wait_until(lambda: len(late.messages) >= 4, what="retained messages")
    retained = {m.topic: m for m in late.messages}
    assert all(m.retain for m in retained.values())
    assert json.loads(retained[f"{BASE}/reading"].payload)["seq"] == sent[2]
    assert json.loads(retained[f"{BASE}/reading/main"].payload)["value"] == "13"
    assert json.loads(retained[f"{BASE}/reading/meter"].payload)["value"] == "7"
    assert retained[f"{BASE}/status"].payload == b"online"
    assert f"{BASE}/stats" not in retained


def test_clean_stop_flushes_everything_then_leaves_offline_retained(
    mosquitto: Broker,
    subscriber: Callable[..., Subscriber],
    store: Store,
    make_publisher: MakePublisher,
) -> None:
    live = subscriber(mosquitto, [f"{BASE}/reading"])
    publisher = make_publisher(mosquitto)
    wait_until(lambda: publisher.state == "connected", what="connected")
    sent = [record(store, publisher) for _ in range(50)]

    assert publisher.stop(flush_timeout_s=10) is True
    assert store.outbox_depth() == 0
    wait_until(lambda: len(live.on(f"{BASE}/reading")) >= 50, what="all readings")
    assert_all_in_order(seqs_on(live, f"{BASE}/reading"), sent)
    late = subscriber(mosquitto, [f"{BASE}/status"])
    wait_until(lambda: late.on(f"{BASE}/status"), what="retained status")
    assert late.on(f"{BASE}/status")[0].payload == b"offline"


KILLABLE = """
import sys, threading
from pathlib import Path
from edge.config import MqttSettings
from edge.mqtt.publisher import MqttError, MqttPublisher
from edge.store import Store
stop = threading.Event()
settings = MqttSettings(host=sys.argv[1], port=int(sys.argv[2]), keepalive_s=5)
publisher = MqttPublisher(settings, "pi-test", Store(Path(sys.argv[3]), 100), stop)
publisher.start()
while publisher.state != "connected":
    stop.wait(0.02)
sys.stdout.write("connected\\n")
sys.stdout.flush()
stop.wait()
"""


def test_killed_process_leaves_offline_through_the_last_will(
    mosquitto: Broker,
    subscriber: Callable[..., Subscriber],
    tmp_path: Path,
) -> None:
    live = subscriber(mosquitto, [f"{BASE}/status"])
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            KILLABLE,
            mosquitto.host,
            str(mosquitto.port),
            str(tmp_path / "child.sqlite"),
        ],
        stdout=subprocess.PIPE,
        env=env,
        cwd=REPO,
    )
    assert proc.stdout is not None
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 15)
        assert ready and proc.stdout.readline() == b"connected\n"
        wait_until(
            lambda: [m.payload for m in live.on(f"{BASE}/status")] == [b"online"], what="online"
        )
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        wait_until(lambda: len(live.on(f"{BASE}/status")) == 2, what="the last will")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
    assert live.on(f"{BASE}/status")[1].payload == b"offline"
    late = subscriber(mosquitto, [f"{BASE}/status"])
    wait_until(lambda: late.on(f"{BASE}/status"), what="retained status")
    assert late.on(f"{BASE}/status")[0].payload == b"offline"
    assert late.on(f"{BASE}/status")[0].retain


@pytest.mark.parametrize("outage", ["stopped", "crashed"])
def test_broker_outage_mid_stream_loses_no_reading(
    outage: str,
    mosquitto_factory: Callable[..., Broker],
    subscriber: Callable[..., Subscriber],
    store: Store,
    make_publisher: MakePublisher,
) -> None:
    broker = mosquitto_factory(persistence=True)
    # A persistent session, saved to disk by a restart, so the broker queues readings for
    # the watcher while it reconnects, even after a crash.
    watcher = subscriber(broker, [f"{BASE}/reading"], client_id="watcher", clean_session=False)
    broker.restart()
    wait_until(lambda: watcher.subscribed == 2, what="the watcher back")
    publisher = make_publisher(broker)
    wait_until(lambda: publisher.state == "connected", what="connected")
    pause = threading.Event()
    sent: list[int] = []
    for i in range(60):
        if i == 15 and outage == "crashed":
            broker.freeze()  # publishes go out but no PUBACK comes back...
        if i == 30 and outage == "stopped":
            broker.stop()
        if i == 30 and outage == "crashed":
            broker.kill()  # ...then the broker dies with them
        if i == 45:
            assert publisher.state != "connected"
            assert store.outbox_depth() >= 30
            broker.start()
        sent.append(record(store, publisher))  # the capture loop never waits for the broker
        pause.wait(0.02)

    wait_until(
        lambda: set(seqs_on(watcher, f"{BASE}/reading")) >= set(sent),
        timeout_s=20,
        what="every reading after the outage",
    )
    assert_all_in_order(seqs_on(watcher, f"{BASE}/reading"), sent)
    wait_until(lambda: store.outbox_depth() == 0, what="outbox drained")
    assert publisher.reconnects >= 1


def test_broker_down_at_start_then_everything_drains(
    mosquitto_factory: Callable[..., Broker],
    subscriber: Callable[..., Subscriber],
    store: Store,
    make_publisher: MakePublisher,
) -> None:
    broker = mosquitto_factory(persistence=True)
    watcher = subscriber(broker, [f"{BASE}/reading"], client_id="watcher", clean_session=False)
    broker.stop()
    publisher = make_publisher(broker)
    sent = [record(store, publisher) for _ in range(10)]  # never waits for the broker
    wait_until(lambda: publisher.errors >= 2, what="a few failed connection attempts")
    assert publisher.state in ("disconnected", "connecting")
    assert store.outbox_depth() == 20  # each reading on two topics

    broker.start()
    sent += [record(store, publisher) for _ in range(5)]
    wait_until(
        lambda: len(set(seqs_on(watcher, f"{BASE}/reading"))) == 15,
        timeout_s=20,
        what="all fifteen readings",
    )
    assert_all_in_order(seqs_on(watcher, f"{BASE}/reading"), sent)
    wait_until(lambda: store.outbox_depth() == 0, what="outbox drained")


def test_bad_credentials_are_reported_and_not_retried_in_a_loop(
    mosquitto_factory: Callable[..., Broker],
    subscriber: Callable[..., Subscriber],
    store: Store,
    make_publisher: MakePublisher,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = mosquitto_factory(users={"digitcam": "right-password"})
    store.record(make_reading(), [f"{BASE}/reading", f"{BASE}/reading/main"], 1)
    caplog.set_level(logging.ERROR, logger="edge.mqtt.connection")

    wrong = make_publisher(broker, username="digitcam", password="wrong-password")
    wait_until(lambda: wrong.state == "auth_failed", what="auth_failed")
    assert "broker refused our credentials" in caplog.text
    threading.Event().wait(2.0)  # the backoff is 0.1-0.5 s for other failures
    assert broker.refused_count() == 1
    assert wrong.state == "auth_failed" and wrong.published == 0
    assert store.outbox_depth() == 2
    assert wrong.stop(flush_timeout_s=30) is False  # auth_failed ends the flush at once

    # With the password fixed, the reading kept in the outbox goes out.
    watcher = subscriber(
        broker, [f"{BASE}/reading"], username="digitcam", password="right-password"
    )
    right = make_publisher(broker, username="digitcam", password="right-password")
    wait_until(lambda: watcher.on(f"{BASE}/reading"), what="the kept reading")
    assert right.state == "connected"


def test_capture_command_reaches_the_callback_again_after_a_reconnect(
    mosquitto: Broker,
    make_publisher: MakePublisher,
) -> None:
    publisher = make_publisher(mosquitto, start=False)
    received: list[bytes] = []
    publisher.on_command("capture", received.append)
    publisher.start()

    def press() -> bool:
        mqtt_publish.single(
            f"{BASE}/cmd/capture", "PRESS", hostname=mosquitto.host, port=mosquitto.port
        )
        return wait_for_list(received)

    wait_until(lambda: publisher.state == "connected", what="connected")
    wait_until(press, what="the first capture command")
    mosquitto.kill()  # subscriptions die with the broker
    mosquitto.start()
    wait_until(
        lambda: publisher.reconnects == 1 and publisher.state == "connected", what="reconnect"
    )
    received.clear()
    wait_until(press, what="the capture command after the reconnect")
    assert received[0] == b"PRESS"


def test_unknown_command_is_counted_and_known_ones_still_run(
    mosquitto: Broker,
    make_publisher: MakePublisher,
) -> None:
    publisher = make_publisher(mosquitto, start=False)
    received: list[bytes] = []
    publisher.on_command("capture", received.append)
    publisher.start()
    wait_until(lambda: publisher.state == "connected", what="connected")

    def press(name: str) -> None:
        mqtt_publish.single(
            f"{BASE}/cmd/{name}", "PRESS", hostname=mosquitto.host, port=mosquitto.port
        )

    wait_until(lambda: press("capture") or wait_for_list(received), what="a known command")
    press("captrue")
    wait_until(lambda: publisher.counters()["unknown_commands"] == 1, what="the unknown counted")
    assert publisher.errors == 0 and received[0] == b"PRESS"


def test_connection_state_moves_only_on_the_sender_thread_in_order(
    mosquitto: Broker,
    make_publisher: MakePublisher,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """paho's thread only reports; one writer applies its reports, so none is lost or reordered."""
    caplog.set_level(logging.DEBUG, logger="edge.mqtt.connection")
    publisher = make_publisher(mosquitto)
    wait_until(lambda: publisher.state == "connected", what="connected")
    mosquitto.kill()
    wait_until(lambda: publisher.state != "connected", what="the loss noticed")
    mosquitto.start()
    wait_until(
        lambda: publisher.reconnects == 1 and publisher.state == "connected", what="reconnect"
    )

    changes = [r for r in caplog.records if r.getMessage().startswith("MQTT state ")]
    assert {r.threadName for r in changes} == {"mqtt-sender"}
    steps = [tuple(r.getMessage().removeprefix("MQTT state ").split(" -> ")) for r in changes]
    # Each change starts where the last one ended: no write went around the one writer.
    assert all(before[1] == after[0] for before, after in itertools.pairwise(steps))
    assert steps[:3] == [
        ("disconnected", "connecting"),
        ("connecting", "connected"),
        ("connected", "disconnected"),
    ]
    assert steps[-1] == ("connecting", "connected")


def wait_for_list(items: list[bytes], timeout_s: float = 0.3) -> bool:
    """True once `items` is non-empty, waiting at most timeout_s (commands may race SUBACK)."""
    stop = threading.Event()
    for _ in range(int(timeout_s / 0.02)):
        if items:
            return True
        stop.wait(0.02)
    return bool(items)


def test_retained_command_is_ignored(mosquitto: Broker, make_publisher: MakePublisher) -> None:
    mqtt_publish.single(
        f"{BASE}/cmd/capture", "PRESS", retain=True, hostname=mosquitto.host, port=mosquitto.port
    )
    publisher = make_publisher(mosquitto, start=False)
    received: list[bytes] = []
    publisher.on_command("capture", received.append)
    publisher.start()
    wait_until(lambda: publisher.state == "connected", what="connected")
    assert wait_for_list(received, timeout_s=1.0) is False


def test_discovery_is_sent_again_when_home_assistant_comes_online(
    mosquitto: Broker,
    subscriber: Callable[..., Subscriber],
    make_publisher: MakePublisher,
) -> None:
    ha = subscriber(mosquitto, ["homeassistant/#"])
    publisher = make_publisher(mosquitto, regions=["main", "meter"])
    expected = discovery_configs(publisher.settings, DEVICE, ["main", "meter"], "x")

    def configs() -> list[Message]:
        return [m for m in ha.messages if m.topic.endswith("/config")]

    wait_until(lambda: len(configs()) == len(expected), what="discovery")
    assert {m.topic for m in configs()} == set(expected)

    ha.clear()
    mqtt_publish.single(
        "homeassistant/status", "online", hostname=mosquitto.host, port=mosquitto.port
    )
    wait_until(lambda: len(configs()) == len(expected), what="discovery again")
    assert {m.topic for m in configs()} == set(expected)

    late = subscriber(mosquitto, ["homeassistant/#"])
    wait_until(lambda: len(late.messages) == len(expected), what="retained discovery")
    assert all(m.retain for m in late.messages)


def test_tls_connects_only_to_a_broker_signed_by_the_configured_ca(
    mosquitto_factory: Callable[..., Broker],
    store: Store,
    make_publisher: MakePublisher,
    tmp_path: Path,
) -> None:
    broker = mosquitto_factory(tls=True)
    with pytest.raises(MqttError, match=r"mqtt\.tls"):
        make_publisher(broker, tls=True, ca_file=tmp_path / "missing-ca.crt", start=False)

    untrusting = make_publisher(broker, tls=True)  # the system CAs do not know this broker
    wait_until(lambda: untrusting.errors >= 2, what="failed TLS handshakes")
    assert untrusting.state != "connected"
    untrusting.stop(flush_timeout_s=0)

    trusting = make_publisher(broker, tls=True, ca_file=broker.ca_file)
    record(store, trusting)
    wait_until(lambda: store.outbox_depth() == 0, what="the reading delivered over TLS")
    assert trusting.state == "connected" and trusting.published == 2
