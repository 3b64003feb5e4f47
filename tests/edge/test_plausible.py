"""Counter plausibility (edge.meter.plausible): repaired from top-3, refused, or a new level."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from edge.config import RegionSettings
from edge.meter.plausible import MeterChecks, MeterState, Plausibility
from edge.reading import IMPLAUSIBLE, LOW_CONFIDENCE, OK, Digit, Reading
from edge.store import Store

MINUTE = 60.0


def reading(value: str, unsure: dict[int, list[tuple[int, float]]] | None = None) -> Reading:
    """A counter reading of `value`; `unsure` gives some digits (by index) real alternatives."""
    digits = []
    for i, ch in enumerate(value.replace(".", "")):
        top3 = (unsure or {}).get(i) or [(int(ch), 0.999), ((int(ch) + 1) % 10, 0.0005)]
        digits.append(Digit(int(ch), top3[0][1], (10 * i, 0, 10, 20), top3=top3))
    return Reading("pi", "water", value, OK, 0.99, digits, 1.0, "printed-cnn-x", "cam", 0)


def region(**keys: object) -> RegionSettings:
    return RegionSettings.model_validate({"name": "water", "kind": "counter", "digits": 5, **keys})


def test_a_value_that_counts_up_is_accepted_and_remembered() -> None:
    check = Plausibility(region())
    first, second = reading("01234"), reading("01240")
    check.check(first, 0.0)
    check.check(second, MINUTE)
    assert (first.status, second.status, second.value) == (OK, OK, "01240")
    assert check.state.value == 1240 and second.raw_value is None


def test_a_one_off_misread_is_repaired_from_the_one_plausible_alternative() -> None:
    check = Plausibility(region(max_rate_per_min=2))
    check.check(reading("01234"), 0.0)
    # The last wheel was read as 3: a fall. Its second choice, 5, is the one combination that
    # is plausible; its third, 8, would be a rise faster than the meter runs.
    misread = reading("01233", unsure={4: [(3, 0.55), (5, 0.44), (8, 0.01)]})
    check.check(misread, MINUTE)
    assert (misread.status, misread.value, misread.raw_value) == (OK, "01235", "01233")
    assert check.state.value == 1235


def test_two_plausible_repairs_are_no_repair() -> None:
    check = Plausibility(region())
    check.check(reading("01234"), 0.0)
    misread = reading("01233", unsure={4: [(3, 0.55), (5, 0.40), (4, 0.05)]})
    check.check(misread, MINUTE)
    assert (misread.status, misread.value) == (IMPLAUSIBLE, None)  # 01234 or 01235: unknown


def test_a_fall_with_no_single_repair_is_published_as_implausible_never_as_the_value() -> None:
    check = Plausibility(region())
    check.check(reading("05000"), 0.0)
    fell = reading("04990")  # no digit has an alternative worth trying
    check.check(fell, MINUTE)
    assert (fell.status, fell.value, fell.raw_value) == (IMPLAUSIBLE, None, "04990")
    assert check.state.value == 5000  # the last accepted value stands


def test_a_rise_faster_than_the_meter_can_run_is_implausible() -> None:
    check = Plausibility(region(max_rate_per_min=2))
    check.check(reading("00100"), 0.0)
    jump = reading("00900")
    check.check(jump, MINUTE)
    assert jump.status == IMPLAUSIBLE
    slow = reading("00102")
    check.check(slow, MINUTE * 1.5)
    assert (slow.status, slow.value) == (OK, "00102")


def test_a_real_jump_is_accepted_after_confirm_readings_that_agree() -> None:
    check = Plausibility(region(confirm_readings=3))
    check.check(reading("09999"), 0.0)  # one wrong acceptance: the meter really shows 01200
    statuses = []
    for i, value in enumerate(["01200", "01200", "01201", "01201"]):
        r = reading(value)
        check.check(r, MINUTE * (i + 1))
        statuses.append((r.status, r.value))
    assert statuses == [
        (IMPLAUSIBLE, None),
        (IMPLAUSIBLE, None),
        (OK, "01201"),  # the third reading that agrees: the new level is accepted
        (OK, "01201"),
    ]


def test_readings_that_disagree_with_each_other_never_make_a_new_level() -> None:
    check = Plausibility(region(confirm_readings=2))
    check.check(reading("05000"), 0.0)
    outcomes = []
    for i, value in enumerate(["04000", "03000", "02000", "01000"]):
        r = reading(value)
        check.check(r, MINUTE * (i + 1))
        outcomes.append(r.status)
    assert outcomes == [IMPLAUSIBLE] * 4  # each is lower than the one before: no agreement


def test_allow_negative_accepts_a_meter_that_runs_backwards() -> None:
    check = Plausibility(region(allow_negative=True))
    check.check(reading("05000"), 0.0)
    back = reading("04990")
    check.check(back, MINUTE)
    assert (back.status, back.value) == (OK, "04990")


def test_decimals_are_values_not_strings() -> None:
    check = Plausibility(region(decimals=1, max_rate_per_min=1))
    check.check(reading("0123.4"), 0.0)
    up = reading("0123.9")
    check.check(up, MINUTE)
    assert (up.status, up.value) == (OK, "0123.9")


def test_the_last_accepted_value_survives_a_restart(tmp_path: Path) -> None:
    regions = [region()]
    store = Store(tmp_path / "digitcam.db", 100)
    MeterChecks(regions, store).check([reading("01234")], 0.0)
    store.close()
    store = Store(tmp_path / "digitcam.db", 100)  # a restart: a new process reads the file
    fell = reading("01000")
    MeterChecks(regions, store).check([fell], MINUTE)
    assert fell.status == IMPLAUSIBLE and store.meter_state("water")["value"] == 1234
    store.close()


def test_state_from_an_older_or_garbled_row_starts_afresh_rather_than_failing() -> None:
    assert MeterState.from_dict({"value": 5.0, "unknown_key": 1}).value == 5.0
    assert MeterState.from_dict(None).value is None


def test_a_wheel_misread_the_same_way_frame_after_frame_never_becomes_the_level() -> None:
    check = Plausibility(region(confirm_readings=3))
    check.check(reading("01880"), 0.0)
    # The hundreds wheel shows 9 but is read as 3 every time, with 9 as a real alternative
    # (and a second alternative that also fits, so no single repair).
    statuses = []
    for i in range(6):
        r = reading("01380", unsure={2: [(3, 0.90), (9, 0.06), (8, 0.04)]})
        check.check(r, MINUTE * (i + 1))
        statuses.append(r.status)
    assert statuses == [IMPLAUSIBLE] * 6
    assert check.state.value == 1880


def test_a_misread_rise_gives_way_to_the_next_reading_that_follows_the_value_before_it(
    tmp_path: Path,
) -> None:
    regions = [region(decimals=1, max_rate_per_min=0.1, confirm_readings=3)]
    store = Store(tmp_path / "digitcam.db", 100)
    checks = MeterChecks(regions, store)
    checks.check([reading("0152.0")], 0.0)
    # The tenths wheel at 0 read as 3: a rise the rules allow, so it is accepted (a guess the
    # rules cannot catch) ...
    wrong = reading("0152.3")
    checks.check([wrong], 5 * MINUTE)
    assert (wrong.status, wrong.value) == (OK, "0152.3")
    store.close()
    # ... and after a restart the next reading, 152.1, falls below it but follows 152.0: the
    # last acceptance was the misread. Published at once, not refused (or "repaired" to fit
    # 152.3) until three readings confirm the level.
    store = Store(tmp_path / "digitcam.db", 100)
    checks = MeterChecks(regions, store)
    back = reading("0152.1")
    checks.check([back], 10 * MINUTE)
    assert (back.status, back.value, back.raw_value) == (OK, "0152.1", None)
    assert store.meter_state("water")["value"] == 152.1
    # A reading below both is still a fall.
    fell = reading("0151.5")
    checks.check([fell], 15 * MINUTE)
    assert (fell.status, fell.value) == (IMPLAUSIBLE, None)
    store.close()


def wheels_reader(meter: RegionSettings) -> Callable[..., Reading]:
    """Reads counter wheels given as {position in tenths: probability} each, through the
    reader's own path (its threshold 0.9), as a frame of `meter` would be read."""
    from edge.meter.printed import load_printed
    from edge.meter.read import meter_value, wheel_digits
    from edge.reader import FrameReader

    printed = load_printed(None)
    reader = FrameReader(printed, [meter], 0.9, "pi", printed)  # type: ignore[arg-type]

    def read(*wheels: dict[int, float]) -> Reading:
        positions = np.zeros((len(wheels), 100), np.float32)
        for row, weights in zip(positions, wheels, strict=True):
            for tenths, weight in weights.items():
                row[tenths] = weight
        nearest = (np.arange(100) + 5) // 10 % 10  # the digit nearest each position
        probs = np.stack([np.bincount(nearest, row, 10) for row in positions])
        cells = [(20 * i, 0, 20, 32) for i in range(len(wheels))]
        digits = wheel_digits(probs, positions, cells)
        return reader.reading(meter, digits, 1.0, "cam", 0, meter_value(meter, digits))

    return read


def test_a_rightmost_wheel_on_its_round_up_line_repeats_the_last_value_and_nothing_else() -> None:
    meter = region(decimals=1)
    read = wheels_reader(meter)
    check = Plausibility(meter)

    sharp = [{0: 1.0}, {10: 1.0}, {20: 1.0}, {30: 1.0}]
    first = read(*sharp, {40: 1.0})
    check.check(first, 0.0)
    assert (first.status, check.state.value) == (OK, 123.4)
    # The last wheel half at 3.8, half at 3.9: strictly unsure between 3 and 4, but 0123.4
    # either way to its tenth, and the value the meter showed last: published.
    split = read(*sharp, {38: 0.5, 39: 0.5})
    assert split.status == LOW_CONFIDENCE
    check.check(split, MINUTE)
    assert (split.status, split.value) == (OK, "0123.4")
    assert split.digits[-1].confidence == pytest.approx(1.0) and split.confidence >= 0.9
    # The same split a step on (4.8/4.9 -> 0123.5) may be a misread: not published.
    step = read(*sharp, {48: 0.5, 49: 0.5})
    check.check(step, 2 * MINUTE)
    assert (step.status, step.value, check.state.value) == (LOW_CONFIDENCE, None, 123.4)
    # A whole digit apart is not a tenth either side of the line; another unsure wheel, or no
    # value accepted yet, neither.
    torn = read(*sharp, {40: 0.5, 50: 0.5})  # 0123.4 as read, but 4.0 or 5.0
    other = read(sharp[0], {10: 0.5, 20: 0.5}, *sharp[2:], {38: 0.5, 39: 0.5})
    for unsure in (torn, other):
        check.check(unsure, 3 * MINUTE)
        assert (unsure.status, unsure.value) == (LOW_CONFIDENCE, None)
    fresh = read(*sharp, {38: 0.5, 39: 0.5})
    Plausibility(meter).check(fresh, 0.0)
    assert fresh.status == LOW_CONFIDENCE


def test_unsure_wheels_that_cannot_have_moved_take_their_digit_from_the_rules() -> None:
    """A leading wheel in a shadow reads 0 or 6 frame after frame: with a rate limit, a wheel
    that shows the same digit in every value the rules allow is read from them."""
    meter = region(decimals=1, max_rate_per_min=0.1)  # at most 0.1 a minute, one step more
    read = wheels_reader(meter)
    one, two, three, shadow = {10: 1.0}, {20: 1.0}, {30: 1.0}, {0: 0.45, 60: 0.55}
    check = Plausibility(meter)
    for i, last in enumerate((40, 50)):  # 0123.4, then 0123.5: a level two readings back
        sure = read({0: 1.0}, one, two, three, {last: 1.0})
        check.check(sure, i * MINUTE)
        assert sure.status == OK
    # A minute on the value is 0123.5-0123.7: the leading 0 cannot have moved. Read 6 at 55%
    # (0 at 45%), it is the 0 the rules leave it, listed as such; raw_value says what was read.
    dim = read(shadow, one, two, three, {60: 1.0})
    assert dim.status == LOW_CONFIDENCE
    check.check(dim, 2 * MINUTE)
    assert (dim.status, dim.value, dim.raw_value) == (OK, "0123.6", "6123.6")
    assert (dim.digits[0].digit, dim.digits[0].confidence, dim.digits[0].position) == (0, 1.0, None)
    assert dim.confidence == min(d.confidence for d in dim.digits) >= 0.9
    assert check.state.value == 123.6
    # The last wheel may have moved (0123.6-0123.8): an unsure one stays unsure.
    last = read({0: 1.0}, one, two, three, {60: 0.5, 80: 0.5})
    check.check(last, 3 * MINUTE)
    assert (last.status, last.value) == (LOW_CONFIDENCE, None)
    # A digit the model gave no weight (0 under 1%) is not put in.
    blind = read({60: 0.7, 70: 0.3}, one, two, three, {70: 1.0})
    check.check(blind, 3 * MINUTE)
    assert (blind.status, blind.value) == (LOW_CONFIDENCE, None)
    # Near a carry (0129.9 may have become 0130.0 or 0130.1) the tens wheel may have moved.
    carry = Plausibility(
        meter, MeterState(value=129.9, ts_s=0.0, previous=129.8, previous_ts_s=0.0)
    )
    torn = read({0: 1.0}, one, {20: 0.5, 30: 0.5}, {90: 1.0}, {90: 1.0})
    carry.check(torn, MINUTE)
    assert (torn.status, torn.value) == (LOW_CONFIDENCE, None)
    # No rate limit (any rise allowed), or a level one reading alone set: nothing is fixed.
    no_rate = region(decimals=1)
    for check, settings in (
        (Plausibility(no_rate, MeterState(123.5, 0.0, previous=123.4)), no_rate),
        (Plausibility(meter, MeterState(value=123.5, ts_s=0.0)), meter),
    ):
        dim = wheels_reader(settings)(shadow, one, two, three, {60: 1.0})
        check.check(dim, MINUTE)
        assert (dim.status, dim.value) == (LOW_CONFIDENCE, None)


def test_a_meter_unsure_from_the_start_is_told_once_how_to_get_a_value(caplog) -> None:
    def unsure() -> Reading:
        r = reading("61234", unsure={0: [(6, 0.55), (0, 0.44)]})
        r.status, r.value, r.unsure_digits = LOW_CONFIDENCE, None, (0,)
        return r

    check = Plausibility(region())
    with caplog.at_level("WARNING", logger="edge.meter.plausible"):
        for i in range(25):
            check.check(unsure(), i * MINUTE)
    (told,) = [r.getMessage() for r in caplog.records]
    assert "10 readings in a row unsure (the last on wheel 1 from the left)" in told
    assert "cmd/set_value" in told and "max_rate_per_min" in told
    # A region with a value has one to start from: nothing to say.
    caplog.clear()
    started = Plausibility(region(), MeterState(value=1234.0, ts_s=0.0))
    with caplog.at_level("WARNING", logger="edge.meter.plausible"):
        for i in range(25):
            started.check(unsure(), i * MINUTE)
    assert not caplog.records
