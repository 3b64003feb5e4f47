"""Home Assistant MQTT discovery: the retained config messages that create DigitCam's entities.

Pure functions (no broker): the publisher sends what `discovery_configs` returns on every
connect and whenever `ha_status_topic` (`<discovery_prefix>/status`) says `online`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from edge.config import MqttSettings, RegionSettings
from edge.meter.preset import SET_VALUE_COMMAND
from edge.reading import IMPLAUSIBLE, STATUSES

logger = logging.getLogger(__name__)

# `implausible` comes only from meter regions (counters, a meter's display); an enum sensor
# lists what it can show.
READING_STATUSES = [s for s in STATUSES if s != IMPLAUSIBLE]
COUNTER_STATUSES = list(STATUSES)
CAPTURE_COMMAND = "capture"
RELOAD_COMMAND = "reload"  # load the model installed on the device (digitcam model install)


def base_topic(settings: MqttSettings, device_id: str) -> str:
    """`<topic_prefix>/<device_id>`: every DigitCam topic of this device starts with it."""
    return f"{settings.topic_prefix}/{device_id}"


def status_topic(settings: MqttSettings, device_id: str) -> str:
    """Retained `online` / `offline`; `offline` is also the last will."""
    return f"{base_topic(settings, device_id)}/status"


def reading_topic(settings: MqttSettings, device_id: str) -> str:
    """Every region's readings, as the spec promises."""
    return f"{base_topic(settings, device_id)}/reading"


def region_topic(settings: MqttSettings, device_id: str, region: str) -> str:
    """One region's readings, so its retained message is that region's latest value."""
    return f"{reading_topic(settings, device_id)}/{region}"


def reading_topics(settings: MqttSettings, device_id: str, region: str) -> list[str]:
    """Where a reading of `region` is published (both retained)."""
    return [reading_topic(settings, device_id), region_topic(settings, device_id, region)]


def command_topic(settings: MqttSettings, device_id: str, name: str) -> str:
    """`cmd/<name>`: messages here reach the callbacks registered for `name`."""
    return f"{base_topic(settings, device_id)}/cmd/{name}"


def ha_status_topic(settings: MqttSettings) -> str | None:
    """Where Home Assistant says `online` when it starts; None when discovery is off."""
    prefix = settings.discovery_prefix.strip("/")
    return f"{prefix}/status" if prefix else None


def counter_value(region: RegionSettings) -> dict[str, Any]:
    """A meter's value sensor (a counter, a meter's display): a number Home Assistant's
    energy dashboard can take.

    `total_increasing` with the region's class and unit; a reading without a value (low
    confidence, implausible) renders None, which a numeric sensor shows as unknown, so the
    dashboard never sees a dip to zero.
    """
    entity: dict[str, Any] = {
        "value_template": (
            "{{ value_json.value | float if value_json.value is not none else none }}"
        ),
        "state_class": "total_increasing",
        "icon": "mdi:counter",
    }
    if region.device_class:
        entity["device_class"] = region.device_class
    if region.unit:
        entity["unit_of_measurement"] = region.unit
    return entity


def attributes_template(entry: str | RegionSettings) -> str:
    """The value sensor's attributes: the reading's seq, time, status, confidence, model and
    raw value; an aligned meter region adds its shift (how far its boxes follow the camera)."""
    shift = " 'shift': value_json.get('shift')," if getattr(entry, "align", False) else ""
    return (
        "{{ {'seq': value_json.seq, 'ts': value_json.ts, 'status': value_json.status,"
        " 'confidence': value_json.confidence, 'model': value_json.model,"
        f"{shift} 'raw_value': value_json.get('raw_value')}} | tojson }}}}"
    )


def set_value_number(
    settings: MqttSettings, device_id: str, region: RegionSettings
) -> dict[str, Any]:
    """A box in Home Assistant to tell a meter region what the meter shows (`cmd/set_value`):
    after a meter is replaced, or a first reading that was misread. It shows the region's
    readings; a reading without a value leaves it unknown (`payload_reset`)."""
    step = 10.0**-region.decimals
    top = round(10.0 ** (region.cell_count - region.decimals) - step, region.decimals)
    # The region's name as a JSON string, written into the template as it is.
    template = '{"region": ' + json.dumps(region.name) + ', "value": {{ value }}}'
    entity: dict[str, Any] = {
        "name": f"{region.name} set value",
        "command_topic": command_topic(settings, device_id, SET_VALUE_COMMAND),
        "command_template": template,
        "state_topic": region_topic(settings, device_id, region.name),
        "value_template": "{{ value_json.value if value_json.value is not none else 'None' }}",
        "payload_reset": "None",
        "min": -top if region.allow_negative else 0,
        "max": top,
        "step": step,
        "mode": "box",
        "entity_category": "config",
        "icon": "mdi:counter",
    }
    if region.unit:
        entity["unit_of_measurement"] = region.unit
    return entity


def discovery_configs(
    settings: MqttSettings,
    device_id: str,
    regions: Sequence[str | RegionSettings],
    version: str,
) -> dict[str, dict[str, Any]]:
    """Discovery topic -> config for every entity; empty when discovery_prefix is empty."""
    prefix = settings.discovery_prefix.strip("/")
    if not prefix:
        return {}
    status = status_topic(settings, device_id)
    device = {
        "identifiers": [f"digitcam_{device_id}"],
        "name": f"DigitCam {device_id}",
        "manufacturer": "DigitCam",
        "model": "DigitCam digit reader",
        "sw_version": version,
    }
    common = {
        "device": device,
        "origin": {"name": "DigitCam", "sw_version": version},
        "availability_topic": status,
        "payload_available": "online",
        "payload_not_available": "offline",
        "qos": 1,
    }
    configs: dict[str, dict[str, Any]] = {}

    def add(component: str, object_id: str, entity: dict[str, Any], available: bool = True) -> None:
        config = {**common, **entity, "unique_id": f"digitcam_{device_id}_{object_id}"}
        if not available:
            # The connectivity sensor must show "off" when the device is offline, not vanish
            # into "unavailable", so it does not depend on the status topic it reports.
            for key in ("availability_topic", "payload_available", "payload_not_available"):
                config.pop(key)
        configs[f"{prefix}/{component}/{device_id}/{object_id}/config"] = config

    for entry in regions:
        region = entry if isinstance(entry, str) else entry.name
        topic = region_topic(settings, device_id, region)
        # No unit or state_class: the value stays text, so "007" keeps its zeros. Home
        # Assistant (2024.3) maps a rendered "None" to unknown only for numeric sensors; a
        # text sensor would show the word "None", so a null value renders "unknown" itself.
        counter = not isinstance(entry, str) and entry.is_meter
        value: dict[str, Any] = {
            "value_template": (
                "{{ value_json.value if value_json.value is not none else 'unknown' }}"
            ),
            "icon": "mdi:numeric",
        }
        if counter and not isinstance(entry, str):
            value = counter_value(entry)
        add(
            "sensor",
            f"{region}_value",
            {
                "name": f"{region} reading",
                "state_topic": topic,
                **value,
                "json_attributes_topic": topic,
                "json_attributes_template": attributes_template(entry),
            },
        )
        add(
            "sensor",
            f"{region}_confidence",
            # Numeric (a unit and a state class): Home Assistant reads a rendered "None" as
            # unknown, whereas "unknown" would be rejected as a non-numeric state.
            {
                "name": f"{region} confidence",
                "state_topic": topic,
                "value_template": (
                    "{{ (value_json.confidence * 100) | round(1)"
                    " if value_json.confidence is not none else none }}"
                ),
                "unit_of_measurement": "%",
                "state_class": "measurement",
                "entity_category": "diagnostic",
                "icon": "mdi:percent",
            },
        )
        add(
            "sensor",
            f"{region}_status",
            {
                "name": f"{region} status",
                "state_topic": topic,
                "value_template": "{{ value_json.status }}",
                "device_class": "enum",
                "options": COUNTER_STATUSES if counter else READING_STATUSES,
                "entity_category": "diagnostic",
            },
        )
        if counter and not isinstance(entry, str):
            add("number", f"{region}_set_value", set_value_number(settings, device_id, entry))
    add(
        "binary_sensor",
        "connectivity",
        {
            "name": "Connectivity",
            "state_topic": status,
            "payload_on": "online",
            "payload_off": "offline",
            "device_class": "connectivity",
            "entity_category": "diagnostic",
        },
        available=False,
    )
    add(
        "button",
        CAPTURE_COMMAND,
        {
            "name": "Capture",
            "command_topic": command_topic(settings, device_id, CAPTURE_COMMAND),
            "payload_press": "PRESS",
            "icon": "mdi:camera",
        },
    )
    return configs
