"""Telling a meter region its value (edge.meter.preset, MeterChecks.set_value)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import RegionSettings
from edge.meter.plausible import MeterChecks, MeterState
from edge.meter.preset import MeterValueError, command_request, parse_value
from edge.reading import IMPLAUSIBLE, LOW_CONFIDENCE, OK
from edge.store import Store
from tests.edge.test_plausible import MINUTE, reading


def water(**keys: object) -> RegionSettings:
    return RegionSettings.model_validate(
        {"name": "water", "kind": "counter", "digits": 6, "decimals": 1, **keys}
    )


@pytest.mark.parametrize(
    ("given", "value"),
    [("1234.5", 1234.5), ("01234.5", 1234.5), (1234.5, 1234.5), (1234, 1234.0), ("7", 7.0),
     (" 99999.9 ", 99999.9), ("1234.50", 1234.5), ("0", 0.0)],
)  # fmt: skip
def test_a_value_the_region_can_show_is_taken(given: object, value: float) -> None:
    assert parse_value(water(), given) == value


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("1234.56", "shows 1 decimal"),
        (1234.56, "shows 1 decimal"),
        ("100000", "at most 5 digit(s) before the decimal point"),
        ("-3", "counts up from 0"),
        ("12a4", "not a decimal number"),
        ("1e3", "not a decimal number"),
        ("", "not a decimal number"),
        (True, "a number such as"),
        (None, "a number such as"),
        ([1], "a number such as"),
    ],
)
def test_a_value_the_region_cannot_show_is_refused_saying_why(given: object, why: str) -> None:
    with pytest.raises(MeterValueError, match=why.replace("(", r"\(").replace(")", r"\)")):
        parse_value(water(), given)


def test_a_meter_that_runs_both_ways_takes_a_value_below_zero() -> None:
    assert parse_value(water(allow_negative=True), "-12.5") == -12.5


@pytest.mark.parametrize(
    ("payload", "meters", "request_"),
    [
        (b'{"region": "gas", "value": 1234.5}', ["water", "gas"], ("gas", 1234.5)),
        (b'{"region": "gas", "value": "01234.5"}', ["water", "gas"], ("gas", "01234.5")),
        (b"1234.5", ["water"], ("water", 1234.5)),
        (b'{"value": "7"}', ["water"], ("water", "7")),
        (b"0012.5\n", ["water"], ("water", "0012.5")),  # not JSON (a leading 0): its text
    ],
)
def test_a_set_value_command_names_its_region_or_the_only_meter(
    payload: bytes, meters: list[str], request_: tuple[str, object]
) -> None:
    assert command_request(payload, meters) == request_


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b"1234.5", "say which region: this device's meter regions are water, gas"),
        (b'{"region": "water"}', "no value"),
        (b'{"region": "water", "value": 1, "force": true}', "unknown keys force"),
        (b'{"region": 3, "value": 1}', "a region's name"),
        (b"x" * 2000, "a set_value is a short object"),
    ],
)
def test_a_set_value_command_that_cannot_be_followed_says_why(payload: bytes, why: str) -> None:
    with pytest.raises(MeterValueError, match=why):
        command_request(payload, ["water", "gas"])


def test_a_misread_level_that_sticks_is_set_right_and_readings_follow_it(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.sqlite", outbox_max=10)
    try:
        # The first reading ever was misread a whole digit high and became the level; the
        # right readings that follow are a fall, refused.
        checks = MeterChecks([water(confirm_readings=100)], store)
        first, right = reading("01334.5"), reading("01234.6")
        checks.check([first], 0.0)
        checks.check([right], MINUTE)
        assert (first.status, right.status) == (OK, IMPLAUSIBLE)
        assert checks.states()["water"].pending == 1234.6

        state = checks.set_value("water", "1234.6", 2 * MINUTE)
        assert (state.value, state.ts_s, state.pending) == (1234.6, 2 * MINUTE, None)
        after = reading("01234.7")
        checks.check([after], 3 * MINUTE)
        assert (after.status, after.value) == (OK, "01234.7")
        # Saved: a restart checks against what was set, and what followed.
        restarted = MeterChecks([water()], store)
        assert restarted.states()["water"].value == 1234.7
    finally:
        store.close()


def test_a_value_set_by_hand_lets_a_dim_leading_wheel_be_read_from_the_rules(
    tmp_path: Path,
) -> None:
    """A meter whose leading wheel is never read surely publishes nothing to start from; once
    its value is set, that wheel cannot have moved (max_rate_per_min) and is read from it, also
    after a restart."""

    def dim(value: str) -> object:
        r = reading(value, unsure={0: [(6, 0.55), (0, 0.44), (8, 0.01)]})
        r.status, r.value, r.unsure_digits = LOW_CONFIDENCE, None, (0,)
        return r

    store = Store(tmp_path / "state.sqlite", outbox_max=10)
    try:
        checks = MeterChecks([water(max_rate_per_min=0.1)], store)
        before = dim("61234.5")
        checks.check([before], 0.0)
        assert (before.status, checks.states()["water"].value) == (LOW_CONFIDENCE, None)
        checks.set_value("water", "1234.5", MINUTE)
        after = dim("61234.6")
        checks.check([after], 2 * MINUTE)
        assert (after.status, after.value, after.raw_value) == (OK, "01234.6", "61234.6")
        store.close()
        store = Store(tmp_path / "state.sqlite", outbox_max=10)
        restarted = MeterChecks([water(max_rate_per_min=0.1)], store)
        later = dim("61234.7")
        restarted.check([later], 3 * MINUTE)
        assert (later.status, later.value) == (OK, "01234.7")
    finally:
        store.close()


def test_set_value_refuses_a_region_that_is_not_a_meter_and_a_value_that_does_not_fit() -> None:
    plain = RegionSettings(name="scale", kind="display", digits=4)
    checks = MeterChecks([water(), plain], None)
    with pytest.raises(MeterValueError, match=r"no meter region 'scale' \(this device's: water\)"):
        checks.set_value("scale", "12", 0.0)
    with pytest.raises(MeterValueError, match="shows 1 decimal"):
        checks.set_value("water", "12.25", 0.0)
    assert checks.states() == {"water": MeterState()}  # nothing changed
