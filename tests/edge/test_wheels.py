"""Rolling counter wheels resolved from right to left (edge.meter.wheels)."""

from __future__ import annotations

import numpy as np
import pytest

from edge.meter.wheels import format_value, resolve_wheels, wheel_position


def value(*positions: float) -> str:
    return "".join(str(d) for d, _ in resolve_wheels(positions))


def test_a_roll_from_9_to_0_across_three_wheels_counts_up_without_a_jump() -> None:
    # 0199.x -> 0200.x: the three wheels on the right roll together as the last passes 0.
    before = value(0.0, 1.0, 9.0, 9.0, 6.0)
    rolling = value(0.0, 1.0, 9.0, 9.5, 9.5)  # the tens wheel has begun to turn with the last
    mid = value(0.0, 1.5, 9.5, 9.5, 9.6)  # all three half-way: still 0199
    after = value(0.0, 2.0, 0.0, 0.0, 0.2)  # the last wheel has passed 0: 0200
    assert (before, rolling, mid, after) == ("01996", "01999", "01999", "02000")


def test_a_wheel_half_way_counts_as_the_lower_digit_until_its_right_neighbour_passes_0() -> None:
    assert value(3.5, 9.5) == "39"
    assert value(3.9, 9.95) == "40"  # the right wheel counts as 0 now, so this one is 4
    assert value(4.0, 0.1) == "40"


def test_a_wheel_read_a_tenth_off_a_whole_digit_is_not_rounded_the_wrong_way() -> None:
    # A stationary wheel the model places at 3.9 or 4.1 is a 4 while the right wheel is mid-way.
    assert value(3.9, 5.0) == "45"
    assert value(4.1, 5.0) == "45"
    # ...and a rolling wheel that looks nearly there is not counted early.
    assert value(3.8, 9.7) == "39"


def test_the_rightmost_wheel_counts_as_the_next_digit_only_when_nearly_there() -> None:
    assert value(2.0, 7.5) == "27"
    assert value(2.0, 7.85) == "28"


def test_a_wheel_near_the_line_between_two_digits_is_unsure_however_sharp_its_peak() -> None:
    def peak(tenths: int) -> np.ndarray:
        probs = np.zeros(100, np.float32)
        probs[[tenths - 1, tenths, tenths + 1]] = [0.25, 0.5, 0.25]
        return probs

    clear, near_line = resolve_wheels([3.5], [peak(35)]), resolve_wheels([3.8], [peak(38)])
    assert clear == [(3, pytest.approx(1.0))]
    assert near_line[0][0] == 3 and near_line[0][1] == pytest.approx(0.75)  # 3.9 would be 4


def test_wheel_position_is_the_peak_refined_by_its_neighbours_and_confidence_its_mass() -> None:
    probs = np.zeros(100, np.float32)
    probs[[36, 37, 38]] = [0.25, 0.5, 0.25]
    position, confidence = wheel_position(probs)
    assert position == pytest.approx(3.7) and confidence == pytest.approx(1.0)
    probs = np.zeros(100, np.float32)
    probs[[99, 0, 1]] = [0.3, 0.4, 0.3]
    assert wheel_position(probs)[0] == pytest.approx(0.0, abs=1e-6)  # not 5.0: it wraps
    probs = np.full(100, 0.01, np.float32)
    assert wheel_position(probs)[1] == pytest.approx(0.05)


def test_decimals_put_the_point_before_the_last_digits() -> None:
    assert format_value([0, 1, 2, 3, 4, 5], 1) == "01234.5"
    assert format_value([0, 0, 7], 0) == "007"


def test_the_rightmost_wheel_is_sure_to_a_tenth_across_its_round_up_line_not_a_digit_off() -> None:
    from edge.meter.wheels import rightmost_to_a_tenth

    def spread(weights: dict[int, float]) -> np.ndarray:
        probs = np.zeros(100, np.float32)
        for tenths, weight in weights.items():
            probs[tenths] = weight
        return probs

    straddling = spread({38: 0.5, 39: 0.5})  # 3.8 counts as 3, 3.9 as 4
    assert resolve_wheels([3.85], [straddling]) == [(4, pytest.approx(0.5))]
    assert rightmost_to_a_tenth(4, straddling) == pytest.approx(1.0)
    assert rightmost_to_a_tenth(3, straddling) == pytest.approx(1.0)
    assert rightmost_to_a_tenth(4, spread({38: 0.6, 40: 0.4})) == pytest.approx(1.0)
    assert rightmost_to_a_tenth(4, spread({37: 0.6, 40: 0.4})) == pytest.approx(0.4)
    assert rightmost_to_a_tenth(3, spread({35: 0.5, 45: 0.5})) == pytest.approx(0.5)
    assert rightmost_to_a_tenth(0, spread({98: 0.5, 99: 0.5})) == pytest.approx(1.0)  # 9 -> 0
