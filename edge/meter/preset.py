"""Telling a meter region its value (AI-on-the-edge-device's "SetPreValue").

After a meter is replaced, after the device was off while the meter ran on, or when the first
reading a region ever made was a misread, the last accepted value is wrong and every right
reading is refused as implausible until `confirm_readings` readings agree on a new level. A
person who can see the meter says what it shows instead: MQTT `cmd/set_value`, or
`PUT /api/v1/meters/<region>`. The value is checked against the region (it must fit its digits
and decimals) before the daemon takes it as the last accepted value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from edge.config import RegionSettings

SET_VALUE_COMMAND = "set_value"
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
MAX_PAYLOAD = 1024  # a command is a short JSON object; anything longer is not one


class MeterValueError(ValueError):
    """A value or a request a meter region cannot take; the message says why."""


def parse_value(region: RegionSettings, given: Any) -> float:
    """`given` (a JSON number or its text, "01234.5" as a reading writes it) as `region`'s value.

    Refused: anything not a plain decimal number, more decimals than the region's `decimals`
    (trailing zeros aside), more whole digits than its wheels or display digits can show, and a
    value below 0 unless the region sets `allow_negative`.
    """
    if isinstance(given, bool) or not isinstance(given, str | int | float):
        raise MeterValueError(f'value: a number such as 1234.5 or "1234.5", got {given!r}')
    text = given.strip() if isinstance(given, str) else repr(given)
    if not NUMBER.fullmatch(text):
        raise MeterValueError(f"value {text[:40]!r} is not a decimal number such as 1234.5")
    try:
        number = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only decimals
        raise MeterValueError(f"value {text[:40]!r} is not a number") from exc
    step = Decimal(1).scaleb(-region.decimals)
    if number != number.quantize(step):
        raise MeterValueError(
            f"value {text}: region {region.name} shows {region.decimals} decimal(s)"
        )
    whole = region.cell_count - region.decimals
    if abs(number) >= Decimal(10) ** whole:
        raise MeterValueError(
            f"value {text}: region {region.name} shows at most {whole} digit(s) before the "
            f"decimal point"
        )
    if number < 0 and not region.allow_negative:
        raise MeterValueError(
            f"value {text}: region {region.name} counts up from 0 (set allow_negative for a "
            "meter that runs both ways)"
        )
    return float(number)


def command_request(payload: bytes, meters: Sequence[str]) -> tuple[str, Any]:
    """The (region, value) a `cmd/set_value` message asks for.

    `{"region": "water", "value": 1234.5}`; on a device with a single meter region the bare
    value (`1234.5`) will do, and so will an object without `region`.
    """
    if len(payload) > MAX_PAYLOAD:
        raise MeterValueError(f"payload of {len(payload)} bytes: a set_value is a short object")
    try:
        request = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        request = payload.decode("utf-8", "replace").strip()  # a bare 1234.5 that JSON refused
    if not isinstance(request, dict):
        request = {"value": request}
    unknown = sorted(set(request) - {"region", "value"})
    if unknown:
        raise MeterValueError(f"unknown keys {', '.join(unknown)}: send region and value")
    if "value" not in request:
        raise MeterValueError('no value: send {"region": "<name>", "value": 1234.5}')
    region = request.get("region")
    if region is None:
        if len(meters) != 1:
            named = ", ".join(meters) or "none"
            raise MeterValueError(f"say which region: this device's meter regions are {named}")
        region = meters[0]
    if not isinstance(region, str):
        raise MeterValueError(f"region: a region's name, got {region!r}")
    return region, request["value"]
