"""The per-region keys of counter and display regions, checked where they are loaded.

A meter region is a window cut into `digits` equal cells (one per wheel or display digit), or
one box per wheel (`wheels`), as AI-on-the-edge-device users configure theirs. The rules of
plausibility and the Home Assistant class are per region because one device may watch a water
meter and a power meter at once. Every counter is a meter; a display is one when it says so
(a `device_class`, or any of the rules set): the LCD of an electricity meter counts up like
wheels do, while a thermostat's or a scale's display may show anything.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

Box = tuple[float, float, float, float]
PRINTED_KINDS = ("counter", "display")
# The units Home Assistant's energy dashboard accepts for each class (its sensor docs); a
# sensor with another unit is refused there without a word, so we refuse it at start-up.
UNITS = {
    "water": ("L", "m³", "ft³", "gal", "CCF"),
    "gas": ("m³", "ft³", "CCF"),
    "energy": ("Wh", "kWh", "MWh", "GJ", "MJ"),
}
METER_KEYS = (
    "digits",
    "wheels",
    "decimals",
    "monotonic",
    "allow_negative",
    "max_rate_per_min",
    "confirm_readings",
    "device_class",
    "unit",
    "align",
    "align_max_shift",
    "level",
)
# The plausibility rules (edge.meter.plausible); any of them set makes a display a meter's.
RULE_KEYS = ("monotonic", "allow_negative", "max_rate_per_min", "confirm_readings")


class MeterFields(BaseModel):
    """Keys only counter and display regions use (refused on number and digit regions), and
    `digits`, which number regions take too."""

    # Counter, display: the window holds this many equal cells, left to right (default 1: the
    # box is one digit). Number: the number is written with exactly this many digits, and a
    # reading that finds another count is `low_confidence` (default none: any count).
    digits: int | None = Field(None, ge=1, le=16)
    # Instead of box + digits: one [x, y, w, h] per wheel, left to right.
    wheels: list[Box] | None = Field(None, min_length=1, max_length=16)
    # The last `decimals` digits come after the decimal point ("01234.5").
    decimals: int = Field(0, ge=0, le=8)
    # Counters only count up: a lower value than the last accepted one is implausible...
    monotonic: bool = True
    # ...unless falls are allowed (a meter that runs both ways; AI-on-the-edge's
    # "AllowNegativeRates").
    allow_negative: bool = False
    # The fastest plausible change per minute, in the value's own units; none: unbounded.
    max_rate_per_min: float | None = Field(None, gt=0)
    # A new level is accepted after this many readings agree on it, so one wrong acceptance
    # cannot stick for ever.
    confirm_readings: int = Field(3, ge=1, le=100)
    device_class: Literal["water", "gas", "energy"] | None = None
    unit: str | None = Field(None, min_length=1, max_length=16)
    # Follow the meter when the camera shifts (edge.meter.align): the boxes move with the
    # faceplate around the window, as the first frame read `ok` showed it...
    align: bool = False
    # ...found at most this many frame pixels from where it was.
    align_max_shift: int = Field(40, ge=1, le=1000)
    # Counters: move the cells up or down until the wheels left of the last read whole digits,
    # as they stand nearly always (edge.meter.level): a box a few pixels off reads every wheel
    # off.
    level: bool = False

    @field_validator("wheels")
    @classmethod
    def _wheels_positive(cls, wheels: list[Box] | None) -> list[Box] | None:
        for wheel in wheels or []:
            if wheel[2] <= 0 or wheel[3] <= 0 or wheel[0] < 0 or wheel[1] < 0:
                raise ValueError("each wheel is [x, y, w, h] with x, y >= 0 and w, h > 0")
        return wheels

    @model_validator(mode="after")
    def _meter_keys_fit_the_kind(self) -> MeterFields:
        kind = getattr(self, "kind", None)
        if kind not in PRINTED_KINDS:
            number_keys = ("digits",) if kind == "number" else ()  # how many digits it has
            given = [k for k in METER_KEYS if k in self.model_fields_set and k not in number_keys]
            if given:
                raise ValueError(
                    f"{', '.join(given)}: only for regions of kind counter or display "
                    f"(this region is kind {kind})"
                )
            return self
        if self.level and kind != "counter":
            raise ValueError("level: only for counter regions (it levels the wheels' cells)")
        if self.wheels is not None and self.digits is not None:
            raise ValueError("give either wheels (one box per wheel) or digits, not both")
        if self.decimals >= self.cell_count:
            raise ValueError(
                f"decimals {self.decimals} must be fewer than the region's {self.cell_count} digits"
            )
        if kind == "display" and self.unit and not self.is_meter:
            raise ValueError(
                f"unit {self.unit!r}: a display region takes a unit only as a meter's display; "
                "set device_class (water, gas or energy) to read it as one"
            )
        if self.unit and self.device_class and self.unit not in UNITS[self.device_class]:
            raise ValueError(
                f"unit {self.unit!r} does not fit device_class {self.device_class}: Home "
                f"Assistant's energy dashboard takes {', '.join(UNITS[self.device_class])}"
            )
        return self

    @property
    def is_meter(self) -> bool:
        """Whether the region's readings go through the plausibility rules and its value is a
        meter's count (Home Assistant `total_increasing`): every counter, and a display that
        sets `device_class` or any of the rules."""
        kind = getattr(self, "kind", None)
        if kind == "counter":
            return True
        return kind == "display" and (
            self.device_class is not None or any(k in self.model_fields_set for k in RULE_KEYS)
        )

    @property
    def cell_count(self) -> int:
        """How many digits the region holds."""
        return len(self.wheels) if self.wheels else (self.digits or 1)
