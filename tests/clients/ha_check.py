"""Home Assistant's own code judging DigitCam's discovery configs and readings.

Runs with the Python of .venv-ha (tests/clients/ha-requirements.txt; `make test` builds it),
never the project's: Home Assistant pins paho-mqtt 1.6 and older libraries than DigitCam's.

    ha_check.py schemas < configs.json
        {discovery topic: config} in; out one JSON object, per topic either {"config": ...}
        as the MQTT platform's DISCOVERY_SCHEMA left it (plus "dropped": keys it ignored)
        or {"error": ...}.
    ha_check.py live --broker HOST:PORT --config-dir DIR --http-port N
        a minimal Home Assistant with the MQTT integration on that broker, discovery on, as a
        user sets it up. Prints {"ready": true} once set up, then answers every line on stdin
        with one JSON line: {"entities": {unique_id: {"entity_id", "state", "attributes"}},
        "problems": [warnings and errors logged about MQTT entities]}. A line that is a JSON
        object {"service": "domain.name", "data": {...}} first calls that service, as a user
        does in the frontend (number.set_value). Stops at end of input.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import re
import sys
from pathlib import Path
from typing import Any

import voluptuous as vol
from homeassistant import bootstrap, config_entries, loader
from homeassistant import config as conf_util
from homeassistant.components.mqtt.discovery import (
    MQTT_ORIGIN_INFO_SCHEMA,
    SUPPORTED_COMPONENTS,
    TOPIC_MATCHER,
)
from homeassistant.const import __version__ as ha_version
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry
from homeassistant.setup import async_setup_component

logger = logging.getLogger("ha_check")

# Where Home Assistant logs what it thinks of an MQTT entity: discovery, the platforms, the
# templates, and the state an entity writes (a sensor with a state it refuses).
WATCHED_LOGGERS = re.compile(
    r"^homeassistant\.(components\.(mqtt|sensor|binary_sensor|button|number)|helpers\.(entity|template))"
)


def check_schemas(configs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each config through the steps MQTT discovery takes, up to the platform's schema."""
    results: dict[str, dict[str, Any]] = {}
    for topic, config in configs.items():
        rest = topic.partition("/")[2]  # after the discovery prefix
        match = TOPIC_MATCHER.fullmatch(rest)
        if match is None:
            results[topic] = {"error": f"not a discovery topic Home Assistant matches: {rest}"}
            continue
        component = match.group("component")
        if component not in SUPPORTED_COMPONENTS:
            results[topic] = {"error": f"component {component} is not supported"}
            continue
        try:
            if "origin" in config:
                MQTT_ORIGIN_INFO_SCHEMA(config["origin"])
            platform = importlib.import_module(f"homeassistant.components.mqtt.{component}")
            validated = platform.DISCOVERY_SCHEMA(dict(config))
        except vol.Invalid as exc:
            results[topic] = {"error": str(exc)}
            continue
        dropped = sorted(set(config) - set(validated) - {"origin"})
        results[topic] = {"config": _jsonable(validated), "dropped": dropped}
    return results


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return getattr(value, "template", None) or str(value)  # a Template's text, an enum's value


class Problems(logging.Handler):
    """Keeps the warnings and errors Home Assistant logs about MQTT entities."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if WATCHED_LOGGERS.match(record.name):
            self.messages.append(f"{record.name}: {record.getMessage()}")


async def start_hass(config_dir: Path, host: str, port: int, http_port: int) -> HomeAssistant:
    """Home Assistant core with http (on loopback) and the MQTT integration on the broker."""
    (config_dir / "configuration.yaml").write_text("{}\n")
    hass = HomeAssistant(str(config_dir))
    hass.config.skip_pip = True  # the venv has what it needs; nothing is fetched at run time
    loader.async_setup(hass)
    hass.config_entries = config_entries.ConfigEntries(hass, {})
    await bootstrap.async_load_base_functionality(hass)
    await conf_util.async_process_ha_core_config(hass, {})
    for domain, config in (
        ("homeassistant", {}),
        ("http", {"http": {"server_host": ["127.0.0.1"], "server_port": http_port}}),
    ):
        if not await async_setup_component(hass, domain, config):
            raise RuntimeError(f"Home Assistant could not set up {domain}")
    entry = config_entries.ConfigEntry(
        version=1,
        minor_version=1,
        domain="mqtt",
        title=f"{host}:{port}",
        data={"broker": host, "port": port, "discovery": True},
        source=config_entries.SOURCE_USER,
    )
    # MQTT sets up all its platforms; camera and image need numpy, which is left out: Home
    # Assistant logs that and carries on (DigitCam has no camera entity).
    await hass.config_entries.async_add(entry)
    if entry.state is not config_entries.ConfigEntryState.LOADED:
        raise RuntimeError(f"the MQTT integration did not load: {entry.state}")
    await hass.async_start()  # running: MQTT sends its birth message, discovery proceeds
    await hass.async_block_till_done()
    return hass


def entities(hass: HomeAssistant) -> dict[str, dict[str, Any]]:
    """The MQTT entities by unique_id, with their state as the state machine holds it."""
    found: dict[str, dict[str, Any]] = {}
    for entry in entity_registry.async_get(hass).entities.values():
        if entry.platform != "mqtt" or (state := hass.states.get(entry.entity_id)) is None:
            continue
        found[entry.unique_id] = {
            "entity_id": entry.entity_id,
            "state": state.state,
            "attributes": _jsonable(dict(state.attributes)),
        }
    return found


async def live(broker: str, config_dir: Path, http_port: int) -> None:
    problems = Problems()
    logging.getLogger().addHandler(problems)
    host, _, port = broker.rpartition(":")
    hass = await start_hass(config_dir, host, int(port), http_port)
    print(json.dumps({"ready": True, "version": ha_version}), flush=True)
    loop = asyncio.get_running_loop()
    try:
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            if line.strip():
                call = json.loads(line)
                domain, _, service = call["service"].partition(".")
                await hass.services.async_call(domain, service, call["data"], blocking=True)
            await hass.async_block_till_done()
            answer = {"entities": entities(hass), "problems": problems.messages}
            print(json.dumps(answer), flush=True)
    finally:
        await hass.async_stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    verbs.add_parser("schemas", help="validate {topic: config} read from stdin")
    run = verbs.add_parser("live", help="run Home Assistant on a broker")
    run.add_argument("--broker", required=True, help="HOST:PORT")
    run.add_argument("--config-dir", type=Path, required=True)
    run.add_argument("--http-port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.verb == "schemas":
        print(json.dumps(check_schemas(json.load(sys.stdin))))
    else:
        asyncio.run(live(args.broker, args.config_dir, args.http_port))


if __name__ == "__main__":
    main()
