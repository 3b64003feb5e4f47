"""Home Assistant discovery configs, built without a broker."""

from __future__ import annotations

import json
from typing import Any

import pytest

from edge.config import MqttSettings
from edge.mqtt.discovery import discovery_configs, reading_topics
from edge.reading import Digit, Reading

SETTINGS = MqttSettings.model_validate(
    {"host": "broker", "topic_prefix": "digitcam", "discovery_prefix": "homeassistant"}
)
# What Home Assistant accepts for the fields we use (sensor / binary_sensor docs).
HA_SENSOR_DEVICE_CLASSES = {"enum", None}
HA_BINARY_SENSOR_DEVICE_CLASSES = {"connectivity"}
HA_STATE_CLASSES = {"measurement", "total", "total_increasing", None}
HA_ENTITY_CATEGORIES = {"config", "diagnostic", None}


def configs(regions: list[str] | None = None) -> dict[str, dict[str, Any]]:
    return discovery_configs(SETTINGS, "pi-kitchen", regions or ["main", "meter"], "1.2.3")


def by_unique_id(regions: list[str] | None = None) -> dict[str, tuple[str, dict[str, Any]]]:
    return {c["unique_id"]: (topic, c) for topic, c in configs(regions).items()}


def reading_json(value: str | None, confidence: float | None) -> dict[str, Any]:
    reading = Reading(
        "pi-kitchen",
        "main",
        value,
        "ok" if value else "no_digit",
        confidence,
        [Digit(4, 0.991, (0, 0, 1, 1))] if value else [],
        1.0,
        "m",
        "s",
        1,
        seq=7,
    )
    return json.loads(reading.to_json())


def test_every_entity_has_a_well_formed_topic_and_a_unique_id() -> None:
    result = configs()
    assert len(result) == 2 * 3 + 2  # per region: value, confidence, status; + status + capture
    ids = [c["unique_id"] for c in result.values()]
    assert len(set(ids)) == len(ids)
    for topic, config in result.items():
        parts = topic.split("/")
        assert parts[0] == "homeassistant" and parts[2] == "pi-kitchen" and parts[4] == "config"
        assert parts[1] in {"sensor", "binary_sensor", "button"}
        assert config["device"] == {
            "identifiers": ["digitcam_pi-kitchen"],
            "name": "DigitCam pi-kitchen",
            "manufacturer": "DigitCam",
            "model": "DigitCam digit reader",
            "sw_version": "1.2.3",
        }
        json.dumps(config)  # goes on the wire as JSON


def test_each_region_sensor_reads_its_own_retained_topic() -> None:
    entities = by_unique_id()
    for region in ("main", "meter"):
        topic, value = entities[f"digitcam_pi-kitchen_{region}_value"]
        assert topic == f"homeassistant/sensor/pi-kitchen/{region}_value/config"
        assert value["state_topic"] == f"digitcam/pi-kitchen/reading/{region}"
        assert value["state_topic"] in reading_topics(SETTINGS, "pi-kitchen", region)
        assert "value_json.value" in value["value_template"]
        assert value["availability_topic"] == "digitcam/pi-kitchen/status"
        assert "unit_of_measurement" not in value and "state_class" not in value  # "007" stays
        confidence = entities[f"digitcam_pi-kitchen_{region}_confidence"][1]
        assert confidence["state_topic"] == value["state_topic"]
        assert confidence["unit_of_measurement"] == "%"
        assert confidence["state_class"] == "measurement"


def test_connectivity_and_capture_button() -> None:
    entities = by_unique_id()
    topic, status = entities["digitcam_pi-kitchen_connectivity"]
    assert topic == "homeassistant/binary_sensor/pi-kitchen/connectivity/config"
    assert (status["state_topic"], status["payload_on"], status["payload_off"]) == (
        "digitcam/pi-kitchen/status",
        "online",
        "offline",
    )
    assert status["device_class"] == "connectivity"
    assert "availability_topic" not in status  # offline must read "off", not "unavailable"
    topic, button = entities["digitcam_pi-kitchen_capture"]
    assert topic == "homeassistant/button/pi-kitchen/capture/config"
    assert button["command_topic"] == "digitcam/pi-kitchen/cmd/capture"


def test_only_values_home_assistant_accepts() -> None:
    for topic, config in configs().items():
        component = topic.split("/")[1]
        classes = (
            HA_BINARY_SENSOR_DEVICE_CLASSES
            if component == "binary_sensor"
            else HA_SENSOR_DEVICE_CLASSES
        )
        if component != "button":
            assert config.get("device_class") in classes
        assert config.get("state_class") in HA_STATE_CLASSES
        assert config.get("entity_category") in HA_ENTITY_CATEGORIES
        if config.get("device_class") == "enum":
            assert config["options"] == ["ok", "no_digit", "low_confidence"]


@pytest.mark.parametrize(
    ("value", "confidence", "shown_value", "shown_confidence"),
    [("417", 0.991, "417", "99.1"), ("007", 0.5, "007", "50.0"), (None, None, "unknown", "None")],
)
def test_templates_render_a_reading_as_home_assistant_shows_it(
    value: str | None, confidence: float | None, shown_value: str, shown_confidence: str
) -> None:
    jinja2 = pytest.importorskip("jinja2")
    env = jinja2.Environment()
    env.filters["tojson"] = json.dumps
    entities = by_unique_id(["main"])
    payload = reading_json(value, confidence)

    def render(unique_id: str, key: str = "value_template") -> str:
        return str(env.from_string(entities[unique_id][1][key]).render(value_json=payload))

    # Home Assistant 2024.3 turns a rendered "None" into unknown for a numeric sensor (the
    # confidence) but shows it as text on a text sensor (the value), which renders "unknown".
    # tests/clients/test_home_assistant.py checks this against Home Assistant itself.
    assert render("digitcam_pi-kitchen_main_value") == shown_value
    assert render("digitcam_pi-kitchen_main_confidence") == shown_confidence
    assert render("digitcam_pi-kitchen_main_status") in ("ok", "no_digit")
    attributes = json.loads(render("digitcam_pi-kitchen_main_value", "json_attributes_template"))
    assert attributes["seq"] == 7


def test_empty_discovery_prefix_turns_discovery_off() -> None:
    settings = SETTINGS.model_copy(update={"discovery_prefix": ""})
    assert discovery_configs(settings, "pi-kitchen", ["main"], "1") == {}


def test_a_counter_region_is_a_meter_for_the_energy_dashboard() -> None:
    from edge.config import RegionSettings

    gas = RegionSettings(
        name="gas", kind="counter", digits=8, decimals=3, device_class="gas", unit="m³"
    )
    result = discovery_configs(SETTINGS, "pi-kitchen", ["main", gas], "1.2.3")
    meter = result["homeassistant/sensor/pi-kitchen/gas_value/config"]
    assert meter["state_class"] == "total_increasing"
    assert (meter["device_class"], meter["unit_of_measurement"]) == ("gas", "m³")
    handwriting = result["homeassistant/sensor/pi-kitchen/main_value/config"]
    assert "state_class" not in handwriting and "unit_of_measurement" not in handwriting
    status = result["homeassistant/sensor/pi-kitchen/gas_status/config"]
    assert "implausible" in status["options"]
    assert (
        "implausible" not in result["homeassistant/sensor/pi-kitchen/main_status/config"]["options"]
    )


def test_a_meters_display_is_a_meter_sensor_and_a_plain_display_is_text() -> None:
    from edge.config import RegionSettings

    power = RegionSettings(
        name="power", kind="display", digits=7, decimals=1, device_class="energy", unit="kWh"
    )
    scale = RegionSettings(name="scale", kind="display", digits=4)
    result = discovery_configs(SETTINGS, "pi-kitchen", [power, scale], "1.2.3")
    meter = result["homeassistant/sensor/pi-kitchen/power_value/config"]
    assert (meter["state_class"], meter["device_class"], meter["unit_of_measurement"]) == (
        "total_increasing",
        "energy",
        "kWh",
    )
    assert "implausible" in result["homeassistant/sensor/pi-kitchen/power_status/config"]["options"]
    text = result["homeassistant/sensor/pi-kitchen/scale_value/config"]
    assert "state_class" not in text and "unit_of_measurement" not in text
    assert (
        "implausible"
        not in result["homeassistant/sensor/pi-kitchen/scale_status/config"]["options"]
    )


def test_a_meter_region_gets_a_box_to_set_its_value_that_sends_what_the_daemon_takes() -> None:
    jinja2 = pytest.importorskip("jinja2")
    from edge.config import RegionSettings
    from edge.meter.preset import command_request, parse_value

    gas = RegionSettings(
        name="gas", kind="counter", digits=8, decimals=3, device_class="gas", unit="m³"
    )
    scale = RegionSettings(name="scale", kind="display", digits=4)
    result = discovery_configs(SETTINGS, "pi-kitchen", ["main", gas, scale], "1.2.3")
    numbers = {t: c for t, c in result.items() if t.split("/")[1] == "number"}
    assert list(numbers) == ["homeassistant/number/pi-kitchen/gas_set_value/config"]
    box = next(iter(numbers.values()))
    assert box["command_topic"] == "digitcam/pi-kitchen/cmd/set_value"
    assert (box["min"], box["max"], box["step"]) == (0, 99999.999, 0.001)
    assert box["unit_of_measurement"] == "m³" and box["entity_category"] == "config"
    # Home Assistant renders the template with the number typed; the daemon takes the result.
    sent = jinja2.Environment().from_string(box["command_template"]).render(value=1234.567)
    assert command_request(sent.encode(), ["gas", "water"]) == ("gas", 1234.567)
    assert parse_value(gas, 1234.567) == 1234.567
    shown = jinja2.Environment().from_string(box["value_template"])
    assert shown.render(value_json={"value": "01234.567"}) == "01234.567"
    assert shown.render(value_json={"value": None}) == box["payload_reset"]


def test_an_aligned_meters_value_sensor_shows_how_far_the_camera_moved() -> None:
    jinja2 = pytest.importorskip("jinja2")
    from edge.config import RegionSettings

    env = jinja2.Environment()
    env.filters["tojson"] = json.dumps
    water = RegionSettings(name="water", kind="counter", digits=6, decimals=1, align=True)
    result = discovery_configs(SETTINGS, "pi-kitchen", ["main", water], "1.2.3")
    payload = {**reading_json("417", 0.99), "shift": [4, -1]}

    def attributes(object_id: str) -> dict[str, Any]:
        config = result[f"homeassistant/sensor/pi-kitchen/{object_id}/config"]
        return dict(
            json.loads(
                env.from_string(config["json_attributes_template"]).render(value_json=payload)
            )
        )

    assert attributes("water_value")["shift"] == [4, -1]
    assert "shift" not in attributes("main_value")
