"""A simulated meter run: 1,000 readings of a roller counter, read and checked as the device does.

    python mock_frames/meter_sim.py --meter-data ../shared/data/meter_digits --readings 1000

A household water meter with 6 wheels (the last counts tenths of a m³; 4 m³/h nominal flow)
is read every 5 minutes for --readings readings, its flow changing every half hour and
stopping for hours now and then. At every reading each wheel's true position (tenths) is
shown by a real camera crop of that position from the held-out
`report` installations of training/meter_data.py (never trained or tuned on), and the crops
go through the device's own path: the shipped printed-digit model, the rolling-wheel
resolution, the reading's status and the region's plausibility rules as a user of such a
meter sets them (monotonic, at most 0.1 m³ a minute: 6 m³/h, above the meter's overload flow).
The counter moves as roller counters do: the rightmost wheel with the flow,
each other wheel only while the wheel on its right goes from 9 to 0.

A reading published `ok` is right when its value is the counter's, read the way the device
reads it: each wheel the digit it has completed, the rightmost from .85 on the next one
(`edge.meter.wheels`), give or take the tenth to which a wheel's position is read (so from
.75 on, the next value is right too). Prints how many were right, wrong, repaired, refused
as implausible or voided as low_confidence. With --sample, a folder of PNGs named
<tenths>_*.png (the crop sample the tests ship) replaces the data set.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter, defaultdict
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge.config import ModelSettings, RegionSettings
from edge.meter.plausible import Plausibility
from edge.meter.printed import CROP_H, CROP_W, PrintedModel, load_printed
from edge.meter.read import meter_value, wheel_digits
from edge.meter.wheels import LAST_WHEEL_ROUND_UP
from edge.reader import FrameReader

WHEELS, DECIMALS = 6, 1
SEED = 20261211
INTERVAL_S = 300.0  # a reading every 5 minutes
PRECISION = 0.1  # a wheel's position is read to a tenth of a step
MIN_CONFIDENCE = ModelSettings().printed_min_confidence  # as a counter region reads by default
REGION = RegionSettings(
    name="water", kind="counter", digits=WHEELS, decimals=DECIMALS, max_rate_per_min=0.1
)


def crops_by_position(
    data_dir: Path | None, sample: Path | None, split: str = "report"
) -> dict[int, list[np.ndarray]]:
    """Held-out wheel crops (grey 32x20) by position in tenths, from the `split` installations."""
    pool: dict[int, list[np.ndarray]] = defaultdict(list)
    if sample is not None:
        for png in sorted(sample.glob("*.png")):
            pool[int(png.name.split("_")[0])].append(cv2.imread(str(png), cv2.IMREAD_GRAYSCALE))
        return pool
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from training.meter_data import load_wheels

    held = load_wheels(data_dir)[split]
    for image, position in zip(held.images, held.positions, strict=True):
        pool[int(position)].append(image)
    return pool


def flow(rng: np.random.Generator, readings: int) -> np.ndarray:
    """Steps of the last wheel (0.1 m³) between two readings: quiet, steady use, a bath."""
    per_hour_to_step = INTERVAL_S / 3600 * 10  # m³/h -> tenths of a m³ per reading
    rate, out = 0.0, np.zeros(readings)
    for i in range(readings):
        if i % 6 == 0:  # the flow changes every half hour
            rate = float(rng.choice([0.0, 0.0, rng.uniform(0.05, 1.0), rng.uniform(1.0, 4.0)]))
        out[i] = rate * per_hour_to_step
    return out


def wheel_tenths(value: float) -> list[int]:
    """Each wheel's position in tenths for a counter standing at `value` (last-wheel steps)."""
    positions = [0] * WHEELS
    right = value % 10
    positions[-1] = round(right * 10) % 100
    for k in range(1, WHEELS):
        digit = math.floor(value / 10**k) % 10
        rolled = max(0.0, right - 9.0)  # turns only while its right neighbour goes 9 -> 0
        right = digit + rolled
        positions[WHEELS - 1 - k] = round(right * 10) % 100
    return positions


def accepted_values(value: float) -> set[str]:
    """What a right reading may say: the completed digits, or the next value once the last
    wheel is within the device's round-up (.85) plus the model's precision (a tenth) of it."""
    low, high = math.floor(value), math.floor(value + LAST_WHEEL_ROUND_UP + PRECISION)
    return {_text(low), _text(high)}


def _text(steps: int) -> str:
    digits = f"{steps % 10**WHEELS:0{WHEELS}d}"
    return f"{digits[:-DECIMALS]}.{digits[-DECIMALS:]}"


def tally(
    outcomes: Counter[str], status: str, value: str | None, right: set[str], raw: str | None
) -> bool:
    """Count one published reading by its status and, when `ok`, whether its value is one of
    `right` (and whether it was repaired, `raw` being what was read); True when it is `ok` but
    wrong."""
    if status != "ok":
        outcomes[status] += 1
        return False
    if value in right:
        outcomes["ok right (repaired)" if raw else "ok right"] += 1
        return False
    outcomes["ok WRONG"] += 1
    return True


def simulate(
    model: PrintedModel,
    pool: dict[int, list[np.ndarray]],
    readings: int,
    seed: int,
    second_look: bool = True,
    min_confidence: float = MIN_CONFIDENCE,
) -> Counter[str]:
    rng = np.random.default_rng(seed)
    reader = FrameReader(model, [REGION], min_confidence, "sim", model)  # type: ignore[arg-type]
    check = Plausibility(REGION)
    value, outcomes = float(rng.uniform(1000, 1900)), Counter[str]()
    start = value
    cells = [(i * CROP_W, 0, CROP_W, CROP_H) for i in range(WHEELS)]
    for index, rate in enumerate(flow(rng, readings)):
        value += rate
        crops = []
        for tenths in wheel_tenths(value):
            options = pool.get(tenths) or pool[min(pool, key=lambda t: abs(t - tenths))]
            crops.append(options[int(rng.integers(len(options)))])
        batch = np.stack(crops)[:, None].astype(np.float32) / 255.0
        probs, positions = model.read(batch, second_look)
        digits = wheel_digits(probs, positions, cells)
        reading = reader.reading(REGION, digits, 0.0, "sim", index, meter_value(REGION, digits))
        check.check(reading, index * INTERVAL_S)
        right = accepted_values(value)
        if tally(outcomes, reading.status, reading.value, right, reading.raw_value):
            print(
                f"index {index}: published {reading.value} (read {reading.raw_value}), "
                f"counter {sorted(right)}",
                file=sys.stderr,
            )
    carries = sum(math.floor(value / 10**k) - math.floor(start / 10**k) for k in range(1, WHEELS))
    print(
        f"counter {_text(math.floor(start))} -> {_text(math.floor(value))} m³ over "
        f"{readings * INTERVAL_S / 3600:.0f} h; {carries} carries to a wheel on the left"
    )
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--meter-data", type=Path, help="folder with the wheel tar")
    parser.add_argument("--sample", type=Path, help="folder of <tenths>_*.png crops instead")
    parser.add_argument("--model", type=Path, help="printed-digit ONNX (default: shipped)")
    parser.add_argument("--readings", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--split",
        choices=("tune", "report"),
        default="report",
        help="installations whose crops show the wheels: tune (to choose rules on) or report",
    )
    parser.add_argument(
        "--min-confidence",
        type=float,
        default=MIN_CONFIDENCE,
        help="how sure each wheel must be for the reading to be published (the region's "
        f"min_confidence; default model.printed_min_confidence, {MIN_CONFIDENCE})",
    )
    parser.add_argument(
        "--no-second-look",
        dest="second_look",
        action="store_false",
        help="read without the device's second look at unsure crops",
    )
    args = parser.parse_args(argv)
    if not (args.meter_data or args.sample):
        parser.error("give --meter-data or --sample")
    outcomes = simulate(
        load_printed(args.model),
        crops_by_position(args.meter_data, args.sample, args.split),
        args.readings,
        args.seed,
        args.second_look,
        args.min_confidence,
    )
    for name, count in sorted(outcomes.items()):
        print(f"{name}: {count} ({count / args.readings:.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
