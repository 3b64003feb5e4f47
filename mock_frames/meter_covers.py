"""Meter frames with one wheel hidden: glare burnt white, a sticker or a dark smudge over it.

    python mock_frames/meter_covers.py mock_frames/meter
    python mock_frames/meter_covers.py /tmp/tune/m0 /tmp/tune/m1 --model artifacts/printed-cnn.onnx
    python mock_frames/meter_covers.py mock_frames/meter --glare-from 10 --glare-to 19

Every frame of each folder (counter frames with expected.json, as `meter.py` writes them) is
read once as it is and once under each cover, the wheel covered moving one to the right with
each frame; frame by frame, the region as expected.json gives it, without the meter's rules
(plausibility would refuse part of the misreads; a rise the rules allow it would not). Prints,
per cover, the readings right, `ok` but wrong and `low_confidence`, and how sure the model was
of the covered wheel. A wheel no one can read must never be published as a value: every `ok`
reading under a cover that hides its wheel is a guess. Chooses nothing by itself: read tune
meters (`meter.py --split tune`) to decide, the bundled meter (report wheels) to report.

With `--glare-from A --glare-to B`, each sequence is read in order as a meter region with the
bundled configuration's rules (`monotonic`, `confirm_readings = 3`, one decimal; no rate, as
config/meter.toml), once for each wheel with the same glare spot on it from frame A to frame
B: a patch of sun that stays a while. Counted before, during and after the glare: whether
wrong values get through the rules and whether they stick once the glare has gone.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge.config import ModelSettings, RegionSettings, Settings
from edge.meter.plausible import Plausibility
from edge.meter.printed import PrintedModel, cell_boxes, load_printed
from edge.model import load_model
from edge.reader import FrameReader

COVERS = ("glare", "sticker", "smudge")
SURE = ModelSettings().printed_min_confidence  # a counter region's default


def cover(gray: np.ndarray, cell: tuple[int, int, int, int], how: str, rng) -> np.ndarray:
    """The frame with `how` drawn over the wheel in `cell` (frame pixels): glare a white
    ellipse, a sticker a flat grey card across the wheel, a smudge a dark ellipse."""
    x, y, w, h = cell
    out = gray.astype(np.float32)
    mask = np.zeros(gray.shape, np.float32)
    cx = x + w / 2 + rng.uniform(-0.15, 0.15) * w
    cy = y + h / 2 + rng.uniform(-0.15, 0.15) * h
    centre = (int(cx), int(cy))
    if how == "glare":
        axes = (int(w * rng.uniform(0.45, 0.7)), int(h * rng.uniform(0.35, 0.6)))
        cv2.ellipse(mask, centre, axes, rng.uniform(0, 180), 0, 360, 1.0, -1)
        mask = cv2.GaussianBlur(mask, (0, 0), w * 0.08)
        out = out * (1 - mask) + 255 * mask
    elif how == "sticker":
        size = (w * rng.uniform(0.9, 1.2), h * rng.uniform(0.6, 1.0))
        corners = cv2.boxPoints(((cx, cy), size, rng.uniform(-8, 8))).astype(np.int32)
        cv2.fillPoly(mask, [corners], 1.0)
        mask = cv2.GaussianBlur(mask, (0, 0), 0.8)
        card = rng.uniform(40, 230) + rng.normal(0, 4, gray.shape)
        out = out * (1 - mask) + card * mask
    elif how == "smudge":
        axes = (int(w * rng.uniform(0.3, 0.55)), int(h * rng.uniform(0.25, 0.45)))
        cv2.ellipse(mask, centre, axes, rng.uniform(0, 180), 0, 360, 1.0, -1)
        mask = 0.85 * cv2.GaussianBlur(mask, (0, 0), w * 0.1)
        out = out * (1 - mask) + 20 * mask
    else:
        raise ValueError(f"cover {how!r}: one of {', '.join(COVERS)}")
    return np.clip(out, 0, 255).astype(np.uint8)


def outcome(status: str, value: str | None, want: str) -> str:
    """ "right", "ok but wrong", or the status of a reading that published no value."""
    if status != "ok":
        return status
    return "right" if value == want else "ok but wrong"


def meter_reader(
    folder: Path, printed: PrintedModel, rules: bool = False, min_confidence: float | None = None
) -> tuple[dict[str, dict], RegionSettings, FrameReader]:
    """A folder's expectations, and its counter region (the box and wheels of its first frame,
    as every frame of a sequence has them) with a reader for it. Without `rules` the wheels
    alone (a wheel's digit is what is asked, not where a point goes); with them, the decimals
    and config/meter.toml's checks (`monotonic`, `confirm_readings = 3`, no rate). The region
    publishes wheels read at `min_confidence` or surer (default: the setting's)."""
    expected = json.loads((folder / "expected.json").read_text())
    shown = expected[min(expected)]["region"]
    checks: dict[str, Any] = {}
    if min_confidence is not None:
        checks["min_confidence"] = min_confidence
    if rules:
        checks |= {"decimals": shown.get("decimals", 0), "monotonic": True, "confirm_readings": 3}
    region = RegionSettings(
        name="meter", kind="counter", box=shown["box"], digits=shown["digits"], **checks
    )
    reader = FrameReader.configured(Settings(), load_model(None), [region], printed=printed)
    return expected, region, reader


def read_covered(folders: list[Path], model_path: Path | None, seed: int) -> dict[str, Counter]:
    """Outcome counts per cover ("none": the frames as they are)."""
    printed = load_printed(model_path)
    rng = np.random.default_rng(seed)
    tallies: dict[str, Counter] = {how: Counter() for how in (*COVERS, "none")}
    for how, tally in tallies.items():
        for folder in folders:
            expected, region, reader = meter_reader(folder, printed)
            cells = cell_boxes(tuple(region.box), region.cell_count)
            for i, (name, want) in enumerate(sorted(expected.items())):
                gray = cv2.imread(str(folder / name), cv2.IMREAD_GRAYSCALE)
                k = i % len(cells)
                image = gray if how == "none" else cover(gray, cells[k], how, rng)
                reading = reader.read(image, name, i)[0]
                tally[outcome(reading.status, reading.value, want["value"].replace(".", ""))] += 1
                if len(reading.digits) == len(cells):
                    tally["covered wheel sure"] += reading.digits[k].confidence >= SURE
    return tallies


def read_glare_spell(
    folders: list[Path], model_path: Path | None, first: int, last: int
) -> dict[str, Counter]:
    """Outcome counts "before", "during" and "after" a glare spot that stays on one wheel from
    frame `first` to `last` of each sequence, each wheel in turn, the readings checked by the
    meter's rules as the daemon checks them; "bare": the sequences without glare."""
    printed = load_printed(model_path)
    tallies: dict[str, Counter] = {k: Counter() for k in ("bare", "before", "during", "after")}
    for f, folder in enumerate(folders):
        expected, region, reader = meter_reader(folder, printed, rules=True)
        names = sorted(expected)
        frames = [cv2.imread(str(folder / n), cv2.IMREAD_GRAYSCALE) for n in names]
        cells = cell_boxes(tuple(region.box), region.cell_count)
        for wheel in [None, *range(len(cells))]:
            check = Plausibility(region)
            for i, (name, gray) in enumerate(zip(names, frames, strict=True)):
                glare = wheel is not None and first <= i <= last
                if glare:  # the same spot on every frame of the spell
                    spot = np.random.default_rng(1000 * f + int(wheel))
                    gray = cover(gray, cells[int(wheel)], "glare", spot)
                reading = reader.read(gray, name, i)[0]
                check.check(reading, float(expected[name].get("ts_offset_s", 60 * i)))
                phase = (
                    "bare"
                    if wheel is None
                    else ("before" if i < first else "during" if i <= last else "after")
                )
                tallies[phase][outcome(reading.status, reading.value, expected[name]["value"])] += 1
    return tallies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="+", type=Path, help="counter frames with expected.json")
    parser.add_argument("--model", type=Path, help="printed-digit ONNX (default: shipped)")
    parser.add_argument("--seed", type=int, default=61)
    parser.add_argument("--json", type=Path, help="write the counts here")
    parser.add_argument("--glare-from", type=int, help="a glare spell: its first frame")
    parser.add_argument("--glare-to", type=int, help="a glare spell: its last frame")
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    # The rules log every new level they accept; the counts say it for a whole run.
    logging.getLogger("edge.meter.plausible").setLevel(logging.ERROR)
    if (args.glare_from is None) != (args.glare_to is None):
        parser.error("a glare spell needs both --glare-from and --glare-to")
    if args.glare_from is not None:
        tallies = read_glare_spell(args.folders, args.model, args.glare_from, args.glare_to)
        for phase, tally in tallies.items():
            counted = ("right", "ok but wrong", "implausible", "low_confidence")
            print(
                f"{phase:7s} {sum(tally.values())} readings: "
                + ", ".join(f"{k} {tally[k]}" for k in counted)
            )
    else:
        tallies = read_covered(args.folders, args.model, args.seed)
        for how, tally in tallies.items():
            frames = sum(v for k, v in tally.items() if k != "covered wheel sure")
            print(
                f"{how:8s} {frames} frames: right {tally['right']}, ok but wrong "
                f"{tally['ok but wrong']}, low_confidence {tally['low_confidence']}; the "
                f"{'covered' if how != 'none' else 'same'} wheel read surely in "
                f"{tally['covered wheel sure']}"
            )
    if args.json:
        args.json.write_text(json.dumps({k: dict(v) for k, v in tallies.items()}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
