"""One score for a counter model, as counter recipes and thresholds are chosen: readings right,
less ten times the readings published `ok` but wrong.

    python mock_frames/meter_score.py --model artifacts/printed-held.onnx \
        --meter-data ../shared/data/meter_digits frames/meter-tune-0 frames/meter-tune-1

Two parts, each read as the device reads a counter region, summed:
- meter sequences: folders of counter frames with expected.json (build them from the tune
  installations' wheels with `meter.py --split tune --seed S --out DIR`), each read in order
  with config/meter.toml's rules (`monotonic`, `confirm_readings = 3`, its decimals);
- the simulated run of `meter_sim.py` on the tune installations' crops, 1,000 readings for
  each of `--sim-seeds` (rules: monotonic, at most 0.1 m³ a minute).

A wrong value in Home Assistant costs more than a reading skipped (a meter read every minute
hardly misses one; a wrong value stays in its history and its energy dashboard), so a wrong
reading weighs `--wrong-weight` (10) right ones. Give held-out models (trained without the
tune installations): on models trained on those wheels the score flatters. Tune data only: a
score to choose on; `--split report` measures what has been chosen (never to choose).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import sys
from collections import Counter
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import meter_sim
from meter_covers import meter_reader, outcome

from edge.meter.plausible import Plausibility
from edge.meter.printed import PrintedModel, load_printed

WRONG_WEIGHT = 10


def read_sequences(folders: list[Path], printed: PrintedModel, min_confidence: float) -> Counter:
    """Right / `ok` but wrong / other readings of each folder's frames, read in order with the
    meter's rules, each wheel published at `min_confidence` or surer."""
    tally: Counter[str] = Counter()
    for folder in folders:
        expected, region, reader = meter_reader(folder, printed, True, min_confidence)
        check = Plausibility(region)
        for i, (name, want) in enumerate(sorted(expected.items())):
            gray = cv2.imread(str(folder / name), cv2.IMREAD_GRAYSCALE)
            reading = reader.read(gray, name, i)[0]
            check.check(reading, float(want.get("ts_offset_s", 60 * i)))
            tally[outcome(reading.status, reading.value, want["value"])] += 1
    return tally


def simulated(
    printed: PrintedModel, pool: dict, seeds: list[int], min_confidence: float
) -> Counter:
    """The simulated runs' outcomes, 1,000 readings a seed, summed (their own listing quiet)."""
    tally: Counter[str] = Counter()
    for seed in seeds:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            runs = meter_sim.simulate(printed, pool, 1000, seed, min_confidence=min_confidence)
        right, wrong = runs["ok right"] + runs["ok right (repaired)"], runs["ok WRONG"]
        tally["right"] += right
        tally["ok but wrong"] += wrong
        tally["other"] += sum(runs.values()) - right - wrong
    return tally


def score(parts: dict[str, Counter], wrong_weight: float = WRONG_WEIGHT) -> float:
    return sum(t["right"] - wrong_weight * t["ok but wrong"] for t in parts.values())


def seed_list(text: str) -> list[int]:
    """ "1-5" or "1,3,7" (empty: none)."""
    seeds: list[int] = []
    for part in filter(None, text.split(",")):
        low, _, high = part.partition("-")
        seeds.extend(range(int(low), int(high or low) + 1))
    return seeds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="*", type=Path, help="counter sequences (expected.json)")
    parser.add_argument("--model", type=Path, help="printed-digit ONNX (default: shipped)")
    parser.add_argument("--meter-data", type=Path, help="folder with the wheel tar (the run)")
    parser.add_argument("--sample", type=Path, help="folder of <tenths>_*.png crops instead")
    parser.add_argument("--split", choices=("tune", "report"), default="tune")
    parser.add_argument("--sim-seeds", type=seed_list, default=seed_list("1-5"))
    parser.add_argument("--min-confidence", type=float, default=meter_sim.MIN_CONFIDENCE)
    parser.add_argument("--wrong-weight", type=float, default=WRONG_WEIGHT)
    parser.add_argument("--json", type=Path, help="write the counts and the score here")
    args = parser.parse_args(argv)
    if args.sim_seeds and not (args.meter_data or args.sample):
        parser.error("the simulated run needs --meter-data or --sample (or --sim-seeds '')")
    if not (args.folders or args.sim_seeds):
        parser.error("nothing to score: give counter folders or --sim-seeds")
    cv2.setNumThreads(1)
    logging.getLogger("edge.meter.plausible").setLevel(logging.ERROR)
    printed = load_printed(args.model)
    parts: dict[str, Counter] = {}
    if args.folders:
        parts["sequences"] = read_sequences(args.folders, printed, args.min_confidence)
    if args.sim_seeds:
        pool = meter_sim.crops_by_position(args.meter_data, args.sample, args.split)
        parts["simulated"] = simulated(printed, pool, args.sim_seeds, args.min_confidence)
    for name, tally in parts.items():
        total = sum(tally.values())
        print(
            f"{name:10s} {total} readings: right {tally['right']}, ok but wrong "
            f"{tally['ok but wrong']}, neither {total - tally['right'] - tally['ok but wrong']}"
        )
    value = score(parts, args.wrong_weight)
    print(f"score (right - {args.wrong_weight:g} x ok but wrong): {value:g}")
    if args.json:
        counts = {k: dict(v) for k, v in parts.items()}
        args.json.write_text(json.dumps({"parts": counts, "score": value}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
