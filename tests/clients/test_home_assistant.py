"""Home Assistant 2024.3 itself reads DigitCam's discovery configs and readings.

ha_check.py runs in .venv-ha (Home Assistant's pins clash with ours); these tests skip, saying
why, when `make test` could not install it there.
"""

from __future__ import annotations

import json
import select
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from edge.config import MqttSettings, RegionSettings
from edge.meter.plausible import MeterChecks
from edge.meter.preset import SET_VALUE_COMMAND, command_request
from edge.mqtt.discovery import discovery_configs
from edge.mqtt.publisher import Backoff, MqttPublisher
from edge.store import Store
from tests.conftest import Broker, free_port, wait_until
from tests.edge.test_store import make_reading

REPO = Path(__file__).resolve().parents[2]
HA_VENV = REPO / ".venv-ha"
HA_CHECK = Path(__file__).with_name("ha_check.py")
DEVICE = "pi-kitchen"
VALUE, CONFIDENCE, STATUS = (
    f"digitcam_{DEVICE}_main_{x}" for x in ("value", "confidence", "status")
)
CONNECTIVITY, CAPTURE = f"digitcam_{DEVICE}_connectivity", f"digitcam_{DEVICE}_capture"
# Sent for later Home Assistant versions, whose MQTT sensor takes an enum's `options`;
# 2024.3 ignores the key (and accepts any status).
IGNORED_BY_2024_3 = ["options"]


@pytest.fixture(scope="module")
def ha_python() -> Path:
    """The Python of .venv-ha, where `make test` installed Home Assistant."""
    if not (HA_VENV / ".done").exists():
        log = HA_VENV / "install.log"
        lines = log.read_text(errors="replace").strip().splitlines() if log.exists() else []
        why = lines[-1] if lines else "run `make test`, which installs it there"
        pytest.skip(f"Home Assistant is not installed in .venv-ha: {why}")
    return HA_VENV / "bin" / "python"


class HomeAssistant:
    """ha_check.py live: a real Home Assistant on the broker, asked for its states by line."""

    def __init__(self, python: Path, broker: Broker, workdir: Path) -> None:
        workdir.mkdir()
        self.log_path = workdir / "home-assistant.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [
                str(python),
                str(HA_CHECK),
                "live",
                "--broker",
                f"{broker.host}:{broker.port}",
                "--config-dir",
                str(workdir),
                "--http-port",
                str(free_port()),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        self.version = self._line(timeout_s=120)["version"]

    def _line(self, timeout_s: float = 30) -> dict[str, Any]:
        stdout: IO[str] = self.proc.stdout  # type: ignore[assignment]
        ready, _, _ = select.select([stdout], [], [], timeout_s)
        line = stdout.readline() if ready else ""
        if not line:
            self.proc.kill()
            pytest.fail(f"Home Assistant did not answer; its log:\n{self.log_path.read_text()}")
        return dict(json.loads(line))

    def entities(self, call: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
        """unique_id -> {entity_id, state, attributes}, after calling a service when `call`
        says which ({"service": "number.set_value", "data": {...}}); also fails on any logged
        problem."""
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(call) if call else "") + "\n")
        self.proc.stdin.flush()
        answer = self._line()
        assert answer["problems"] == [], "Home Assistant complained"
        return dict(answer["entities"])

    def state(self, unique_id: str) -> str | None:
        entity = self.entities().get(unique_id)
        return None if entity is None else str(entity["state"])

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()  # end of input: Home Assistant stops cleanly
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()


@pytest.fixture
def home_assistant(ha_python: Path, tmp_path: Path) -> Iterator[Callable[[Broker], HomeAssistant]]:
    started: list[HomeAssistant] = []

    def start(broker: Broker) -> HomeAssistant:
        started.append(HomeAssistant(ha_python, broker, tmp_path / f"ha{len(started)}"))
        return started[-1]

    yield start
    for ha in started:
        ha.close()


def check_schemas(python: Path, configs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    result = subprocess.run(
        [str(python), str(HA_CHECK), "schemas"],
        input=json.dumps(configs),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return dict(json.loads(result.stdout))


def test_home_assistants_discovery_schemas_accept_every_entity_whole(ha_python: Path) -> None:
    settings = MqttSettings.model_validate({"host": "broker"})
    water = RegionSettings(
        name="water", kind="counter", digits=6, decimals=1, device_class="water", unit="m³"
    )
    # A meter region has a fourth entity: the box that sets its value.
    for regions, count in ((["main"], 5), (["main", "meter-2"], 8), (["main", water], 9)):
        configs = discovery_configs(settings, DEVICE, regions, "1.2.3")
        results = check_schemas(ha_python, configs)
        assert len(results) == count
        errors = {topic: r["error"] for topic, r in results.items() if "error" in r}
        assert errors == {}
        ignored = {topic: r["dropped"] for topic, r in results.items() if r["dropped"]}
        status_topics = {t for t in configs if t.endswith("_status/config")}
        assert ignored == dict.fromkeys(status_topics, IGNORED_BY_2024_3)
    main = results[f"homeassistant/sensor/{DEVICE}/main_value/config"]["config"]
    assert main["unique_id"] == VALUE and main["device"]["name"] == f"DigitCam {DEVICE}"


def start_publisher(
    broker: Broker,
    store: Store,
    regions: list[str | RegionSettings],
    commands: dict[str, Callable[[bytes], None]] | None = None,
) -> MqttPublisher:
    """DigitCam's publisher on the test broker, quick to reconnect, with its command handlers,
    started."""
    publisher = MqttPublisher(
        MqttSettings(host=broker.host, port=broker.port, keepalive_s=5),
        DEVICE,
        store,
        threading.Event(),
        regions=regions,
        backoff=Backoff(min_s=0.1, max_s=0.5),
        poll_s=0.02,
    )
    for name, handler in (commands or {}).items():
        publisher.on_command(name, handler)
    publisher.start()
    return publisher


def test_a_real_home_assistant_shows_readings_and_unknown_for_no_value(
    mosquitto: Broker, home_assistant: Callable[[Broker], HomeAssistant], tmp_path: Path
) -> None:
    store = Store(tmp_path / "digitcam.sqlite", outbox_max=100)
    publisher = start_publisher(mosquitto, store, ["main"])
    try:
        # A reading retained before Home Assistant starts, as after a restart of either.
        store.record(make_reading("main", "007"), publisher.reading_topics("main"), 1)
        wait_until(lambda: store.outbox_depth() == 0, what="the first reading sent")
        ha = home_assistant(mosquitto)
        wait_until(lambda: ha.state(VALUE) == "007", 60, "Home Assistant showing 007")
        entities = ha.entities()
        assert set(entities) == {VALUE, CONFIDENCE, STATUS, CONNECTIVITY, CAPTURE}
        assert entities[VALUE]["attributes"]["status"] == "ok"
        assert entities[CONFIDENCE]["state"] == "99.0"
        assert entities[CONFIDENCE]["attributes"]["unit_of_measurement"] == "%"
        assert entities[STATUS]["state"] == "ok"
        assert entities[CONNECTIVITY]["state"] == "on"

        # A live reading without a value: unknown, not the text "None".
        nothing = make_reading("main", None, status="no_digit")
        store.record(nothing, publisher.reading_topics("main"), 1)
        wait_until(lambda: ha.state(STATUS) == "no_digit", 30, "the no_digit reading")
        assert ha.state(VALUE) == "unknown"
        assert ha.state(CONFIDENCE) == "unknown"

        # A clean stop leaves `offline`: the device reads disconnected, its values unavailable.
        publisher.stop(flush_timeout_s=5)
        wait_until(lambda: ha.state(CONNECTIVITY) == "off", 30, "connectivity off")
        assert ha.state(VALUE) == "unavailable"
    finally:
        publisher.stop(flush_timeout_s=0)
        store.close()


@pytest.mark.parametrize(
    ("kind", "device_class", "unit"),
    [("counter", "water", "m³"), ("display", "energy", "kWh")],  # wheels; an electricity LCD
)
def test_a_meter_region_is_a_meter_home_assistants_energy_dashboard_takes(
    mosquitto: Broker,
    home_assistant: Callable[[Broker], HomeAssistant],
    tmp_path: Path,
    kind: str,
    device_class: str,
    unit: str,
) -> None:
    region = RegionSettings(
        name="meter",
        kind=kind,
        digits=6,
        decimals=1,
        device_class=device_class,
        unit=unit,
        align=True,
    )
    meter, meter_status, box = (
        f"digitcam_{DEVICE}_meter_{x}" for x in ("value", "status", "set_value")
    )
    store = Store(tmp_path / "digitcam.sqlite", outbox_max=100)
    # What the daemon does with cmd/set_value (edge.app.App._set_meter_value).
    checks = MeterChecks([region], store)

    def set_value(payload: bytes) -> None:
        checks.set_value(*command_request(payload, ["meter"]), now_s=0.0)

    publisher = start_publisher(mosquitto, store, [region], {SET_VALUE_COMMAND: set_value})
    try:
        first = make_reading("meter", "01234.5")
        first.shift = (3, -2)  # the camera moved: the boxes followed it
        store.record(first, publisher.reading_topics("meter"), 1)
        ha = home_assistant(mosquitto)
        wait_until(lambda: ha.state(meter) == "1234.5", 60, "Home Assistant showing 1234.5")
        attributes = ha.entities()[meter]["attributes"]
        assert attributes["shift"] == [3, -2]
        # What the energy dashboard asks of a water or an electricity meter's sensor.
        assert attributes["state_class"] == "total_increasing"
        assert attributes["device_class"] == device_class
        assert attributes["unit_of_measurement"] == unit

        # An implausible reading: unknown, never a dip to 0 that the dashboard would count.
        refused = make_reading("meter", None, status="implausible")
        refused.raw_value = "01034.5"
        store.record(refused, publisher.reading_topics("meter"), 1)
        wait_until(lambda: ha.state(meter_status) == "implausible", 30, "the implausible reading")
        assert ha.state(meter) == "unknown"
        assert ha.entities()[meter]["attributes"]["raw_value"] == "01034.5"

        # The person reads the meter and types its value into the box Home Assistant shows:
        # the device takes it as the last accepted value.
        entities = ha.entities()
        assert entities[box]["state"] == "unknown"  # it shows the readings, now without one
        assert entities[box]["attributes"]["unit_of_measurement"] == unit
        entity_id = entities[box]["entity_id"]
        ha.entities(
            {"service": "number.set_value", "data": {"entity_id": entity_id, "value": 1034.5}}
        )
        wait_until(lambda: checks.states()["meter"].value == 1034.5, 30, "the value set")
        store.record(make_reading("meter", "01034.6"), publisher.reading_topics("meter"), 1)
        wait_until(lambda: ha.state(box) == "1034.6", 30, "the box showing the next reading")
    finally:
        publisher.stop(flush_timeout_s=0)
        store.close()
