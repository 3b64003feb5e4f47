"""config/mosquitto-bridge.conf between two real Mosquitto brokers: nothing is lost.

The device's broker runs the example file as Debian runs it (a main file with persistence that
includes conf.d/); only the listener port, the central address and the reconnect delay are
changed for the test. A paho publisher stands in for the daemon.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.conftest import Broker, Subscriber, wait_until
from tests.systemd import REPO

BRIDGE_EXAMPLE = REPO / "config" / "mosquitto-bridge.conf"
READING = "digitcam/dev1/reading"


def device_broker(make: Callable[..., Broker], central: Broker) -> Broker:
    """The local broker of a device, bridged to `central` with the example configuration."""
    local = make(persistence=True, start=False)
    bridge = BRIDGE_EXAMPLE.read_text()
    for old, new in [
        ("listener 1883 127.0.0.1", f"listener {local.port} 127.0.0.1"),
        ("address central.example.net:1883", f"address {central.host}:{central.port}"),
        # The example waits 5 s before reconnecting; the test restarts brokers on purpose.
        ("restart_timeout 5 60", "restart_timeout 1 1"),
    ]:
        assert old in bridge, f"config/mosquitto-bridge.conf no longer has {old!r}"
        bridge = bridge.replace(old, new)
    conf_d = local.workdir / "conf.d"
    conf_d.mkdir()
    (conf_d / "digitcam-bridge.conf").write_text(bridge)
    # What Debian's /etc/mosquitto/mosquitto.conf provides.
    main = [
        "persistence true",
        f"persistence_location {local.workdir}/",
        f"log_dest file {local.log_path}",
        f"include_dir {conf_d}",
    ]
    if os.geteuid() == 0:
        main.append("user root")
    local.config_path.write_text("\n".join(main) + "\n")
    local.start()
    return local


class Publisher:
    """Publishes numbered readings at QoS 1 and waits for each PUBACK, like the daemon's outbox."""

    def __init__(self, broker: Broker) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="dev1")
        self.client.reconnect_delay_set(1, 1)
        self.connected = threading.Event()
        self.client.on_connect = lambda *_: self.connected.set()
        self.client.on_disconnect = lambda *_: self.connected.clear()
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def readings(self, seqs: range) -> None:
        assert self.connected.wait(10), "publisher not connected to the device broker"
        for seq in seqs:
            info = self.client.publish(READING, json.dumps({"seq": seq}), qos=1)
            info.wait_for_publish(timeout=5)
            assert info.is_published(), f"reading {seq} not acknowledged by the device broker"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def publisher() -> Iterator[Callable[[Broker], Publisher]]:
    made: list[Publisher] = []

    def make(broker: Broker) -> Publisher:
        made.append(Publisher(broker))
        return made[-1]

    yield make
    for pub in made:
        pub.close()


def seqs(sub: Subscriber) -> list[int]:
    return [json.loads(m.payload)["seq"] for m in sub.on(READING)]


def test_every_reading_reaches_the_central_broker_across_restarts(
    mosquitto_factory: Callable[..., Broker], subscriber: Any, publisher: Any
) -> None:
    central = mosquitto_factory(persistence=True)
    local = device_broker(mosquitto_factory, central)
    # The fleet side: a persistent session, so it misses nothing while central restarts.
    fleet = subscriber(
        central,
        ["digitcam/+/reading", "$SYS/broker/connection/+/state"],
        client_id="fleet",
        clean_session=False,
    )

    def bridge_up() -> bool:
        states = [m for m in fleet.messages if m.topic.startswith("$SYS/broker/connection/")]
        return bool(states) and states[-1].payload == b"1"

    wait_until(bridge_up, what="the bridge's notification on the central broker")
    device = publisher(local)
    device.readings(range(1, 11))
    wait_until(lambda: sorted(set(seqs(fleet))) == list(range(1, 11)), what="readings 1-10")

    # The central broker restarts: readings published meanwhile wait on the device.
    central.stop()
    device.readings(range(11, 21))
    central.start()
    wait_until(
        lambda: sorted(set(seqs(fleet))) == list(range(1, 21)),
        timeout_s=15,
        what="readings 11-20 after the central broker came back",
    )

    # Central is away and the device's broker restarts too (an upgrade, a power cycle
    # with a clean stop): the queue comes back from the device's persistence file.
    central.stop()
    device.readings(range(21, 31))
    local.restart()
    central.start()
    wait_until(
        lambda: sorted(set(seqs(fleet))) == list(range(1, 31)),
        timeout_s=15,
        what="readings 21-30 after both brokers restarted",
    )


def test_commands_from_the_fleet_reach_the_device_once(
    mosquitto_factory: Callable[..., Broker], subscriber: Any
) -> None:
    central = mosquitto_factory()
    local = device_broker(mosquitto_factory, central)
    fleet = subscriber(central, ["digitcam/#", "$SYS/broker/connection/+/state"])
    wait_until(lambda: any(m.payload == b"1" for m in fleet.messages), what="the bridge")
    daemon = subscriber(local, ["digitcam/dev1/cmd/#"])

    fleet.client.publish("digitcam/dev1/cmd/capture", "", qos=1)

    wait_until(lambda: daemon.on("digitcam/dev1/cmd/capture"), what="the command on the device")
    # A marker sent out through the bridge after the command: an echo would arrive before it.
    daemon.client.publish("digitcam/dev1/status", "online", qos=1)
    wait_until(lambda: fleet.on("digitcam/dev1/status"), what="the marker on the central broker")
    # The fleet sees its own command once: it did not come back out through the bridge.
    assert len(fleet.on("digitcam/dev1/cmd/capture")) == 1
    assert len(daemon.on("digitcam/dev1/cmd/capture")) == 1
