"""A counter's box levelled by its own wheels (`level = true` on a counter region).

The model reads a wheel's position from where its digit sits in its cell, so a box set a few
pixels too high reads every wheel low, and the last wheel's tenth with it (README, "Finding
the box"). The wheels left of the last stand on whole digits nearly always: each moves only
while the wheel to its right passes from 9 to 0. So, over the daemon's last readings, the
middle of those wheels' offsets from a whole digit says how far the box sits off, and the
cells are moved up or down by that much; then the count starts again. Constants set from the
training crops' geometry before any measurement, not tuned (README, "Finding the box").
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Sequence

from edge.reading import Digit

logger = logging.getLogger(__name__)

# A tenth of a step is 2.4 pixels of the model's 32-pixel-tall cell (TENTH_PX of the training
# crops, training/printed_train.py): this share of a cell's height.
TENTH_OF_CELL = 2.4 / 32
# The readings weighed: at least this many before the first move, the latest this many.
LEVEL_MIN_READINGS = 3
LEVEL_WINDOW = 10
# The still wheels must sit at least this many tenths off whole digits for the cells to move.
LEVEL_TENTHS = 0.3
# The cells never move further than this share of their height from the box as configured.
LEVEL_MAX_SHARE = 0.25


def still_offset(digits: Sequence[Digit]) -> float | None:
    """The middle offset from a whole digit, in tenths (-5..5), of the wheels left of the last;
    None with fewer than two of them read."""
    offsets = []
    for digit in digits[:-1]:
        if digit.position is not None:
            tenths = (digit.position * 10.0) % 10.0
            offsets.append(tenths if tenths < 5.0 else tenths - 10.0)
    return statistics.median(offsets) if len(offsets) >= 2 else None


class Leveller:
    """How far each levelled counter region's cells are moved down (pixels; up when negative),
    learnt from its readings. The daemon's reader holds one; it keeps no state across starts
    (a few readings find the level again)."""

    def __init__(self) -> None:
        self._dy: dict[str, int] = {}
        self._seen: dict[str, list[float]] = {}

    def dy(self, region: str) -> int:
        return self._dy.get(region, 0)

    def observe(self, region: str, digits: Sequence[Digit], cell_height: int) -> None:
        """Weigh one reading of `region`'s wheels (read with the cells moved by dy(region))."""
        offset = still_offset(digits)
        if offset is None or cell_height <= 0:
            return
        seen = self._seen.setdefault(region, [])
        seen.append(offset)
        del seen[:-LEVEL_WINDOW]
        if len(seen) < LEVEL_MIN_READINGS:
            return
        middle = statistics.median(seen)
        if abs(middle) < LEVEL_TENTHS:
            return
        limit = round(LEVEL_MAX_SHARE * cell_height)
        moved = self.dy(region) - round(middle * TENTH_OF_CELL * cell_height)
        moved = max(-limit, min(limit, moved))
        if moved != self.dy(region):
            logger.info(
                "region %s: its still wheels read %.1f tenths off whole digits; cells moved "
                "%+d px from the box as configured",
                region,
                middle,
                moved,
            )
            self._dy[region] = moved
        seen.clear()
