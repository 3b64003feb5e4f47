"""Plausibility of meter readings (counters, a meter's display): a value that breaks its
region's rules is repaired from the digits' alternatives when exactly one repair fits, else
published as `implausible`.

The rules (edge.meter.settings): the value never falls (`monotonic`, unless `allow_negative`)
and never moves faster than `max_rate_per_min`. A misread wheel is usually one of its top-3
alternatives, so every combination of the alternatives the model gave real weight is tried;
when exactly one is plausible it is the value, and `raw_value` keeps what was read. A value
that stays implausible for `confirm_readings` readings in a row, each consistent with the one
before and none of them explained by the digits' alternatives, becomes the new level: a real
jump (a meter replaced, a reading missed for a week) is accepted, and one wrong acceptance
cannot stick for ever, while a wheel misread the same way frame after frame never becomes the
level. Sooner than that, a reading that falls below the last accepted value but follows the
value accepted before it is accepted at once: the last acceptance was the misread (a wheel
read a few tenths high, a rise the rules allow). The state survives restarts in the store
(edge.store.meters).
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from edge.config import RegionSettings
from edge.meter.preset import MeterValueError, parse_value
from edge.meter.wheels import format_value
from edge.reading import IMPLAUSIBLE, LOW_CONFIDENCE, OK, Digit, Reading

logger = logging.getLogger(__name__)

# An alternative digit joins the repair only with at least this probability: a digit the
# model is sure of is not rewritten to make a value fit.
ALTERNATIVE_MIN_PROB = 0.01
# At most this many uncertain digits are combined (3^6 = 729 values to try).
MAX_UNCERTAIN_DIGITS = 6
# Unsure wheels that cannot have moved take their digit from the rules (Plausibility._still);
# False gives the rules as they were before (the README's figures before and after).
STILL_WHEELS = True
# After this many readings in a row with no value to start from, all unsure, the log says how
# to give the region one (once per run of them).
UNSURE_FROM_THE_START = 10


@dataclass
class MeterState:
    """What a counter region remembers between readings (and restarts)."""

    value: float | None = None  # the last accepted value
    ts_s: float | None = None  # when it was accepted (seconds since the epoch)
    pending: float | None = None  # a new level waiting for confirmation
    pending_ts_s: float | None = None
    pending_count: int = 0
    previous: float | None = None  # the value accepted before `value`
    previous_ts_s: float | None = None
    set_by_hand: bool = False  # `value` is what a person said the meter shows (set_value)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> MeterState:
        known = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)


class Plausibility:
    """Checks one counter region's readings against its rules and its last accepted value."""

    def __init__(self, region: RegionSettings, state: MeterState | None = None) -> None:
        self.region = region
        self.state = state or MeterState()
        self.unit = 10.0**-region.decimals  # one step of the last digit
        self._unsure_unset = 0  # unsure readings in a row while no value is accepted

    def check(self, reading: Reading, now_s: float) -> bool:
        """Repair, refuse or accept `reading` in place; True when the state changed."""
        self._count_unsure_unset(reading)
        if reading.status == LOW_CONFIDENCE:
            if reading.to_a_tenth_value is not None and self._same_as_last(reading, now_s):
                return True
            return self._still(reading, now_s)
        if reading.status != OK or reading.value is None:
            return False
        state = self.state
        read = float(reading.value)
        if state.value is None or self.plausible(read, state.value, _since(state.ts_s, now_s)):
            return self._accept(read, now_s)
        if self._falls_back(read, now_s):
            logger.info(
                "region %s: %s follows %s, not %s: the last accepted value was the misread",
                reading.region,
                reading.value,
                state.previous,
                state.value,
            )
            # Forget the misread: the reading follows the value accepted before it.
            self.state = MeterState(value=state.previous, ts_s=state.previous_ts_s)
            return self._accept(read, now_s)
        fits = self.repairs(reading, now_s)
        if len(fits) == 1:
            repaired = fits.pop()
            reading.raw_value, reading.value = reading.value, repaired
            logger.info("region %s: %s repaired to %s", reading.region, reading.raw_value, repaired)
            return self._accept(float(repaired), now_s)
        # A reading that some alternative digits make plausible is a misread as likely as a new
        # level: it never counts towards one (a wheel misread the same way frame after frame
        # must not become the meter's value).
        if not fits and self._confirms_new_level(read, now_s):
            logger.warning(
                "region %s: new level %s accepted after %d readings (last accepted %s)",
                reading.region,
                reading.value,
                self.region.confirm_readings,
                state.value,
            )
            return self._accept(read, now_s)
        reading.raw_value, reading.value, reading.status = reading.value, None, IMPLAUSIBLE
        return True

    def _count_unsure_unset(self, reading: Reading) -> None:
        """Say, once, how to start a region that has no value and reads every frame unsure:
        a wheel always in shadow or glare (often the leading one) holds back each reading, and
        the still wheels need a level to be read from."""
        if self.state.value is not None or reading.status != LOW_CONFIDENCE:
            self._unsure_unset = 0
            return
        self._unsure_unset += 1
        if self._unsure_unset != UNSURE_FROM_THE_START:
            return
        wheels = ", ".join(str(i + 1) for i in reading.unsure_digits) or "some"
        rate = "" if self.region.max_rate_per_min is not None else " and max_rate_per_min"
        logger.warning(
            "region %s: %d readings in a row unsure (the last on wheel %s from the left) and no "
            "value yet; "
            "set the meter's value once (MQTT cmd/set_value or PUT /api/v1/meters/%s)%s so "
            "the wheels that cannot have moved are read from it",
            reading.region,
            self._unsure_unset,
            wheels,
            reading.region,
            rate,
        )

    def _same_as_last(self, reading: Reading, now_s: float) -> bool:
        """Publish a reading unsure only in its rightmost wheel's tenth (the wheel stands on
        the line where it counts as the next digit, either digit right to that tenth) when its
        value is the last accepted one. Any other value stays `low_confidence`: a probability
        split across that line is as often a whole-digit misread, and on the tune crops even
        a step from the last value added wrong values (edge.meter.wheels.rightmost_to_a_tenth).
        """
        last, value = self.state.value, reading.to_a_tenth_value
        if last is None or value is None or abs(float(value) - last) > self.unit / 2:
            return False
        wheel = reading.digits[-1]
        wheel.confidence = max(wheel.confidence, wheel.to_a_tenth or 0.0)
        reading.confidence = min(d.confidence for d in reading.digits)
        reading.status, reading.value = OK, value
        return self._accept(float(value), now_s)

    def still_digits(self, count: int, now_s: float) -> dict[int, int]:
        """The wheels (by index, of `count`) that show the same digit in every value the rules
        allow now, with that digit: a wheel that cannot have moved since the last accepted
        value. Only with a rate limit (else any rise is allowed), and only from a level two
        readings have backed or a person set (a first value, read alone, may be the misread)."""
        state = self.state
        allowed = self.allowed_change(_since(state.ts_s, now_s))
        if allowed is None or state.value is None:
            return {}
        if state.previous is None and not state.set_by_hand:
            return {}
        # In steps of the last digit, as plausible() allows: up by the allowed change, down
        # nothing on a meter that never falls (its half step of slack is float noise).
        up = math.floor(allowed / self.unit + 1e-9)
        down = 0 if self.falls_refused() else up
        last = round(state.value / self.unit)
        low, high = last - down, last + up
        if low < 0:
            return {}
        places = [10 ** (count - 1 - i) for i in range(count)]
        return {i: (low // p) % 10 for i, p in enumerate(places) if low // p == high // p}

    def _still(self, reading: Reading, now_s: float) -> bool:
        """Publish a `low_confidence` reading whose unsure wheels all cannot have moved (a
        leading wheel in a shadow, under glare, between two digits it never leaves): each takes
        the digit the rules leave it, when the model gave that digit real weight (one of its
        alternatives), and the value is published if it passes the rules. Such a wheel is
        listed with that digit at confidence 1.0 (the rules leave it no other; a digit of an
        `ok` reading is never under the threshold) and, where it was read as another, no
        position; `raw_value` keeps the digits as read when they differ."""
        if not STILL_WHEELS or not reading.unsure_digits or self.state.value is None:
            return False
        still = self.still_digits(len(reading.digits), now_s)
        combination = [d.digit for d in reading.digits]
        for i in reading.unsure_digits:
            if i not in still or still[i] not in weighty(reading.digits[i]):
                return False
            combination[i] = still[i]
        value = format_value(combination, self.region.decimals)
        if not self.plausible(float(value), self.state.value, _since(self.state.ts_s, now_s)):
            return False
        read = format_value([d.digit for d in reading.digits], self.region.decimals)
        for i in reading.unsure_digits:
            wheel = reading.digits[i]
            if wheel.digit != still[i]:
                wheel.digit, wheel.position = still[i], None
            wheel.confidence = 1.0
        reading.status, reading.value = OK, value
        reading.raw_value = read if read != value else None
        reading.confidence = min(d.confidence for d in reading.digits)
        logger.info(
            "region %s: %s published as %s (wheels %s cannot have moved)",
            reading.region,
            read,
            value,
            ", ".join(str(i + 1) for i in reading.unsure_digits),
        )
        return self._accept(float(value), now_s)

    def plausible(self, value: float, last: float, elapsed_s: float) -> bool:
        """Whether `value` may follow `last` after `elapsed_s` seconds under the rules."""
        change = value - last
        slack = self.unit / 2  # float noise of the decimal digits
        if change < -slack and self.falls_refused():
            return False
        allowed = self.allowed_change(elapsed_s)
        return allowed is None or abs(change) <= allowed

    def falls_refused(self) -> bool:
        return self.region.monotonic and not self.region.allow_negative

    def allowed_change(self, elapsed_s: float) -> float | None:
        """How far the value may move in `elapsed_s` seconds (None: no rate limit): the rate
        for the time gone by, one step more, and half a step of float noise."""
        rate = self.region.max_rate_per_min
        if rate is None:
            return None
        return rate * max(elapsed_s, 0.0) / 60.0 + self.unit + self.unit / 2

    def repairs(self, reading: Reading, now_s: float) -> set[str]:
        """The plausible values among the digits' alternatives (empty when too many digits are
        unsure to try them all)."""
        options = []
        for digit in reading.digits:
            options.append(list(dict.fromkeys([digit.digit, *weighty(digit)])))
        if sum(len(o) > 1 for o in options) > MAX_UNCERTAIN_DIGITS:
            return set()
        last, since = self.state.value, _since(self.state.ts_s, now_s)
        assert last is not None
        fits = set()
        for combination in itertools.product(*options):
            text = format_value(combination, self.region.decimals)
            if text != reading.value and self.plausible(float(text), last, since):
                fits.add(text)
        return fits

    def _confirms_new_level(self, value: float, now_s: float) -> bool:
        """Count implausible readings that agree with each other; True once there are enough."""
        state = self.state
        if state.pending is not None and self.plausible(
            value, state.pending, _since(state.pending_ts_s, now_s)
        ):
            state.pending_count += 1
        else:
            state.pending_count = 1
        state.pending, state.pending_ts_s = value, now_s
        return state.pending_count >= self.region.confirm_readings

    def _falls_back(self, value: float, now_s: float) -> bool:
        """Whether `value`, implausible after the last accepted value, follows the one accepted
        before it: then the last one was the misread (a wheel read a few tenths high), and
        waiting for confirm_readings readings would refuse or "repair" right readings towards
        it meanwhile."""
        state = self.state
        return (
            state.previous is not None
            and state.value is not None
            and value < state.value  # a fall: a rise too fast for the rules is no sign
            and self.plausible(value, state.previous, _since(state.previous_ts_s, now_s))
        )

    def _accept(self, value: float, now_s: float) -> bool:
        """Make `value` the last accepted one; the one it follows becomes `previous`."""
        last = self.state
        self.state = MeterState(
            value=value, ts_s=now_s, previous=last.value, previous_ts_s=last.ts_s
        )
        return True


def weighty(digit: Digit) -> list[int]:
    """The digits the model gave `digit`'s wheel real weight (ALTERNATIVE_MIN_PROB or more)."""
    return [k for k, p in digit.top3 if p >= ALTERNATIVE_MIN_PROB]


def _since(then_s: float | None, now_s: float) -> float:
    return 0.0 if then_s is None else now_s - then_s


class StateStore(Protocol):
    """Where the states live (edge.store.Store has these)."""

    def meter_state(self, region: str) -> dict[str, Any] | None: ...

    def save_meter_state(self, region: str, state: dict[str, Any]) -> None: ...


class MeterChecks:
    """The plausibility of every meter region of a device (its counters and the displays that
    show a meter's count), with its state kept in the store.

    The capture loop checks readings; a person may set a region's value at any time (MQTT
    `cmd/set_value` on the sender thread, the API on its own): a lock keeps the two apart.
    """

    def __init__(self, regions: list[RegionSettings], store: StateStore | None) -> None:
        self.store = store
        self.checks = {}
        self._lock = threading.Lock()
        for region in regions:
            if region.is_meter:
                self.checks[region.name] = Plausibility(region, self._load(region.name))

    def _load(self, region: str) -> MeterState:
        if self.store is None:
            return MeterState()
        try:
            return MeterState.from_dict(self.store.meter_state(region))
        except Exception as exc:  # a store that cannot be read: start afresh, say so
            logger.warning("region %s: no saved meter state (%s); starting afresh", region, exc)
            return MeterState()

    def check(self, readings: list[Reading], now_s: float) -> None:
        """Apply each meter region's rules to its reading, in place, and save what changed."""
        with self._lock:
            for reading in readings:
                check = self.checks.get(reading.region)
                if check is not None and check.check(reading, now_s):
                    self._save(reading.region, check.state)

    def set_value(self, region: str, given: Any, now_s: float, by: str = "hand") -> MeterState:
        """Make `given` the last accepted value of meter region `region` (edge.meter.preset):
        what the meter shows, from a person who looked. Whatever waited for confirmation is
        forgotten; MeterValueError says why a region or a value cannot be taken."""
        check = self.checks.get(region)
        if check is None:
            named = ", ".join(self.checks) or "none"
            raise MeterValueError(f"no meter region {region!r} (this device's: {named})")
        value = parse_value(check.region, given)
        with self._lock:
            was = check.state.value
            check.state = MeterState(value=value, ts_s=now_s, set_by_hand=True)
            self._save(region, check.state)
            state = MeterState(**check.state.to_dict())
        logger.info("region %s: value set to %s by %s (was %s)", region, value, by, was)
        return state

    def states(self) -> dict[str, MeterState]:
        """A copy of each meter region's state, by name."""
        with self._lock:
            return {name: MeterState(**c.state.to_dict()) for name, c in self.checks.items()}

    def _save(self, region: str, state: MeterState) -> None:
        if self.store is None:
            return
        try:
            self.store.save_meter_state(region, state.to_dict())
        except Exception as exc:  # the full-disk path: counted by the store, logged there
            logger.debug("region %s: meter state not saved: %s", region, exc)
