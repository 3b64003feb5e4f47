"""A simulated run of an electricity meter's LCD, published as a plain display and as a meter's.

    python mock_frames/display_sim.py --lcd-data ../shared/data/lcd_digits --readings 1000

An LCD of 7 digits counting kWh to a tenth (`001234.5`) is read every 5 minutes while the
household draws what meter_sim.py's household draws in water, here in kW: nothing for hours
now and then, 0.05-4 kW, changing every half hour. At every
reading each digit is shown by a real camera crop of that digit from the real LCD crops
(`--half report`, the half `digitcam evaluate --printed` only ever counts, by default; `tune`,
the half that was looked at to improve the renderer; `all`), and the crops go through the
device's own path: the shipped display model (second look included), the reading's
status, then two ways of publishing it: as a plain `display` region (what is read is
published) and as a meter's display (`device_class = "energy"`: the counter's plausibility
rules, monotonic, at most 0.5 kWh a minute, repairs from each digit's alternatives). Prints
for each how many readings were published `ok` and right, `ok` but wrong, repaired,
`implausible` or `low_confidence`. It chooses nothing: it measures what the rules buy on a
display. There are about five crops of each digit in a half, so a crop read wrong comes back
often: the figures say how a display with such digits fares, not how often LCDs are misread.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from meter_sim import INTERVAL_S, flow, tally

from edge.config import RegionSettings
from edge.meter.plausible import Plausibility
from edge.meter.printed import CROP_H, CROP_W, PrintedModel, load_display
from edge.meter.read import display_digits, meter_value
from edge.meter.wheels import format_value
from edge.reader import FrameReader

SEED = 20261205
DIGITS, DECIMALS = 7, 1
KEYS = {"name": "power", "kind": "display", "digits": DIGITS, "decimals": DECIMALS}
PLAIN = RegionSettings.model_validate(KEYS)
METER = RegionSettings.model_validate(
    {**KEYS, "device_class": "energy", "unit": "kWh", "max_rate_per_min": 0.5}
)


def crops_by_digit(lcd_data: Path, half: str) -> dict[int, list[np.ndarray]]:
    """Real LCD crops (grey 32x20) by the digit they show, from one half or all."""
    from training.printed_eval import lcd_half
    from training.sevenseg import load_lcd_crops

    images, labels, names = load_lcd_crops(lcd_data)
    pool: dict[int, list[np.ndarray]] = defaultdict(list)
    for image, label, name in zip(images, labels, names, strict=True):
        if half == "all" or lcd_half(name) == half:
            pool[int(label)].append(image)
    return pool


def simulate(
    model: PrintedModel, pool: dict[int, list[np.ndarray]], readings: int, seed: int = SEED
) -> dict[str, Counter[str]]:
    """Outcomes per way of publishing: "plain" and "meter"."""
    rng = np.random.default_rng(seed)
    reader = FrameReader(model, [PLAIN], 0.9, "sim", model)  # type: ignore[arg-type]
    check = Plausibility(METER)
    cells = [(i * CROP_W, 0, CROP_W, CROP_H) for i in range(DIGITS)]
    tenths = float(rng.uniform(1e4, 9e5))
    outcomes: dict[str, Counter[str]] = {"plain": Counter(), "meter": Counter()}
    for index, step in enumerate(flow(rng, readings)):
        tenths += step
        shown = f"{int(tenths) % 10**DIGITS:0{DIGITS}d}"
        crops = [pool[int(d)][int(rng.integers(len(pool[int(d)])))] for d in shown]
        probs, _ = model.read(np.stack(crops)[:, None].astype(np.float32) / 255.0)
        digits = display_digits(probs, cells)
        reading = reader.reading(PLAIN, digits, 0.0, "sim", index, meter_value(PLAIN, digits))
        right = format_value([int(d) for d in shown], DECIMALS)
        tally(outcomes["plain"], reading.status, reading.value, {right}, None)
        check.check(reading, index * INTERVAL_S)
        tally(outcomes["meter"], reading.status, reading.value, {right}, reading.raw_value)
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lcd-data", type=Path, required=True, help="the lcd_digits folder")
    parser.add_argument("--half", choices=("report", "tune", "all"), default="report")
    parser.add_argument(
        "--model", type=Path, help="printed-digit ONNX (default: the shipped display model)"
    )
    parser.add_argument("--readings", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--runs", type=int, default=1, help="runs of --readings, seed after seed")
    args = parser.parse_args(argv)
    pool = crops_by_digit(args.lcd_data, args.half)
    model = load_display(args.model, None)
    outcomes: dict[str, Counter[str]] = {"plain": Counter(), "meter": Counter()}
    for run in range(args.runs):
        for way, counts in simulate(model, pool, args.readings, args.seed + run).items():
            outcomes[way] += counts
    total = args.readings * args.runs
    for way, title in (("plain", "a plain display"), ("meter", "a meter's display")):
        print(f"published as {title}:")
        for name, count in sorted(outcomes[way].items()):
            print(f"  {name}: {count} ({count / total:.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
