"""Rolling counter wheels: from where each wheel stands to the digits of the value.

Mechanical roller counters advance a wheel only while the wheel to its right moves from 9 to
0; the rightmost wheel turns continuously. So a wheel caught half-way between two digits counts
as the lower one until the wheel on its right has passed 0, and a wheel that the model sees a
tenth past a digit it has not yet reached must not be rounded up on its own. Resolving from
right to left, each wheel is read against how far its right neighbour has rolled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

STEPS = 10
POSITIONS = 100  # the printed model's position classes, in tenths
# The rightmost wheel counts as the next digit from this close to it: the model places a wheel
# within a tenth 98% of the time: a wheel read at x.8 is taken as x (it may stand at x.7), one
# read at x.9 as the next digit (it may stand there already).
LAST_WHEEL_ROUND_UP = 0.15
# The left wheel starts to roll when its right neighbour passes this position (AI-on-the-edge's
# default "AnalogToDigitTransitionStart" for the same mechanism) and has rolled fully at 10.
TRANSITION_START = 9.2
# Position estimate: the circular mean of the probability within this many tenths of the peak.
PEAK_REACH = 2


def wheel_position(positions: np.ndarray) -> tuple[float, float]:
    """(position in steps 0..10, the probability near it) from 100 position probabilities."""
    peak = int(np.argmax(positions))
    offsets = np.arange(-PEAK_REACH, PEAK_REACH + 1)
    mass = positions[(peak + offsets) % POSITIONS]
    total = float(mass.sum())
    shift = float((mass * offsets).sum() / total) if total > 0 else 0.0
    return ((peak + shift) / STEPS) % STEPS, min(total, 1.0)


def _digit_of(p: float, right: float | None, carry: int) -> int:
    """One wheel's digit before the modulo, given its right neighbour and the carry from it."""
    if right is None:
        return math.floor(p + LAST_WHEEL_ROUND_UP)
    rolled = min(max((right - TRANSITION_START) / (STEPS - TRANSITION_START), 0.0), 1.0)
    return math.floor(p - rolled + 0.5) + carry


def resolve_wheels(
    positions: Sequence[float], probabilities: Sequence[np.ndarray] | None = None
) -> list[tuple[int, float]]:
    """(digit, confidence) of each wheel of a row, left to right, from where each one stands.

    With each wheel's 100 position probabilities, a digit's confidence is the probability of
    the positions that would give this wheel the same digit: a wheel the model places near
    the line between two digits is unsure, however sharp its peak.
    """
    out: list[tuple[int, float]] = [(0, 1.0)] * len(positions)
    carry = 0
    right: float | None = None
    tenths = np.arange(POSITIONS) / STEPS
    for i in range(len(positions) - 1, -1, -1):
        p = float(positions[i]) % STEPS
        raw = _digit_of(p, right, carry)
        confidence = 1.0
        if probabilities is not None:
            # Relative to this wheel's reading: a position a whole turn away is the same digit.
            same = [(_digit_of(t, right, carry) - raw) % STEPS == 0 for t in tenths]
            confidence = float(np.asarray(probabilities[i])[same].sum())
        out[i] = (raw % STEPS, min(confidence, 1.0))
        carry = raw // STEPS  # -1, 0 or 1: this wheel was read across its own 9/0 line
        right = p
    return out


def rightmost_to_a_tenth(digit: int, probabilities: np.ndarray) -> float:
    """The rightmost wheel's confidence in `digit` to the tenth it is read to.

    That wheel counts as the next digit from x.85 on; standing a tenth either side of that
    line it gives either digit, and both are right to a tenth. So the positions a tenth from
    one that gives `digit` count too: (d-1).8 and d.9 beside d's own (d-1).9 .. d.8. A
    probability split across the line is then sure, but so is a whole-digit misread split the
    same way, which is why a reading is published on this only when its value is the last
    accepted one (edge.meter.plausible).
    """
    return min(float(np.asarray(probabilities)[_TO_A_TENTH[digit % STEPS]].sum()), 1.0)


# Row d: the positions (in tenths) within a tenth of one where the rightmost wheel reads d.
_TO_A_TENTH = np.array(
    [
        [
            any((_digit_of(t / STEPS + d, None, 0) - digit) % STEPS == 0 for d in (-0.1, 0, 0.1))
            for t in range(POSITIONS)
        ]
        for digit in range(STEPS)
    ]
)


def format_value(digits: Sequence[int], decimals: int) -> str:
    """ "012345" with decimals 1 -> "01234.5"; the leading zeros are what the meter shows."""
    text = "".join(str(d) for d in digits)
    return f"{text[:-decimals]}.{text[-decimals:]}" if decimals else text
